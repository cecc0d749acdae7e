// How a page looks to a person: sideways scrolling, a title one can read, colour contrast
// measured both from computed colours and from the pixels actually painted behind the text.
//
//   import { layoutProblems } from './lib/look.mjs';
//   const problems = await layoutProblems(page, 390);   // [] when the page is fine at 390 px
//
// The pixels matter: a background painted by an ancestor's gradient or a pseudo-element (a
// sidebar band left behind on a phone) is invisible to getComputedStyle's background-color.
import zlib from 'node:zlib';

/** WCAG 2 relative luminance of [r, g, b] (0..255). */
export function luminance([r, g, b]) {
  const f = (c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

/** WCAG 2 contrast ratio of two opaque colours (1..21). */
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** "rgb(1, 2, 3)" / "rgba(1, 2, 3, 0.5)" / "rgb(1 2 3 / 50%)" -> [r, g, b, a]; throws on anything else. */
export function parseColour(s) {
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+)(%?))?\s*\)$/.exec(s.trim());
  if (!m) throw new Error(`cannot read the colour ${JSON.stringify(s)}`);
  let a = m[4] === undefined ? 1 : Number(m[4]);
  if (m[5] === '%') a /= 100;
  return [Number(m[1]), Number(m[2]), Number(m[3]), a];
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are). */
export function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const kind = data[9];
      if (depth !== 8 || (kind !== 2 && kind !== 6) || data[12] !== 0) {
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${kind}, interlace ${data[12]})`);
      }
      channels = kind === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? out[y * stride + x - channels] : 0;
      const up = y > 0 ? out[(y - 1) * stride + x] : 0;
      const upLeft = y > 0 && x >= channels ? out[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += left;
      else if (filter === 2) v += up;
      else if (filter === 3) v += (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const pa = Math.abs(p - left);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - upLeft);
        v += pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      out[y * stride + x] = v & 255;
    }
  }
  return { width, height, channels, data: out };
}

/**
 * The contrast of the page's first h1 against what is behind it: { text, computed, painted,
 * box } where `computed` uses the background colours of its ancestors (composited) and
 * `painted` the pixels under the title with its text hidden (the 10th percentile over the
 * box, so a stray anti-aliased edge does not decide). null when there is no h1.
 */
export async function titleContrast(page) {
  const info = await page.evaluate(() => {
    const h1 = document.querySelector('main h1, h1');
    if (!h1) return null;
    window.scrollTo(0, 0);
    const chain = [];
    for (let el = h1; el; el = el.parentElement) chain.push(getComputedStyle(el).backgroundColor);
    const r = h1.getBoundingClientRect();
    return { colour: getComputedStyle(h1).color, backgrounds: chain.reverse(),
      box: { x: r.left, y: r.top, width: r.width, height: r.height } };
  });
  if (!info) return null;
  const text = parseColour(info.colour);
  let under = [255, 255, 255]; // the canvas
  for (const c of info.backgrounds) {
    const [r, g, b, a] = parseColour(c);
    under = under.map((u, i) => a * [r, g, b][i] + (1 - a) * u);
  }
  const textOver = (bg) => text.slice(0, 3).map((t, i) => text[3] * t + (1 - text[3]) * bg[i]);
  const computed = contrast(textOver(under), under);

  // the pixels behind the title: hide its text (and its children's), photograph its box
  const vw = page.viewportSize().width;
  const clip = {
    x: Math.max(0, info.box.x),
    y: Math.max(0, info.box.y),
    width: Math.min(vw, info.box.x + info.box.width) - Math.max(0, info.box.x),
    height: info.box.height,
  };
  if (clip.width < 1 || clip.height < 1) return { text, computed, painted: 1, box: info.box };
  await page.evaluate(() => {
    const h1 = document.querySelector('main h1, h1');
    for (const el of [h1, ...h1.querySelectorAll('*')]) {
      el.dataset.lookColour = el.style.getPropertyValue('color');
      el.style.setProperty('color', 'transparent', 'important');
      el.style.setProperty('-webkit-text-fill-color', 'transparent', 'important');
    }
  });
  let png;
  try {
    png = decodePng(await page.screenshot({ clip, scale: 'css', animations: 'disabled', caret: 'hide' }));
  } finally {
    await page.evaluate(() => {
      const h1 = document.querySelector('main h1, h1');
      for (const el of [h1, ...h1.querySelectorAll('*')]) {
        el.style.removeProperty('color');
        el.style.removeProperty('-webkit-text-fill-color');
        if (el.dataset.lookColour) el.style.setProperty('color', el.dataset.lookColour);
        delete el.dataset.lookColour;
      }
    });
  }
  const ratios = [];
  for (let i = 0; i < png.width * png.height; i++) {
    const o = i * png.channels;
    const bg = [png.data[o], png.data[o + 1], png.data[o + 2]];
    ratios.push(contrast(textOver(bg), bg));
  }
  ratios.sort((a, b) => a - b);
  const painted = ratios[Math.floor(ratios.length * 0.1)];
  return { text, computed, painted, box: info.box };
}

/**
 * What is wrong with the page's layout at `width` px: sideways scrolling (of the page, or of a box
 * inside it such as a table in its card), a check box or radio
 * button squeezed thin, no visible h1, an h1 cut off or covered, an h1 with contrast under 4.5 (computed or painted). [] when fine.
 */
export async function layoutProblems(page, width) {
  const problems = [];
  const m = await page.evaluate(() => {
    window.scrollTo(0, 0);
    const se = document.scrollingElement;
    const h1 = document.querySelector('main h1, h1');
    let title = null;
    if (h1) {
      const r = h1.getBoundingClientRect();
      const hit = r.width > 0 ? document.elementFromPoint(r.left + Math.min(r.width, 40) / 2, r.top + r.height / 2) : null;
      title = { text: h1.textContent.trim().replace(/\s+/g, ' ').slice(0, 60), left: r.left, right: r.right,
        width: r.width, height: r.height, covered: !(hit && (hit === h1 || h1.contains(hit))),
        by: hit && !(hit === h1 || h1.contains(hit)) ? `${hit.tagName.toLowerCase()}.${hit.className}` : null };
    }
    // the widest element sticking out to the right, to say what to fix
    let widest = null;
    if (se.scrollWidth > document.documentElement.clientWidth) {
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > document.documentElement.clientWidth + 1 && (!widest || r.right > widest.right)) {
          widest = { right: Math.round(r.right), what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}` };
        }
      }
    }
    // a checkbox or radio button squeezed thin by a long label beside it (a flex item that shrank)
    const squashed = [];
    for (const el of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
      const r = el.getBoundingClientRect();
      if (r.height > 0 && r.width < r.height * 0.75) {
        squashed.push(`${el.name || el.id || el.type} (${Math.round(r.width)}x${Math.round(r.height)})`);
      }
    }
    // a box that scrolls sideways inside the page (a table in its card): on a phone nothing
    // may; on a wide screen only code (a <pre>, a code editor) whose lines are longer than it
    const phone = document.documentElement.clientWidth <= 600;
    const inner = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
      const cs = getComputedStyle(el);
      if (!/auto|scroll/.test(cs.overflowX)) continue;
      if (!phone && /^pre/.test(cs.whiteSpace)) continue;
      const what = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
      inner.push(`${what} (${el.scrollWidth} px in ${el.clientWidth})`);
    }
    return { scrollWidth: se.scrollWidth, title, widest, squashed, inner };
  });
  if (m.inner.length) problems.push(`scrolls sideways inside: ${m.inner.slice(0, 5).join(', ')}`);
  if (m.squashed.length) problems.push(`squashed check boxes or radio buttons: ${m.squashed.slice(0, 5).join(', ')}`);
  if (m.scrollWidth > width) {
    problems.push(`scrolls sideways: ${m.scrollWidth} px wide at ${width} px${m.widest ? ` (${m.widest.what} reaches ${m.widest.right})` : ''}`);
  }
  if (!m.title) {
    problems.push('has no h1');
    return problems;
  }
  if (m.title.width < 1 || m.title.height < 1) problems.push(`its h1 "${m.title.text}" is not shown`);
  if (m.title.left < 0 || m.title.right > width + 1) {
    problems.push(`its h1 "${m.title.text}" is cut off (${Math.round(m.title.left)}..${Math.round(m.title.right)})`);
  }
  if (m.title.covered) problems.push(`its h1 "${m.title.text}" is covered by ${m.title.by}`);
  const c = await titleContrast(page);
  if (c.computed < 4.5) problems.push(`its h1 "${m.title.text}" has contrast ${c.computed.toFixed(2)} (computed colours)`);
  if (c.painted < 4.5) problems.push(`its h1 "${m.title.text}" has contrast ${c.painted.toFixed(2)} on its pixels`);
  return problems;
}
