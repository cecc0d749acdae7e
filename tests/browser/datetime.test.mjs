// A super user (Priya Natarajan, HR Admin + Tech Admin) sets the company's date and time in the
// browser: Administration › Date & time. A zone the tz database does not know is refused with what
// was typed kept; Europe/Berlin and the date format 05.12.2026 are saved (post/redirect/get, the
// flash says what changes) and pages then write dates that way. The page fits 1366 and 390
// pixels (tests/artifacts/screenshots/datetime-*.png). The settings are put back at the end.
import { test, expect } from './lib/runner.mjs';
import { signIn, navigation, flash, snap, pagesFit } from './lib/session.mjs';

const ADMIN = 'Priya Natarajan';

async function save(page) {
  await navigation(page, () => page.getByRole('button', { name: 'Save date & time' }).click());
}

test('date & time: an unknown zone is refused and kept; Berlin and dd.mm.yyyy are saved and used', async ({ page, shot }) => {
  await signIn(page, ADMIN);
  await page.goto('/admin');
  await navigation(page, () => page.locator('main a[href="/admin/datetime"]').first().click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Date & time');
  await page.getByLabel('Company time zone').fill('Europe/Berlinn');
  await page.locator('input[name="date_format"][value="dd.mm.yyyy"]').check();
  await save(page);
  expect.match(await page.locator('main').innerText(), /Must be a time zone of the tz database/);
  expect.eq(await page.getByLabel('Company time zone').inputValue(), 'Europe/Berlinn', 'what was typed is kept');
  await snap(shot, '01 refused zone', page);
  await page.getByLabel('Company time zone').fill('Europe/Berlin');
  await save(page);
  expect.match(await flash(page), /time zone Europe\/Berlin \(was UTC\).*Mails already planned move to 09:00 Europe\/Berlin/);
  expect.match(await page.locator('main').innerText(), /It is now \d\d\.\d\d\.\d{4}, \d\d:\d\d CES?T/);
  await snap(shot, '02 saved', page);
  await page.goto('/admin/api-tokens');
  expect.ok(!/\d{1,2} [A-Z][a-z]{2} \d{4}/.test(await page.locator('main').innerText()), 'no "5 Dec 2026" left');
  // back to the demo's settings
  await page.goto('/admin/datetime');
  await page.getByLabel('Company time zone').fill('UTC');
  await page.locator('input[name="date_format"][value="d mon yyyy"]').check();
  await save(page);
  expect.match(await flash(page), /time zone UTC \(was Europe\/Berlin\)/);
});

test('date & time: the page fits a laptop and a phone', async (ctx) => {
  expect.eq((await pagesFit(ctx, ADMIN, ['/admin/datetime'])).join('\n'), '', 'layout problems');
});
