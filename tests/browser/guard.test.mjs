// The page guard itself (lib/guard.mjs): each kind of problem is seen, and a problem left over
// fails the test. Every test here provokes a problem, checks that guard.check() would fail the
// test on it, then consumes it so the test itself passes.
import { test, expect } from './lib/runner.mjs';

async function checkFails(guard, context, re) {
  await guard.settle(context);
  let message = null;
  try {
    guard.check();
  } catch (err) {
    message = err.message;
  }
  expect.ok(message !== null, `guard.check() passed although it should have failed on ${re}`);
  expect.match(message, re, 'the failure names the problem');
}

test('a console error fails the test', async ({ page, context, guard }) => {
  await page.goto('/');
  await page.evaluate(() => console.error('something broke: guard-probe-1'));
  await checkFails(guard, context, /\[console\] something broke: guard-probe-1/);
  guard.take('console', /guard-probe-1/);
});

test('an uncaught error in the page fails the test', async ({ page, context, guard }) => {
  await page.goto('/');
  await page.evaluate(() => { setTimeout(() => { throw new Error('guard-probe-2'); }, 0); });
  await guard.waitFor('pageerror', /guard-probe-2/).then((p) => guard.problems.push(p));
  await checkFails(guard, context, /\[pageerror\] .*guard-probe-2/);
  guard.take('pageerror', /guard-probe-2/);
});

test('a missing same-origin static file fails the test', async ({ page, context, guard }) => {
  await page.goto('/');
  await page.evaluate(() => new Promise((resolve) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = '/static/guard-probe-3.css';
    link.onerror = resolve;
    link.onload = resolve;
    document.head.appendChild(link);
  }));
  // Chromium either sees the 404 or, as the 404 is not CSS, refuses the answer (ERR_ABORTED)
  await checkFails(guard, context, /\[request\] GET http:\/\/127\.0\.0\.1:\d+\/static\/guard-probe-3\.css (answered 404|failed)/);
  guard.take('request', /guard-probe-3/);
  guard.take('console', /status of 404|guard-probe-3/);
});

test('a CSP violation fails the test, also after a navigation', async ({ page, context, guard }) => {
  await page.goto('/');
  guard.ignore('console', /status of 404/);
  await page.goto('/nothing-here'); // a 404 page: the navigation itself is not a problem
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.guardProbe4 = 1';
    document.body.appendChild(s);
  });
  await guard.waitFor('csp', /script-src/).then((p) => guard.problems.push(p));
  await checkFails(guard, context, /\[csp\] enforce script-src(-elem)? blocked inline/);
  guard.take('csp');
  guard.take('console', /Content Security Policy/);
});

test('a CSP violation while the page is still parsing is seen', async ({ page, context, guard, baseURL }) => {
  // a same-origin page (served by the browser) with a CSP and an inline script in its HTML: the
  // violation happens before any script of the page could have installed a listener
  await page.route(`${baseURL}/__guard-probe-5`, (route) => route.fulfill({
    status: 200,
    headers: { 'content-type': 'text/html', 'content-security-policy': "script-src 'self'" },
    body: '<!doctype html><title>probe</title><script>window.guardProbe5 = 1</script><p>x</p>',
  }));
  await page.goto('/__guard-probe-5');
  expect.eq(await page.evaluate(() => window.guardProbe5), undefined, 'the inline script was blocked');
  await checkFails(guard, context, /\[csp\] enforce script-src(-elem)? blocked inline/);
  guard.take('csp');
  guard.take('console', /Content Security Policy/);
});

test('a clean page leaves the guard with nothing to report', async ({ page, context, guard }) => {
  await page.goto('/');
  await guard.settle(context);
  expect.eq(guard.problems.length, 0, `problems: ${guard.describe()}`);
});
