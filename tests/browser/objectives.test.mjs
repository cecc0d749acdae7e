// Objectives across a manager, a report and a review, as they see them: Ravi Shankar sets a team
// objective aligned to the company's ("Become the easiest product...") with a number key result;
// Mia Johansson, on her phone, sets a protected objective aligned to Ravi's and updates its progress
// with a note; the alignment tree shows both under the company objective with the progress rolled
// up; Ravi comments on Mia's objective and finds it beside the questionnaire of her review in the
// running review cycle; a peer (Zoe Chen) sees neither Mia's protected objective nor its share of
// the roll-up. Every page is checked at 1366 and 390 px and photographed
// (tests/artifacts/screenshots/objectives-*.png).
import { test, expect } from './lib/runner.mjs';
import { openAs, navigation, flash, snap, mainText, fits } from './lib/session.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const LAPTOP = { viewport: { width: 1366, height: 900 } };

const story = {
  team: `Self-serve onboarding for every new customer ${process.pid}`,
  mine: `Guided setup wizard ${process.pid}`,
  note: 'The wizard prototype tested well with five customers.',
  comment: 'Nice. Can you show it at the next team demo?',
  teamId: null,
  mineId: null,
  steps: new Set(),
};

function after(step) {
  if (!story.steps.has(step)) throw new Error(`the earlier step "${step}" did not finish, so this one cannot run`);
}

test('objectives: a manager sets a team objective aligned to the company objective', async ({ browser, baseURL, guard, shot }) => {
  const ravi = await openAs({ browser, baseURL, guard }, 'Ravi Shankar', LAPTOP);
  const { page } = ravi;
  try {
    await navigation(page, () => page.locator('#main-nav').getByRole('link', { name: 'Objectives' }).click());
    expect.eq(new URL(page.url()).pathname, '/objectives');
    await fits(page, 1366, 'my objectives');
    await navigation(page, () => page.getByRole('link', { name: 'New objective' }).first().click());
    await page.getByLabel('Objective', { exact: true }).fill(story.team);
    await page.getByRole('radio', { name: 'Team' }).check();
    await page.getByLabel('Aligned to').selectOption({ label: 'Company: Become the easiest product in our market to start with (Olivia Bennett)' });
    await page.getByRole('radio', { name: /^Public/ }).check();
    await page.locator('#kr1_kind').selectOption('number');
    await page.locator('#kr1_title').fill('Customers set up without help');
    await page.locator('#kr1_start').fill('10');
    await page.locator('#kr1_target').fill('60');
    await page.locator('#kr1_unit').fill('%');
    await fits(page, 1366, 'the objective form');
    await snap(shot, '01 new team objective', page);
    await navigation(page, () => page.getByRole('button', { name: 'Create' }).click());
    const m = new URL(page.url()).pathname.match(/^\/objectives\/(\d+)$/);
    expect.ok(m, `taken to the objective (at ${page.url()})`);
    story.teamId = Number(m[1]);
    expect.eq(await flash(page), 'Objective created.');
    const text = await mainText(page);
    expect.ok(text.includes('Aligned to Become the easiest product in our market to start with'), 'its alignment');
    expect.ok(text.includes('10 → 60 %'), 'the key result from its start to its target');
    await fits(page, 1366, 'the objective');
    await snap(shot, '02 team objective', page);
    story.steps.add('team');
  } finally {
    await ravi.close();
  }
});

