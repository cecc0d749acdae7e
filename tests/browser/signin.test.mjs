// The sign-in page as a person sees it: it renders, it works from the keyboard alone, and the
// browser reports nothing wrong on it (the runner's page guard fails the test otherwise).
// Signing in itself is tested with the security work (POST /signin does not exist yet).
import { test, expect } from './lib/runner.mjs';

test('the sign-in page renders with labelled fields and a button', async ({ page, shot }) => {
  const res = await page.goto('/');
  expect.eq(res.status(), 200, 'status of /');
  expect.eq(await page.title(), 'Sign in · Candor');
  expect.eq((await page.locator('h1').textContent()).trim(), 'Sign in');
  const alerts = await page.getByRole('alert').allTextContents();
  expect.eq(alerts.length, 0, `a fresh sign-in page shows no error (shown: ${JSON.stringify(alerts)})`);

  const email = page.getByLabel('Work email');
  const password = page.getByLabel('Password', { exact: true });
  expect.eq(await email.count(), 1, 'one field labelled "Work email"');
  expect.eq(await password.count(), 1, 'one field labelled "Password"');
  expect.eq(await email.getAttribute('type'), 'email');
  expect.eq(await email.getAttribute('autocomplete'), 'username');
  expect.eq(await password.getAttribute('type'), 'password');
  expect.eq(await password.getAttribute('autocomplete'), 'current-password');
  expect.ok(await email.isVisible(), 'the email field is visible');
  expect.ok(await password.isVisible(), 'the password field is visible');

  const button = page.getByRole('button', { name: 'Sign in' });
  expect.eq(await button.count(), 1, 'one "Sign in" button');
  expect.ok(await button.isVisible(), 'the button is visible');
  expect.eq(await button.getAttribute('type'), 'submit');
  expect.eq(await page.locator('form').getAttribute('action'), '/signin');

  // the stylesheet and the script were loaded (not blocked, not 404: the guard checks that too)
  const styled = await page.evaluate(() => getComputedStyle(document.querySelector('.auth-card')).display);
  expect.ok(styled !== '', 'the card has computed styles');
  const sheets = await page.evaluate(() => [...document.styleSheets].map((s) => s.href || 'inline'));
  expect.ok(sheets.some((h) => /\/static\/candor\.css/.test(h)), `candor.css is applied (sheets: ${sheets})`);

  const file = await shot('sign-in page');
  expect.ok(file.endsWith('.png'));
});

test('the sign-in form works from the keyboard alone', async ({ page }) => {
  await page.goto('/');
  // the email field has autofocus; start from the top of the page instead to walk the real
  // order (a click on the empty top-left corner moves the Tab starting point there)
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.mouse.click(1, 1);
  expect.eq(await page.evaluate(() => document.activeElement === document.body), true, 'nothing is focused');
  const order = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const el = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a || a === document.body) return 'body';
      return a.id ? `#${a.id}` : `${a.tagName.toLowerCase()}:${(a.textContent || '').trim()}`;
    });
    order.push(el);
    if (el === 'button:Sign in') break;
  }
  const at = (name) => order.indexOf(name);
  expect.ok(at('#email') >= 0, `Tab reaches the email field (order: ${order.join(' → ')})`);
  expect.ok(at('#password') > at('#email'), `Tab reaches the password after the email (order: ${order.join(' → ')})`);
  expect.ok(at('button:Sign in') > at('#password'), `Tab reaches the button after the password (order: ${order.join(' → ')})`);

  // the button, reached by Tab, shows a focus ring (a person using the keyboard sees where they are)
  const ring = await page.evaluate(() => {
    const b = document.activeElement;
    return { tag: b.tagName, visible: b.matches(':focus-visible'), shadow: getComputedStyle(b).boxShadow,
      outline: getComputedStyle(b).outlineStyle };
  });
  expect.eq(ring.tag, 'BUTTON', 'focus is on the button');
  expect.ok(ring.visible, 'the button matches :focus-visible');
  expect.ok(ring.shadow !== 'none' || ring.outline !== 'none', `a focus ring is drawn (${JSON.stringify(ring)})`);

  // the fields take typing
  await page.locator('#email').focus();
  await page.keyboard.type('ada@example.com');
  expect.eq(await page.locator('#email').inputValue(), 'ada@example.com');
  await page.locator('#password').focus();
  await page.keyboard.type('typed, not submitted');
  expect.eq(await page.locator('#password').inputValue(), 'typed, not submitted');
});

test('the email field has focus when the page opens', async ({ page }) => {
  await page.goto('/');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  expect.eq(focused, 'email');
});
