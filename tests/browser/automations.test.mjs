// HR (Marcus Webb) creates a quarterly automation from the mid-year review at 1366 pixels: Review
// cycles › Automations › New automation; a start date in the past is refused and what was typed is
// kept; then a probation review (90 days after the hire date) on a 390-pixel phone, with the
// keyboard only. Every automation page fits both widths (tests/artifacts/screenshots/automations-*.png).
// Both are deleted at the end (through the confirmation page).
import { test, expect } from './lib/runner.mjs';
import { signIn, openAs, navigation, flash, snap, isoDate, pagesFit, PHONE } from './lib/session.mjs';
import { layoutProblems } from './lib/look.mjs';

const HR = 'Marcus Webb';
const story = { quarterly: null, probation: null, name: `Browser quarterly ${process.pid} — Ünïcode` };

test('automations: HR creates a quarterly automation at 1366 px; a past start is refused, the form kept', async ({ page, shot }) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await signIn(page, HR);
  await page.goto('/cycles');
  await navigation(page, () => page.locator('main a[href="/cycles/automations"]').first().click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Automations');
  await navigation(page, () => page.getByRole('link', { name: 'New automation' }).click());
  await page.getByLabel('Name', { exact: true }).fill(story.name);
  await page.getByLabel('Template cycle').selectOption({ index: 1 });
  await page.getByLabel('On a schedule').check();
  await page.getByLabel('Repeat', { exact: true }).selectOption('3');
  await page.getByLabel('First start date').fill(isoDate(-1));
  await page.getByLabel('Engineering').check();
  await page.getByLabel('Only these departments, locations and people').check();
  await navigation(page, () => page.getByRole('button', { name: 'Create the automation' }).click());
  expect.match(await page.locator('main').innerText(), /must be in the future/);
  expect.eq(await page.getByLabel('Name', { exact: true }).inputValue(), story.name, 'the name is kept');
  expect.eq(await page.getByLabel('Engineering').isChecked(), true, 'the department is kept');
  await snap(shot, '01 refused start date', page);
  await page.getByLabel('First start date').fill(isoDate(30));
  await navigation(page, () => page.getByRole('button', { name: 'Create the automation' }).click());
  const m = new URL(page.url()).pathname.match(/^\/cycles\/automations\/(\d+)$/);
  expect.ok(m, `the automation's page after creating it (at ${page.url()})`);
  story.quarterly = Number(m[1]);
  expect.match(await flash(page), /Automation created/);
  const text = await page.locator('main').innerText();
  expect.match(text, /Every 3 months/);
  expect.match(text, /Engineering/);
  expect.match(text, /creates the cycle starting/);
  await snap(shot, '02 quarterly created', page);
});

test('automations: a probation review made on a 390 px phone with the keyboard', async ({ browser, baseURL, guard, shot }) => {
  const who = await openAs({ browser, baseURL, guard }, HR, PHONE);
  const page = who.page;
  try {
    await page.goto('/cycles/automations/new');
    await page.getByLabel('Name', { exact: true }).fill(`Browser probation ${process.pid}`);
    await page.getByLabel('Name', { exact: true }).focus();
    await page.keyboard.press('Tab'); // to the template, chosen with the arrow keys
    expect.eq(await page.evaluate(() => document.activeElement.id), 'template_cycle_id');
    await page.keyboard.press('ArrowDown');
    await page.getByLabel("After each person's hire date").focus();
    await page.keyboard.press('Space');
    expect.ok(!(await page.locator('fieldset.kind-schedule').isVisible()), 'only the hire-date settings show');
    await page.getByLabel('Offset', { exact: true }).fill('90');
    for (const x of await layoutProblems(page, 390)) throw new Error(`the form at 390 px: ${x}`);
    await snap(shot, '03 phone form', page);
    await page.getByRole('button', { name: 'Create the automation' }).focus();
    await navigation(page, () => page.keyboard.press('Enter'));
    const m = new URL(page.url()).pathname.match(/^\/cycles\/automations\/(\d+)$/);
    expect.ok(m, `the automation's page (at ${page.url()}: ${await page.locator('main').innerText()})`);
    story.probation = Number(m[1]);
    expect.match(await page.locator('main').innerText(), /90 days after the hire date/);
    await snap(shot, '04 phone probation', page);
  } finally {
    await who.close();
  }
});

test('automations: every automation page fits 390 and 1366 pixels', async ({ browser, baseURL, guard, shot }) => {
  expect.ok(story.quarterly && story.probation, 'the automations of the first tests');
  const paths = ['/cycles/automations', '/cycles/automations/new', `/cycles/automations/${story.quarterly}`,
    `/cycles/automations/${story.quarterly}/edit`, `/cycles/automations/${story.probation}`,
    `/cycles/automations/${story.probation}/edit`, `/cycles/automations/${story.probation}/delete`];
  const problems = await pagesFit({ browser, baseURL, guard, shot }, HR, paths);
  expect.eq(problems.join('\n'), '', 'layout problems');
});

test('automations: both are deleted through the confirmation page; the list says so', async ({ page }) => {
  await signIn(page, HR);
  for (const id of [story.quarterly, story.probation].filter(Boolean)) {
    await page.goto(`/cycles/automations/${id}`);
    await navigation(page, () => page.getByRole('link', { name: 'Delete' }).click());
    await page.getByLabel(/Yes, delete/).check();
    await navigation(page, () => page.getByRole('button', { name: 'Delete the automation' }).click());
    expect.match(await flash(page), /was deleted/);
  }
  for (const id of [story.quarterly, story.probation].filter(Boolean)) {
    expect.eq(await page.locator(`main a[href="/cycles/automations/${id}"]`).count(), 0, 'gone from the list');
  }
});