test('objectives: a report, on her phone, aligns a protected objective to it and updates its progress', async ({ browser, baseURL, guard, shot }) => {
  after('team');
  const mia = await openAs({ browser, baseURL, guard }, 'Mia Johansson', PHONE);
  const { page } = mia;
  try {
    await page.goto('/objectives/new');
    await page.getByLabel('Objective', { exact: true }).fill(story.mine);
    await page.getByLabel('Aligned to').selectOption({ label: `Team: ${story.team} (Ravi Shankar)` });
    await page.getByRole('radio', { name: /^Protected/ }).check();
    await page.locator('#kr1_kind').selectOption('number');
    await page.locator('#kr1_title').fill('Setup steps in the wizard');
    await page.locator('#kr1_start').fill('0');
    await page.locator('#kr1_target').fill('8');
    await fits(page, 390, 'the objective form');
    await snap(shot, '03 new objective on the phone', page);
    await navigation(page, () => page.getByRole('button', { name: 'Create' }).click());
    story.mineId = Number(new URL(page.url()).pathname.match(/^\/objectives\/(\d+)$/)[1]);
    // progress: status, the key result's value, a note
    await page.getByLabel('Status').selectOption({ label: 'At risk' });
    await page.getByRole('textbox', { name: 'Setup steps in the wizard' }).fill('4');
    await page.getByLabel(/^Note/).fill(story.note);
    await navigation(page, () => page.getByRole('button', { name: 'Save update' }).click());
    expect.eq(await flash(page), 'Update saved.');
    const text = await mainText(page);
    expect.ok(text.includes('At risk'), 'the new status');
    expect.ok(text.includes(story.note), 'the note in the thread');
    expect.ok(text.includes('progress 0% → 50%'), 'the update says what changed');
    await fits(page, 390, 'the objective');
    await snap(shot, '04 objective updated on the phone', page);
    // the tree: under the company objective, her 50% rolled up into Ravi's
    await page.goto(`/objective-cycles/1/tree?focus=${story.teamId}`);
    const tree = await mainText(page);
    expect.ok(tree.includes(story.mine), 'her objective under the team objective');
    expect.ok(tree.includes('1 aligned objective · 25% together'), 'Ravi 0% and Mia 50% rolled up');
    await fits(page, 390, 'the tree');
    await snap(shot, '05 tree on the phone', page);
    story.steps.add('mine');
  } finally {
    await mia.close();
  }
});

test('objectives: the manager comments and sees the objective beside his report\'s review', async ({ browser, baseURL, guard, shot }) => {
  after('mine');
  const ravi = await openAs({ browser, baseURL, guard }, 'Ravi Shankar', LAPTOP);
  const { page } = ravi;
  try {
    await page.goto(`/objectives/${story.mineId}`);
    await page.getByLabel('Add a comment').fill(story.comment);
    await navigation(page, () => page.getByRole('button', { name: 'Comment' }).click());
    expect.eq(await flash(page), 'Comment added.');
    expect.ok((await mainText(page)).includes(story.comment));
    // the review of Mia in the demo's running review cycle: her objectives beside the questions
    await page.goto('/team');
    const row = page.locator('tr', { hasText: 'Mia Johansson' });
    await navigation(page, () => row.getByRole('link', { name: 'Open' }).click());
    expect.match(new URL(page.url()).pathname, /^\/reviews\/\d+$/);
    const resources = page.locator('aside section.resources', { has: page.getByRole('heading', { name: 'Objectives' }) });
    expect.ok(await resources.getByRole('link', { name: story.mine }).isVisible(), 'her objective is a resource of the review');
    expect.ok((await resources.innerText()).includes('At risk · 50%'), 'with its status and progress');
    await fits(page, 1366, 'the review with objectives');
    await snap(shot, '06 review with objectives', page);
    await page.goto('/objectives/team');
    expect.ok((await mainText(page)).includes(story.mine), 'on his team page too');
    await fits(page, 1366, 'the team objectives');
    await snap(shot, '07 team objectives', page);
    story.steps.add('review');
  } finally {
    await ravi.close();
  }
});

test('objectives: a peer sees neither the protected objective nor its share of the roll-up; pages fit', async ({ browser, baseURL, guard, shot }) => {
  after('review');
  guard.ignore('console', /status of 404/); // Zoe's refused page, on purpose
  const zoe = await openAs({ browser, baseURL, guard }, 'Zoe Chen', PHONE);
  try {
    const res = await zoe.page.goto(`/objectives/${story.mineId}`);
    expect.eq(res.status(), 404, 'a protected objective of a peer');
    await zoe.page.goto(`/objective-cycles/1/tree?focus=${story.teamId}`);
    const tree = await mainText(zoe.page);
    expect.ok(!tree.includes(story.mine), 'no node for it');
    expect.ok(!tree.includes('25% together'), 'no trace of its progress');
    for (const path of ['/objectives', '/objective-cycles/1', '/objective-cycles/1/tree', '/home', `/objectives/${story.teamId}`]) {
      await zoe.page.goto(path);
      await fits(zoe.page, 390, path);
      await snap(shot, `08 phone ${path.replace(/\W+/g, ' ')}`, zoe.page);
    }
  } finally {
    await zoe.close();
  }
  const hr = await openAs({ browser, baseURL, guard }, 'Marcus Webb', LAPTOP);
  try {
    for (const path of ['/objective-cycles', '/objective-cycles/1/overview', '/objective-cycles/1/edit',
      '/objective-cycles/1/nudges?audience=without']) {
      await hr.page.goto(path);
      await fits(hr.page, 1366, path);
      await snap(shot, `09 hr ${path.replace(/\W+/g, ' ')}`, hr.page);
    }
  } finally {
    await hr.close();
  }
});
