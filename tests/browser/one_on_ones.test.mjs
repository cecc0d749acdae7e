// 1:1 meetings across a manager and a report, as they see them: Ravi Shankar starts a weekly 1:1
// with Omar Haddad (picked with the type-ahead), adds a shared talking point, a private one and an
// action item for Omar from the keyboard; Omar, on his phone, reads the shared items but not Ravi's
// private point and ticks his action item off; Ravi sees the tick, deletes his private point
// (confirming), marks the meeting done and finds the point nobody ticked carried over to the next
// meeting; his team page shows the last and next 1:1 with Omar. Every page is checked at 1366 and
// 390 px and photographed (tests/artifacts/screenshots/one_on_ones-*.png).
import { test, expect } from './lib/runner.mjs';
import { openAs, confirmDialog, navigation, flash, isoDate, snap, mainText, fits } from './lib/session.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const LAPTOP = { viewport: { width: 1366, height: 900 } };

const story = {
  title: `Ravi / Omar ${process.pid}`,
  shared: 'How is the on-call load this month?',
  private: 'Mention the SRE lead role before the reorg',
  action: 'Write the incident review for the outage',
  meetingId: null,
  steps: new Set(),
};

function after(step) {
  if (!story.steps.has(step)) throw new Error(`the earlier step "${step}" did not finish, so this one cannot run`);
}

test('1:1s: the manager starts a series with a report, picking him with the type-ahead', async ({ browser, baseURL, guard, shot }) => {
  const ravi = await openAs({ browser, baseURL, guard }, 'Ravi Shankar', LAPTOP);
  const { page } = ravi;
  try {
    await navigation(page, () => page.locator('#main-nav').getByRole('link', { name: '1:1 meetings' }).click());
    expect.eq(new URL(page.url()).pathname, '/meetings');
    await fits(page, 1366, 'My meetings');
    await navigation(page, () => page.getByRole('link', { name: 'Start a 1:1' }).first().click());
    expect.eq(new URL(page.url()).pathname, '/meetings/new');

    // the type-ahead: typing lists matching colleagues as choices, without reloading the page
    await page.getByLabel('Who do you meet?').pressSequentially('Omar', { delay: 30 });
    const omar = page.getByRole('radio', { name: /Omar Haddad/ });
    await omar.waitFor({ state: 'visible' });
    expect.eq(new URL(page.url()).pathname, '/meetings/new', 'still the same page');
    await omar.check();
    await page.getByLabel('Title').fill(story.title);
    await page.getByLabel('How often').selectOption('weekly');
    await page.getByLabel('First meeting').fill(isoDate(2));
    await fits(page, 1366, 'the start form');
    await snap(shot, '01 start a 1:1', page);
    await navigation(page, () => page.getByRole('button', { name: 'Start the 1:1' }).click());
    const m = new URL(page.url()).pathname.match(/^\/meetings\/(\d+)$/);
    expect.ok(m, `taken to the meeting (at ${page.url()})`);
    story.meetingId = Number(m[1]);
    expect.eq(await flash(page), 'Your 1:1 series is set up. Add the first talking points.');
    expect.eq((await page.locator('h1').textContent()).trim(), story.title);

    // from the keyboard: type, Enter; the field is ready again after each one
    const point = page.getByRole('textbox', { name: 'New talking point' });
    await point.fill(story.shared);
    await navigation(page, () => point.press('Enter'));
    expect.eq(await flash(page), 'The talking point is added.');
    expect.eq(await page.evaluate(() => document.activeElement && document.activeElement.id), 'add-point-text',
      'the talking point field has the focus again');
    await page.locator('#add').getByLabel('Private (only you)').check();
    await page.getByRole('textbox', { name: 'New talking point' }).fill(story.private);
    await navigation(page, () => page.getByRole('textbox', { name: 'New talking point' }).press('Enter'));
    const action = page.getByRole('textbox', { name: 'New action item' });
    await action.fill(story.action);
    await page.locator('#add-action').getByLabel('For', { exact: true }).selectOption({ label: 'Omar Haddad' });
    await page.locator('#add-action').getByLabel('Due', { exact: true }).fill(isoDate(9));
    await navigation(page, () => action.press('Enter'));
    const text = await mainText(page);
    for (const s of [story.shared, story.private, story.action]) expect.ok(text.includes(s), `the page shows "${s}"`);
    expect.eq(await page.locator('.meeting-item.is-private').count(), 1, 'one private item, marked');
    expect.ok(await page.locator('.meeting-item.is-private .badge', { hasText: 'Private' }).isVisible());
    await fits(page, 1366, 'the meeting page');
    await snap(shot, '02 meeting with points', page);
    story.steps.add('started');
  } finally {
    await ravi.close();
  }
});

