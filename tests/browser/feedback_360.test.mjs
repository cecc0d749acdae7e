// 360 feedback end to end, as the people in it see it: HR (Marcus Webb) lets everyone invite
// guests, creates an anonymous 360 cycle and picks Ben Carter from the list; Ben chooses his
// reviewers with the type-ahead, invites an outside guest on the fly and hands the list to
// Sofia Alvarez, who approves it from her to-do; Aisha Rahman writes (autosaved) and shares; the
// demo's guest (Alex Morgan) sees only her requests and writes hers; Tyler Reed reads his
// released feedback grouped by relationship with the distributions; HR sees the overview and
// previews a reminder; an HR Assistant sees statuses, never content.
//
// Every page is watched by the page guard and photographed at 1366 and 390 px wide
// (tests/artifacts/screenshots/feedback_360-*.png).
import { test, expect } from './lib/runner.mjs';
import { signIn, openAs, confirmDialog, navigation, flash, isoDate, snap } from './lib/session.mjs';

const story = {
  cycleName: `Browser 360 ${new Date().toISOString().slice(0, 10)} ${process.pid}`,
  cycleId: null,
  subjectId: null,
  guestEmail: `partner.${process.pid}@agency.example`,
  aishaText: 'Ben turns a messy brief into a plan everyone understands.',
  steps: new Set(),
};

function after(step) {
  if (!story.steps.has(step)) throw new Error(`the earlier step "${step}" did not finish, so this one cannot run`);
}

async function mainText(page) {
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

/** A screenshot at 1366 and at 390 px wide; the page must not scroll sideways at 390. */
async function both(shot, name, page) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 1366, height: 900 });
  await snap(shot, `${name} 1366`, page);
  await page.setViewportSize({ width: 390, height: 844 });
  await snap(shot, `${name} 390`, page);
  const wide = await page.evaluate(() => {
    const over = document.documentElement.scrollWidth - window.innerWidth;
    if (over <= 1) return null;
    const out = [];
    for (const el of document.querySelectorAll('main *')) {
      if (el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('.table-wrap')) {
        out.push(`${el.tagName.toLowerCase()}.${el.className}`);
      }
    }
    return `${over}px (${out.slice(0, 4).join(', ')})`;
  });
  expect.ok(!wide, `${name}: the page is wider than a 390 px screen by ${wide}`);
  await page.setViewportSize(size);
}

/** Opens the home page's to-do whose text matches re. */
async function todo(page, re) {
  await page.goto('/home');
  const link = page.locator('main a', { hasText: re }).first();
  expect.ok(await link.count() > 0, `a to-do matching ${re} on the home page: ${await mainText(page)}`);
  await navigation(page, () => link.click());
}

test('360: HR lets everyone invite guests and creates an anonymous cycle for Ben Carter', async ({ page, shot }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/admin/users/settings');
  await page.getByLabel(/everyone can pick guests/).check();
  await navigation(page, () => page.getByRole('button', { name: 'Save settings' }).click());

  await page.goto('/feedback/cycles');
  await both(shot, '01 cycles list', page);
  await navigation(page, () => page.getByRole('link', { name: 'New 360 cycle' }).first().click());
  await page.getByLabel('Name', { exact: true }).fill(story.cycleName);
  await page.getByLabel('Introduction for reviewers').fill('Be specific and kind; skip what you cannot judge.');
  await page.getByLabel('Start date').fill(isoDate(0));
  await page.getByLabel('At least').fill('2');
  await page.getByLabel(/Anonymous: answers are labelled/).check();
  await both(shot, '02 new cycle form', page);
  await navigation(page, () => page.getByRole('button', { name: 'Create and choose reviewees' }).click());
  const m = new URL(page.url()).pathname.match(/^\/feedback\/cycles\/(\d+)\/reviewees$/);
  expect.ok(m, `after creating, the reviewees page (at ${page.url()})`);
  story.cycleId = Number(m[1]);

  // the list view with "managers only": Ben leads marketing
  await page.goto(`/feedback/cycles/${story.cycleId}/reviewees?view=list&managers=1&q=Ben`);
  await both(shot, '03 reviewees managers only', page);
  await page.getByRole('checkbox', { name: 'Select Ben Carter' }).check();
  await navigation(page, () => page.getByRole('button', { name: 'Add checked' }).click());
  expect.eq(await flash(page), '1 reviewee added.');

  await page.goto(`/feedback/cycles/${story.cycleId}`);
  await page.getByRole('button', { name: 'Start the cycle' }).click();
  await confirmDialog(page, { text: /Start/, button: 'Start the cycle' });
  expect.match(await mainText(page), /Choosing reviewers and writing/);
  story.steps.add('cycle');
});

