// Signing in and account security in Chromium: sign in with the demo password, set up 2-step
// verification (the secret read from the page, the code computed here with a small RFC 6238
// implementation on node:crypto), sign in again with a code, sign out; a form posted from
// another origin is refused; and every page a super user reaches from the navigation loads
// without a CSP violation (the page guard fails the test otherwise). Screenshots of each page
// go to tests/artifacts/screenshots/security-*.png.
import crypto from 'node:crypto';
import http from 'node:http';
import { test, expect } from './lib/runner.mjs';

const PASSWORD = process.env.CANDOR_DEMO_PASSWORD;
const SUPER = 'priya.natarajan@northwind.example'; // HR Admin + Tech Admin
const ENROLS = 'david.levi@northwind.example'; // sets up 2-step here (nobody else signs in as him)

/** Decodes RFC 4648 base32 (spaces and case ignored). */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/\s+/g, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits) for the time step `step`. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, '0');
}

const nowStep = () => Math.floor(Date.now() / 1000 / 30);

// The RFC's own test vector (SHA1, T = 59 s: 94287082, of which the last 6 digits): the
// implementation above is checked before anything relies on it.
const RFC_SECRET = Buffer.from('12345678901234567890').toString('latin1');
function rfcCheck() {
  const b32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  expect.eq(base32(b32).toString('latin1'), RFC_SECRET, 'base32 decoding');
  expect.eq(totp(b32, Math.floor(59 / 30)), '287082', 'RFC 6238 test vector at T=59');
  expect.eq(totp(b32, Math.floor(1111111109 / 30)), '081804', 'RFC 6238 test vector at T=1111111109');
}

/** What the 2-step story passes from one step to the next. */
const story = { secret: null, lastStep: null };

async function signInForm(page, email, password = PASSWORD) {
  await page.goto('/');
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
}

async function signOut(page) {
  await page.locator('details.user-menu > summary').click();
  await Promise.all([page.waitForNavigation(), page.getByRole('menuitem', { name: 'Sign out' }).click()]);
}

test('sign in with the demo password, and sign out', async ({ page, context, guard, shot }) => {
  await signInForm(page, SUPER, 'not the password at all');
  // post/redirect/get: a wrong password leads back to the sign-in page (a reload posts nothing)
  expect.eq(new URL(page.url()).pathname, '/', 'a wrong password comes back to the form');
  expect.match(await page.getByRole('alert').innerText(), /not right/);
  expect.eq(await page.getByLabel('Work email').inputValue(), SUPER, 'the email is kept');
  await shot('sign-in wrong password');

  await signInForm(page, SUPER);
  expect.eq(new URL(page.url()).pathname, '/home');
  expect.match(await page.locator('.user-name').innerText(), /Priya Natarajan/);
  const session = (await context.cookies()).find((c) => c.name === 'candor_session');
  expect.ok(session, 'a session cookie');
  expect.ok(session.httpOnly, 'HttpOnly');
  expect.eq(session.sameSite, 'Lax');
  await shot('home after sign-in');

  await signOut(page);
  expect.eq(new URL(page.url()).pathname, '/');
  expect.match(await page.getByRole('status').innerText(), /signed out/);
  const res = await page.goto('/home');
  expect.eq(new URL(page.url()).pathname, '/', 'after signing out /home sends back to sign-in');
  expect.eq(res.status(), 200);
  expect.ok(!(await context.cookies()).some((c) => c.name === 'candor_session'), 'the cookie is gone');
});

