// Helpers for tests that act as people of the demo company (docs/demo.md):
//
//   import { signIn, openAs, confirmDialog, navigation } from './lib/session.mjs';
//   await signIn(page, 'Mia Johansson');                 // through the sign-in form at /
//   const ravi = await openAs({ browser, baseURL, guard }, 'Ravi Shankar');  // a second person
//   await confirmDialog(page, { text: /Sign this review/, button: 'Sign' }); // clicks it, waits
//   await ravi.close();
//   (await mainText(page)).includes('...');  await fits(page, 390, 'the page');
//
// openAs gives each extra person a browser context of their own (like the runner's: same
// viewport and timeouts) watched by a page guard whose problems land in the test's guard, so
// the runner's final check covers every person's pages too. None of this changes the runner
// or the guard.
import { installGuard } from './guard.mjs';
import { layoutProblems } from './look.mjs';

/** The demo company's mail domain. */
export const DEMO_DOMAIN = 'northwind.example';

/** "Mia Johansson" -> "mia.johansson@northwind.example" (an address is passed through). */
export function emailOf(nameOrEmail) {
  if (nameOrEmail.includes('@')) return nameOrEmail;
  const local = nameOrEmail.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/'/g, '').trim().split(/\s+/).join('.');
  return `${local}@${DEMO_DOMAIN}`;
}

/** The demo password (run.sh sets it). */
export function demoPassword() {
  const pw = process.env.CANDOR_DEMO_PASSWORD;
  if (!pw) throw new Error('CANDOR_DEMO_PASSWORD is not set (run tests/browser/run.sh)');
  return pw;
}

/** Runs action (clicks, submits...) and waits for the page navigation it causes to load. */
export async function navigation(page, action, waitUntil = 'load') {
  const nav = page.waitForNavigation({ waitUntil });
  await action();
  return nav;
}

/** Signs in through the form at / and waits for the home page; returns the home page's response. */
export async function signIn(page, nameOrEmail) {
  const email = emailOf(nameOrEmail);
  await page.goto('/');
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(demoPassword());
  const res = await navigation(page, () => page.getByRole('button', { name: 'Sign in' }).click());
  const path = new URL(page.url()).pathname;
  if (path !== '/home') {
    const alert = await page.getByRole('alert').allTextContents().catch(() => []);
    throw new Error(`signing in as ${email} ended on ${path}, not /home${alert.length ? ` (${alert.join(' ')})` : ''}`);
  }
  return res;
}

/**
 * A second (third...) person signed in at the same time as the test's own page: a new browser
 * context watched by a guard that reports into the test's guard. `options` are Playwright's
 * context options (e.g. { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
 * for a phone). Returns { context, page, close }.
 */
export async function openAs({ browser, baseURL, guard }, nameOrEmail, options = {}) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(10000);
  const own = await installGuard(context, new URL(baseURL).origin);
  // everything this context's pages do wrong goes to the test's guard (its ignores apply)
  own.add = (kind, text, url) => guard.add(kind, text, url);
  const page = await context.newPage();
  const person = {
    context,
    page,
    email: emailOf(nameOrEmail),
    /** Lets the pages settle (late problems reach the guard), then closes the context. */
    async close() {
      await own.settle(context);
      await context.close().catch(() => {});
    },
  };
  try {
    await signIn(page, nameOrEmail);
  } catch (err) {
    await person.close();
    throw err;
  }
  return person;
}

/**
 * The confirmation dialog candor.js opens for a <form data-confirm>: waits until it is open,
 * checks its text (a RegExp or a substring), then clicks the button named `button` (the
 * confirm button's label, or 'Cancel') and, unless it is Cancel, waits for the form's page to
 * load. Returns the dialog's text.
 */
export async function confirmDialog(page, { text, button = 'Confirm' } = {}) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ state: 'visible' });
  const said = (await dialog.locator('#confirm-text').textContent()).trim();
  if (text instanceof RegExp ? !text.test(said) : text && !said.includes(text)) {
    throw new Error(`the confirmation dialog says ${JSON.stringify(said)}, expected ${text}`);
  }
  const choice = dialog.getByRole('button', { name: button, exact: true });
  if (button === 'Cancel') {
    await choice.click();
    await dialog.waitFor({ state: 'hidden' });
  } else {
    await navigation(page, () => choice.click());
  }
  return said;
}

/** The text of the page's flash message (role=status in <main>), or null. */
export async function flash(page) {
  const el = page.locator('main .alert[role="status"]');
  if (await el.count() === 0) return null;
  return (await el.first().textContent()).trim();
}

/**
 * The runner's shot(name, page), taken from the top of the page: a full-page screenshot of a
 * scrolled page would show the sticky sidebar and top bar a second time in the middle.
 */
export async function snap(shot, name, page) {
  await page.evaluate(() => window.scrollTo(0, 0));
  return shot(name, page);
}

/** Today and n days later as YYYY-MM-DD (UTC: the server's dates are UTC). */
export function isoDate(daysFromToday = 0) {
  const d = new Date(Date.now() + daysFromToday * 86400000);
  return d.toISOString().slice(0, 10);
}

/** The text of the page's <main>, its white space folded (for includes()). */
export async function mainText(page) {
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

/** Throws unless the page fits `size` px (no sideways scrolling, a readable title: look.mjs). */
export async function fits(page, size, what) {
  const problems = await layoutProblems(page, size);
  if (problems.length) throw new Error(`${what} at ${size} px: ${problems.join('; ')}`);
}

/** The phone the layout checks use (390 px wide, touch). */
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/**
 * Opens every path as nameOrEmail at 390 px (a phone) and 1366 px, photographs each
 * (`<size> <path>` with ids as N) and returns the problems found: a status other than 200 and
 * whatever layoutProblems says, one line each ([] when every page is fine).
 */
export async function pagesFit({ browser, baseURL, guard, shot }, nameOrEmail, paths) {
  const problems = [];
  for (const [size, opts] of [[390, PHONE], [1366, { viewport: { width: 1366, height: 768 } }]]) {
    const who = await openAs({ browser, baseURL, guard }, nameOrEmail, opts);
    try {
      for (const p of paths) {
        const res = await who.page.goto(p);
        if (res.status() !== 200) problems.push(`${p}: ${res.status()}`);
        for (const x of await layoutProblems(who.page, size)) problems.push(`${p} at ${size} px ${x}`);
        await snap(shot, `${size} ${p.replace(/\/\d+/g, '/N')}`, who.page);
      }
    } finally {
      await who.close();
    }
  }
  return problems;
}
