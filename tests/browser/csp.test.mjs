// The Content-Security-Policy header is enforced by a real browser: inline scripts, inline
// event handlers, eval and inline styles are refused, and the page guard (lib/guard.mjs) sees
// each violation even though its own listener is injected from outside the page.
import { test, expect } from './lib/runner.mjs';

// Runs in the page: adds an inline <script> and reports whether it ran.
async function tryInlineScript(page) {
  return page.evaluate(async () => {
    window.__inlineRan = false;
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true;';
    document.head.appendChild(s);
    await new Promise((r) => setTimeout(r, 50));
    return window.__inlineRan;
  });
}

test('the server sends a strict CSP on pages', async ({ page }) => {
  const res = await page.goto('/');
  const csp = res.headers()['content-security-policy'] || '';
  expect.match(csp, /(^|;)\s*script-src 'self'\s*(;|$)/, 'script-src is only self');
  expect.match(csp, /(^|;)\s*style-src 'self'\s*(;|$)/, 'style-src is only self');
  expect.ok(!/unsafe-inline|unsafe-eval/.test(csp), `no unsafe-* in ${csp}`);
});

test('an inline script on a page is blocked and reported', async ({ page, guard }) => {
  await page.goto('/');
  const ran = await tryInlineScript(page);
  expect.eq(ran, false, 'the inline script ran');
  const v = await guard.waitFor('csp', /script-src/);
  expect.match(v.text, /^enforce script-src(-elem)? blocked inline/, 'the violation the guard recorded');
  // Chromium also logs the refusal as a console error
  const logged = guard.take('console', /inline script violates the following Content Security Policy directive/);
  expect.ok(logged.length >= 1, `console error for the refused script (problems: ${guard.describe()})`);
});

test('the same inline script runs on a page without the CSP header (the check is not vacuous)',
  async ({ page, guard, baseURL }) => {
    // served by the browser itself from the same origin, without any CSP header
    await page.route(`${baseURL}/__no-csp`, (route) => route.fulfill({
      status: 200, contentType: 'text/html', body: '<!doctype html><title>no csp</title><p>plain</p>',
    }));
    await page.goto('/__no-csp');
    expect.eq(await tryInlineScript(page), true, 'the inline script ran without a CSP');
    expect.eq(guard.take('csp').length, 0, 'no violation without a CSP');
  });

test('inline event handlers, eval and inline styles are blocked too', async ({ page, guard, baseURL }) => {
  // a same-origin script (allowed by script-src 'self') that tries eval: code evaluated from the
  // test itself is exempt from the page's CSP, code of the page's own scripts is not
  await page.route(`${baseURL}/__probe-eval.js`, (route) => route.fulfill({
    status: 200, contentType: 'text/javascript',
    body: 'try { window.__evalResult = new Function("return \\"ran\\"")(); }'
      + ' catch (e) { window.__evalResult = e.name; }',
  }));
  await page.goto('/');
  const result = await page.evaluate(async () => {
    window.__handlerRan = false;
    const img = document.createElement('img');
    img.setAttribute('onerror', 'window.__handlerRan = true');
    img.src = '/static/does-not-matter-' + Date.now() + '.png';
    document.body.appendChild(img);

    const el = document.createElement('div');
    el.setAttribute('style', 'color: rgb(255, 0, 0)');
    document.body.appendChild(el);

    // eval from the page's own script context: a script-src without 'unsafe-eval' refuses it
    const probe = document.createElement('script');
    probe.src = '/__probe-eval.js';
    const loaded = new Promise((r) => { probe.onload = () => r('loaded'); probe.onerror = () => r('error'); });
    document.head.appendChild(probe);
    const probeLoad = await loaded;
    await new Promise((r) => setTimeout(r, 200));
    return { handlerRan: window.__handlerRan, color: getComputedStyle(el).color, probeLoad,
      evalResult: window.__evalResult };
  });
  expect.eq(result.handlerRan, false, 'the onerror handler ran');
  expect.ok(result.color !== 'rgb(255, 0, 0)', `the inline style applied (color ${result.color})`);
  expect.eq(result.probeLoad, 'loaded', 'the same-origin script loaded');
  expect.eq(result.evalResult, 'EvalError', 'new Function() in a page script');
  await guard.waitFor('csp', /script-src(-attr)? blocked inline/);
  await guard.waitFor('csp', /style-src(-attr)? blocked inline/);
  await guard.waitFor('csp', /script-src blocked eval/);
  // the broken image is a same-origin 404: the guard records that as well
  expect.ok(guard.take('request', /does-not-matter-.*answered 404/).length === 1, 'the 404 image was recorded');
  // Chromium logs each refusal and the 404 to the console as errors: those are expected here,
  // anything else left fails the test
  guard.take('console', /Content Security Policy|status of 404/);
});