test('2-step verification: set it up from the QR code page with a computed code', async ({ page, shot }) => {
  rfcCheck();
  await signInForm(page, ENROLS);
  await page.goto('/account/security');
  await shot('account security before');
  await Promise.all([page.waitForNavigation(),
    page.getByRole('button', { name: 'Set up 2-step verification' }).click()]);
  expect.eq(new URL(page.url()).pathname, '/account/security/setup');
  const qr = page.locator('figure.qr-figure svg');
  expect.ok(await qr.isVisible(), 'the QR code is shown');
  const box = await qr.boundingBox();
  expect.ok(box.width >= 150 && box.height >= 150, `the QR code is large enough to scan (${box.width}x${box.height})`);
  const secret = await page.locator('#totp-secret').getAttribute('data-secret');
  expect.match(secret, /^[A-Z2-7]{32}$/);
  const shown = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
  expect.eq(shown, secret, 'the key shown for typing is the secret');
  await shot('2-step setup with QR code');

  const step = nowStep();
  await page.getByLabel('Code from the app').fill(totp(secret, step));
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Turn on 2-step verification' }).click()]);
  const codes = await page.locator('ul.recovery-codes code').allInnerTexts();
  expect.eq(codes.length, 10, 'ten recovery codes are shown');
  for (const c of codes) expect.match(c, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
  await shot('recovery codes');
  await page.getByRole('link', { name: /I have saved them/ }).click();
  await page.waitForURL('**/account/security');
  expect.match(await page.locator('#two-title').locator('..').innerText(), /On/);
  story.secret = secret;
  story.lastStep = step;
});

test('2-step verification: signing in asks for the code, then signing out', async ({ page, guard, shot }) => {
  expect.ok(story.secret, 'the set-up step ran first');
  await signInForm(page, ENROLS);
  expect.eq(new URL(page.url()).pathname, '/signin/code', 'the password alone is not enough');
  await shot('sign-in code page');
  // a wrong code
  await page.getByLabel('Code', { exact: true }).fill('000000' === totp(story.secret, nowStep()) ? '111111' : '000000');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Verify' }).click()]);
  expect.eq(new URL(page.url()).pathname, '/signin/code', 'a wrong code comes back to the code page');
  expect.match(await page.getByRole('alert').innerText(), /not right/);
  // the right one: a step newer than the one the set-up used (one step early is accepted)
  const step = Math.max(nowStep(), story.lastStep + 1);
  await page.getByLabel('Code', { exact: true }).fill(totp(story.secret, step));
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Verify' }).click()]);
  expect.eq(new URL(page.url()).pathname, '/home');
  expect.match(await page.locator('.user-name').innerText(), /David Levi/);
  story.lastStep = step;
  await signOut(page);
  await page.goto('/account/security');
  expect.eq(new URL(page.url()).pathname, '/', 'signed out');
});

test('a form posted to Candor from another origin is refused, even with a valid CSRF token', async ({ page, guard, baseURL, shot }) => {
  await signInForm(page, SUPER);
  // Zoe's profile id and this session's CSRF token, as an attacker who saw them would have
  await page.goto('/people?q=Zoe%20Chen');
  const href = await page.getByRole('link', { name: 'Zoe Chen' }).first().getAttribute('href');
  const zoeId = href.match(/\/people\/(\d+)/)[1];
  const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
  const before = await page.evaluate(async (id) => (await (await fetch(`/api/users/${id}`)).json()).job_title, zoeId);

  // another origin: a page from a node server on another port, with a form that auto-submits
  const form = `<!doctype html><title>Win a prize</title><form id="f" method="post" action="${baseURL}/people/${zoeId}/edit">`
    + `<input name="csrf_token" value="${csrf}"><input name="name" value="Zoe Chen">`
    + '<input name="job_title" value="Hacked by evil.example"><input name="email" value="zoe.chen@northwind.example">'
    + '<button>Claim</button></form>';
  const evil = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(form);
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  try {
    const evilURL = `http://127.0.0.1:${evil.address().port}/`;
    expect.ok(new URL(evilURL).origin !== new URL(baseURL).origin, 'a different origin');
    guard.ignore('console', /status of 403/);
    await page.goto(evilURL);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Claim' }).click(),
    ]);
    expect.eq(response.status(), 403, 'Candor refused the cross-origin post');
    expect.match(await page.locator('main').innerText(), /other sites are refused/);
    await shot('cross-origin post refused');
  } finally {
    await new Promise((resolve) => evil.close(resolve));
  }
  await page.goto('/home');
  const after = await page.evaluate(async (id) => (await (await fetch(`/api/users/${id}`)).json()).job_title, zoeId);
  expect.eq(after, before, 'the job title did not change');
  expect.ok(after !== 'Hacked by evil.example');
});

test('every page a super user reaches from the navigation loads without a CSP violation', async ({ page, guard, shot }) => {
  await signInForm(page, SUPER);
  // the navigation: sidebar, user menu, and the administration overview's links
  const hrefs = async () => page.evaluate(() => [...document.querySelectorAll(
    'nav.sidebar a[href^="/"], .user-menu a[href^="/"], main a.admin-action[href^="/"]')]
    .map((a) => a.getAttribute('href')));
  const seen = new Set();
  const queue = ['/home'];
  const visited = [];
  while (queue.length > 0) {
    const href = queue.shift();
    const path = href.split('#')[0];
    if (seen.has(path)) continue;
    seen.add(path);
    const res = await page.goto(path);
    expect.eq(res.status(), 200, `status of ${path}`);
    expect.ok(new URL(page.url()).pathname !== '/', `${path} did not sign the super user out`);
    // no inline style or script anywhere in the markup (the CSP would block them anyway)
    const inline = await page.evaluate(() => ({
      scripts: [...document.scripts].filter((s) => !s.src).length,
      styled: document.querySelectorAll('[style]').length,
      handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes]
        .some((a) => a.name.startsWith('on'))).length,
    }));
    expect.eq(inline.scripts, 0, `inline scripts on ${path}`);
    expect.eq(inline.styled, 0, `style attributes on ${path}`);
    expect.eq(inline.handlers, 0, `inline event handlers on ${path}`);
    await guard.settle(page.context());
    expect.eq(guard.problems.length, 0, `problems on ${path}: ${guard.describe()}`);
    await shot(`page ${path}`);
    visited.push(path);
    for (const h of await hrefs()) if (!seen.has(h.split('#')[0])) queue.push(h);
  }
  for (const p of ['/home', '/people', '/admin', '/admin/security', '/admin/api-tokens', '/admin/audit', '/account/security']) {
    expect.ok(visited.includes(p), `the crawl reached ${p} (visited: ${visited.join(', ')})`);
  }
});