test('360: Ben chooses reviewers with the type-ahead, invites a guest and hands the list in', async ({ page, shot }) => {
  after('cycle');
  await signIn(page, 'Ben Carter');
  await todo(page, /Choose who gives you feedback/);
  story.subjectId = Number(new URL(page.url()).pathname.split('/').pop());
  const search = page.getByLabel('Add a reviewer');
  for (const name of ['Aisha Rahman', 'Kai Andersen']) {
    await search.fill(name.split(' ')[0]);
    const ask = page.getByRole('button', { name: `Ask ${name.split(' ')[0]}` });
    await ask.waitFor({ state: 'visible' });
    await navigation(page, () => ask.click());
    expect.match(await flash(page), /Added/);
  }
  await search.fill(story.guestEmail);
  const invite = page.getByRole('button', { name: 'Invite as guest' });
  await invite.waitFor({ state: 'visible' });
  await page.getByLabel('Their name').fill('Pat Partner');
  await both(shot, '04 nominating with the type-ahead', page);
  await navigation(page, () => invite.click());
  expect.match(await flash(page), /Added/);
  const text = await mainText(page);
  for (const who of ['Aisha Rahman', 'Kai Andersen', 'Pat Partner']) expect.ok(text.includes(who), `${who} listed`);
  await navigation(page, () => page.getByRole('button', { name: /Hand the list to Sofia Alvarez/ }).click());
  expect.match(await flash(page), /went to the manager/);
  await both(shot, '05 list handed in', page);
  story.steps.add('nominated');
});

test('360: Sofia approves Ben\'s reviewers from her to-do', async ({ page, shot }) => {
  after('nominated');
  await signIn(page, 'Sofia Alvarez');
  await todo(page, /Approve the reviewers of 1 report/);
  expect.eq((await page.locator('h1').textContent()).trim(), 'Approve reviewers');
  await both(shot, '06 approvals', page);
  await navigation(page, () => page.getByRole('button', { name: 'Approve the checked and notify' }).click());
  expect.match(await flash(page), /3 reviewers approved/);
  await page.goto(`/feedback/cycles/${story.cycleId}/team`);
  await both(shot, '07 team page', page);
  story.steps.add('approved');
});

test('360: Aisha writes (drafts save as she types) and shares', async ({ page, shot }) => {
  after('approved');
  await signIn(page, 'Aisha Rahman');
  await todo(page, /Write feedback about Ben Carter/);
  const box = page.locator('textarea').first();
  await box.fill(story.aishaText);
  await page.locator('[data-autosave-status]').filter({ hasText: /Draft saved/ }).waitFor({ timeout: 5000 });
  await both(shot, '08 writing', page);
  await page.getByRole('button', { name: 'Share' }).click();
  await confirmDialog(page, { text: /Share your feedback about Ben Carter/, button: 'Share' });
  expect.match(await flash(page), /shared/);
  await both(shot, '09 shared', page);
});

test('360: the guest sees her requests and nothing else, and writes hers', async ({ page, shot, guard }) => {
  guard.ignore('console', /status of 40[34]/); // the pages a guest is refused, on purpose
  await signIn(page, 'alex.morgan@clientcorp.example');
  const nav = await page.locator('nav').innerText();
  expect.ok(!/People|Org chart|360 cycles/.test(nav), `a guest's navigation: ${nav}`);
  await both(shot, '10 guest home', page);
  await todo(page, /Write feedback about Nina Patel/);
  await page.locator('textarea').first().fill('Nina is thorough and always on time.');
  await page.locator('[data-autosave-status]').filter({ hasText: /Draft saved/ }).waitFor({ timeout: 5000 });
  await both(shot, '11 guest writing', page);
  await page.getByRole('button', { name: 'Share' }).click();
  await confirmDialog(page, { text: /Share your feedback about Nina Patel/, button: 'Share' });
  for (const path of ['/people', '/feedback', '/feedback/cycles', '/org']) {
    const res = await page.goto(path);
    expect.ok([403, 404].includes(res.status()), `${path} answered ${res.status()} for a guest`);
  }
});

test('360: Tyler reads his released feedback, grouped by relationship, scales as distributions', async ({ page, shot }) => {
  await signIn(page, 'Tyler Reed');
  await todo(page, /Read your 360 feedback/);
  const text = await mainText(page);
  for (const part of ['Self', 'Manager', 'Peers', 'Guests', 'Tyler knows our business']) {
    expect.ok(text.includes(part), `"${part}" on Tyler's page`);
  }
  expect.ok(await page.locator('svg.chart.distribution').count() > 0, 'scale answers drawn as distributions');
  await both(shot, '12 reading released feedback', page);
});

test('360: HR sees the overview with counts, previews a reminder, and an HR Assistant sees no content', async ({ page, shot, browser, baseURL, guard }) => {
  after('approved');
  await signIn(page, 'Marcus Webb');
  await page.goto(`/feedback/cycles/${story.cycleId}`);
  const text = await mainText(page);
  expect.ok(text.includes('Ben Carter'), 'Ben in the overview');
  await both(shot, '13 overview', page);
  await navigation(page, () => page.getByRole('button', { name: 'Reviewers who have not written…' }).click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Send reminders');
  expect.match(await mainText(page), /4 people will get this reminder.*write and share your feedback about (yourself|Ben Carter)/);
  await both(shot, '14 reminder preview', page);

  const lena = await openAs({ browser, baseURL, guard }, 'Lena Fischer');
  try {
    const p = lena.page;
    await p.goto('/feedback/cycles');
    const demo = p.locator('a', { hasText: /Sales 360/ }).first();
    await navigation(p, () => demo.click());
    const tyler = p.locator('a', { hasText: 'Tyler Reed' }).first();
    await navigation(p, () => tyler.click());
    const seen = await mainText(p);
    expect.ok(seen.includes('You see the statuses of this 360, not what was written.'), 'statuses only');
    expect.ok(!seen.includes('Tyler knows our business'), 'no feedback text for an HR Assistant');
    await both(shot, '15 hr assistant statuses', p);
  } finally {
    await lena.close();
  }
});
