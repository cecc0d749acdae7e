// A super user (Priya Natarajan, HR Admin + Tech Admin) gives Candor the company's look in the
// browser: Administration › Design. A brand colour too light for white text is refused with what
// was typed kept; a dark teal, a long name in several scripts and a logo (chosen as a file) are
// saved, and every page, the sign-in page included, shows them and still fits a phone and a
// laptop (tests/artifacts/screenshots/design-*.png). The demo's look is put back at the end.
import { test, expect } from './lib/runner.mjs';
import { signIn, navigation, flash, snap, pagesFit, confirmDialog } from './lib/session.mjs';

const ADMIN = 'Priya Natarajan';
const NAME = 'Ömer Łukasz Żak Holding GmbH & Co. KG 日本支社';
// a wide logo: 4 to 1
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 50"><rect width="200" height="50" rx="8" fill="#0f766e"/>'
  + '<circle cx="25" cy="25" r="15" fill="#fff"/></svg>';

async function saveLook(page) {
  await navigation(page, () => page.getByRole('button', { name: 'Save name and colour' }).click());
}

async function brand(page) {
  return page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim());
}

test('design: a light colour is refused and kept; a name, a dark colour and a logo show on every page', async (ctx) => {
  const { page, shot } = ctx;
  await signIn(page, ADMIN);
  await page.goto('/admin');
  await navigation(page, () => page.locator('main a[href="/admin/design"]').first().click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Design');
  const before = await page.getByLabel('Company name').inputValue();
  await page.getByLabel('Company name').fill(NAME);
  await page.locator('#brand_color').fill('#fde047');
  await saveLook(page);
  expect.match(await page.locator('main').innerText(), /too light to read/);
  expect.eq(await page.getByLabel('Company name').inputValue(), NAME, 'the name typed is kept');
  expect.eq(await page.locator('#brand_color').inputValue(), '#fde047', 'the colour typed is kept');
  expect.ok(!/\?/.test(new URL(page.url()).search) && new URL(page.url()).pathname === '/admin/design', 'back on a GET');
  await snap(shot, '01 refused colour', page);

  await page.locator('#brand_color').fill('#0f766e');
  await saveLook(page);
  expect.match(await flash(page), /Saved the company's name and the brand colour/);
  expect.eq(await brand(page), '#0f766e', 'the page itself takes the colour');
  await page.locator('#logo-file').setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(LOGO) });
  await navigation(page, () => page.getByRole('button', { name: 'Upload the logo' }).click());
  expect.match(await flash(page), /The logo is saved/);
  const logo = page.locator('header .topbar-brand img.company-logo, nav .brand img.company-logo').first();
  expect.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo loads');
  await snap(shot, '02 saved', page);

  const problems = await pagesFit(ctx, ADMIN, ['/home', '/admin/design', '/people']);
  expect.eq(problems.join('\n'), '', 'layout problems with a long name and a wide logo');

  // signed out: the sign-in page shows the logo and the name, in the colour
  const other = await ctx.browser.newContext({ baseURL: ctx.baseURL, viewport: { width: 390, height: 844 } });
  try {
    const p = await other.newPage();
    await p.goto('/');
    expect.match(await p.locator('.plain-brand').innerText(), /Ömer Łukasz Żak Holding GmbH & Co\. KG 日本支社/);
    expect.eq(await brand(p), '#0f766e');
    expect.ok(await p.evaluate(() => document.scrollingElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    await snap(shot, '03 sign-in on a phone', p);
  } finally {
    await other.close();
  }

  // the demo's look back: the logo removed (after asking), the name and Candor's colour
  await page.goto('/admin/design');
  await page.getByRole('button', { name: 'Remove the logo' }).click();
  await confirmDialog(page, { text: /Remove the company's logo\?/, button: 'Remove the logo' });
  expect.match(await flash(page), /The logo is removed/);
  await page.getByLabel('Company name').fill(before);
  await page.locator('#brand_color').fill('#4338ca');
  await saveLook(page);
  expect.eq(await page.locator('header .company-logo').count(), 0);
  expect.eq(await page.locator('link[href^="/design/brand.css"]').count(), 0, 'Candor\'s own colour again');
});