test('1:1s: the report, on his phone, reads the shared items, not the private one, and ticks his action item', async ({ browser, baseURL, guard, shot }) => {
  after('started');
  const omar = await openAs({ browser, baseURL, guard }, 'Omar Haddad', PHONE);
  const { page } = omar;
  try {
    // the home page leads to it
    const home = await mainText(page);
    expect.ok(home.includes('Your next 1:1s'), 'the home panel');
    expect.ok(home.includes(story.action), 'his open action item on the home page');
    await navigation(page, () => page.getByRole('link', { name: '1:1 with Ravi Shankar' }).first().click());
    expect.eq(new URL(page.url()).pathname, `/meetings/${story.meetingId}`);
    const text = await mainText(page);
    expect.ok(text.includes(story.shared), 'the shared point');
    expect.ok(text.includes(story.action), 'the action item');
    expect.ok(!text.includes(story.private), "not Ravi's private point");
    expect.eq(await page.locator('.item-menu').count(), 0, 'no edit menu on items Omar did not write');
    await fits(page, 390, 'the meeting page');
    await snap(shot, '03 report on the phone', page);
    const item = page.locator('.meeting-item', { hasText: story.action });
    await navigation(page, () => item.getByRole('button', { name: /Tick off/ }).click());
    expect.eq(await flash(page), 'Ticked off.');
    expect.eq(await page.locator('.meeting-item', { hasText: story.action }).getByRole('button').getAttribute('aria-pressed'), 'true');
    await page.goto('/meetings');
    await fits(page, 390, 'My meetings');
    await snap(shot, '04 my meetings on the phone', page);
    story.steps.add('ticked');
  } finally {
    await omar.close();
  }
});

test('1:1s: the manager deletes his private point, marks the meeting done, and what is open carries over', async ({ browser, baseURL, guard, shot }) => {
  after('ticked');
  const ravi = await openAs({ browser, baseURL, guard }, 'Ravi Shankar', LAPTOP);
  const { page } = ravi;
  try {
    await page.goto(`/meetings/${story.meetingId}`);
    expect.eq(await page.locator('.meeting-item', { hasText: story.action }).getByRole('button').getAttribute('aria-pressed'),
      'true', "Omar's tick shows");
    const mine = page.locator('.meeting-item', { hasText: story.private });
    await mine.locator('summary').click();
    await mine.getByRole('menuitem', { name: 'Delete' }).click();
    await confirmDialog(page, { text: /^Delete this talking point\?/, button: 'Delete' });
    expect.eq(await flash(page), 'Deleted.');
    expect.ok(!(await mainText(page)).includes(story.private), 'gone');

    await navigation(page, () => page.getByRole('button', { name: 'Mark as done' }).click());
    const next = new URL(page.url()).pathname.match(/^\/meetings\/(\d+)$/);
    expect.ok(next && Number(next[1]) !== story.meetingId, 'taken to the next meeting');
    expect.match(await flash(page), /^Marked as done\./);
    const carried = page.locator('.meeting-item', { hasText: story.shared });
    expect.eq(await carried.count(), 1, 'the point nobody ticked is on the next meeting');
    expect.match(await carried.locator('.badge').first().textContent(), /^From /, 'marked as carried over');
    expect.eq(await page.locator('.meeting-item', { hasText: story.action }).count(), 0, 'the done action item is not');
    await fits(page, 1366, 'the next meeting');
    await snap(shot, '05 next meeting with the carried-over point', page);

    await page.goto('/team');
    const row = page.locator('li', { has: page.getByRole('link', { name: 'Omar Haddad', exact: true }) });
    const facts = (await row.innerText()).replace(/\s+/g, ' ');
    expect.match(facts, /Last 1:1: \d+ \w+ \d{4}/, 'the last 1:1');
    expect.match(facts, /Next 1:1: \d+ \w+ \d{4}/, 'the next 1:1');
    await fits(page, 1366, 'the team page');
    await snap(shot, '06 team page', page);
    story.steps.add('done');
  } finally {
    await ravi.close();
  }
});

test('1:1s: the pages fit a phone and a laptop, and an HR Admin cannot open the meeting', async ({ browser, baseURL, guard, shot }) => {
  after('done');
  guard.ignore('console', /status of 404/); // the HR Admin's refused page, on purpose
  const phone = await openAs({ browser, baseURL, guard }, 'Ravi Shankar', PHONE);
  try {
    for (const path of ['/meetings', '/meetings/new?q=om', `/meetings/${story.meetingId}`, '/team', '/home']) {
      await phone.page.goto(path);
      await fits(phone.page, 390, path);
      await snap(shot, `07 phone ${path.replace(/\W+/g, ' ')}`, phone.page);
    }
  } finally {
    await phone.close();
  }
  const hr = await openAs({ browser, baseURL, guard }, 'Marcus Webb', LAPTOP);
  try {
    const res = await hr.page.goto(`/meetings/${story.meetingId}`);
    expect.eq(res.status(), 404, 'HR Admins do not read 1:1s');
    expect.ok(!(await mainText(hr.page)).includes(story.shared));
  } finally {
    await hr.close();
  }
});
