// A performance review cycle end to end, as the people in it see it:
// HR (Marcus Webb) creates a cycle, adds Ravi Shankar's whole team from the org chart and
// starts it; Mia Johansson writes her self-assessment and places herself on the 2D graph; her
// manager Ravi writes, shares and signs; Mia signs; HR sees the progress, the rating chart and
// the Excel export; an HR Assistant (Lena Fischer) sees statuses but never answers.
//
// One story in steps: each step is a test with a fresh browser context for its person (two
// people at once where they work together), and later steps use what earlier ones made (the
// cycle, Mia's review). Every page is watched by the page guard (no CSP violation, console
// error or broken resource) and photographed (tests/artifacts/screenshots/review_cycle-*.png).
import { test, expect } from './lib/runner.mjs';
import { signIn, openAs, confirmDialog, navigation, flash, isoDate, snap } from './lib/session.mjs';

const RAVI_TEAM = ['Ethan Brooks', 'Lucas Moreau', 'Mia Johansson', 'Omar Haddad', 'Ravi Shankar', 'Zoe Chen'];

/** What the steps pass on to each other. */
const story = {
  cycleName: `Browser review ${new Date().toISOString().slice(0, 10)} ${process.pid}`,
  cycleId: null,
  reviewId: null,
  selfText: 'Shipped the new deploy pipeline and mentored two engineers through on-call.',
  selfFocus: 'Lead the storage migration and write the runbooks.',
  managerText: 'Mia raised the bar for the whole platform team; the pipeline work was outstanding.',
  managerFocus: 'Own the storage migration end to end.',
  managerNotes: 'Ready for promotion to Staff next round.',
  rating: 4, // "Exceeds expectations"
  steps: new Set(),
};

/** Fails early, with a clear message, when an earlier step of the story did not finish. */
function after(step) {
  if (!story.steps.has(step)) throw new Error(`the earlier step "${step}" did not finish, so this one cannot run`);
}

/** The text content of the page's <main>, whitespace collapsed. */
async function mainText(page) {
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

test('review cycle: HR creates a cycle, adds a team from the org chart and starts it', async ({ page, shot }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/cycles');
  await navigation(page, () => page.getByRole('link', { name: 'New review cycle' }).first().click());
  expect.eq(new URL(page.url()).pathname, '/cycles/new');
  expect.eq((await page.locator('h1').textContent()).trim(), 'New review cycle');

  // name and the timeline: starts today, every deadline in the future
  await page.getByLabel('Name', { exact: true }).fill(story.cycleName);
  await page.getByLabel('Start', { exact: true }).fill(isoDate(0));
  await page.getByLabel('Self-assessments due').fill(isoDate(7));
  await page.getByLabel('Manager reviews due').fill(isoDate(14));
  await page.getByLabel('Sharing and signing until').fill(isoDate(21));
  expect.ok(await page.getByLabel(/write a self-assessment/).isChecked(), 'a self-assessment is on by default');
  await snap(shot, '01 new cycle form', page);
  await navigation(page, () => page.getByRole('button', { name: 'Create and choose reviewees' }).click());

  // taken to the reviewees page of the new cycle
  const m = new URL(page.url()).pathname.match(/^\/cycles\/(\d+)\/reviewees$/);
  expect.ok(m, `after creating, the page is the reviewees page (at ${page.url()})`);
  story.cycleId = Number(m[1]);
  expect.eq(await flash(page), 'Cycle created. Now choose who is reviewed.');
  expect.eq((await page.locator('h1').textContent()).trim(), 'Who is reviewed');
  expect.match(await mainText(page), /0 reviewees in this cycle/);

  // the org chart view: open Daniel Kim's team (Ravi is in it), add Ravi with his whole team
  const views = page.getByRole('navigation', { name: 'Views' });
  await navigation(page, () => views.getByRole('link', { name: 'Org chart' }).click());
  expect.eq(new URL(page.url()).searchParams.get('view'), 'org');
  expect.eq(await views.getByRole('link', { name: 'Org chart' }).getAttribute('aria-current'), 'page');
  const raviSummary = page.locator('summary', { has: page.getByText('Ravi Shankar', { exact: true }) });
  expect.eq(await raviSummary.isVisible(), false, "Ravi's node is inside Daniel Kim's closed team at first");
  await openTeam(page, 'Daniel Kim');
  await raviSummary.waitFor({ state: 'visible' });
  const addTeam = raviSummary.getByRole('button', { name: /^Add with whole team/ });
  expect.eq((await addTeam.textContent()).trim(), 'Add with whole team (6)', 'Ravi and his 5 reports');
  expect.eq(await raviSummary.getByRole('checkbox').isChecked(), false, 'Ravi is not in the cycle yet');
  await snap(shot, '02 reviewees org chart', page);
  await navigation(page, () => addTeam.click());
  expect.eq(await flash(page), '6 reviewees added.');
  expect.eq(new URL(page.url()).searchParams.get('view'), 'org', 'back on the org chart view');
  expect.match(await mainText(page), /6 reviewees in this cycle/);
  // opening the teams again: each of them is ticked (and locked) with an "in cycle" badge
  for (const manager of ['Daniel Kim', 'Ravi Shankar', 'Lucas Moreau']) await openTeam(page, manager);
  for (const name of RAVI_TEAM) {
    const node = page.locator('label.org-node', { has: page.getByText(name, { exact: true }) });
    expect.eq(await node.count(), 1, `one node for ${name}`);
    expect.ok(await node.isVisible(), `${name} is shown`);
    expect.ok(await node.getByRole('checkbox').isChecked(), `${name} is ticked in the org chart`);
    expect.ok(await node.getByRole('checkbox').isDisabled(), `${name} cannot be ticked twice`);
    expect.ok(await node.getByText('in cycle').isVisible(), `${name} has the "in cycle" badge`);
  }
  expect.eq(await page.locator('label.org-node .badge', { hasText: 'in cycle' }).count(), 6, 'nobody else is in the cycle');
  await snap(shot, '03 reviewees org chart after adding the team', page);

  // the list view shows the same selection
  await navigation(page, () => views.getByRole('link', { name: 'List' }).click());
  expect.eq(new URL(page.url()).searchParams.get('view'), 'list');
  expect.match(await mainText(page), /6 reviewees in this cycle/);
  const chosen = await page.locator('tbody tr', { has: page.getByText('✓ Reviewee') }).locator('.person-name').allTextContents();
  expect.eq(JSON.stringify(chosen.map((s) => s.trim()).sort()), JSON.stringify(RAVI_TEAM), 'the people marked in the list');
  const rows = await page.locator('tbody tr').count();
  expect.ok(rows > 40, `the list shows the whole company (${rows} rows)`);
  await snap(shot, '04 reviewees list', page);

  // the list adds and removes too: tick Nora Walsh and add her, then remove her (it asks first)
  const noraRow = page.locator('tbody tr', { has: page.getByRole('checkbox', { name: 'Select Nora Walsh' }) });
  await noraRow.getByRole('checkbox').check();
  await navigation(page, () => page.getByRole('button', { name: 'Add checked' }).click());
  expect.eq(await flash(page), '1 reviewee added.');
  expect.match(await mainText(page), /7 reviewees in this cycle/);
  expect.eq(await noraRow.getByText('✓ Reviewee').count(), 1, 'Nora is marked in the list');
  await noraRow.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Remove checked' }).click();
  await confirmDialog(page, { text: /^Remove the checked people from this cycle\?/, button: 'Confirm' });
  expect.eq(await flash(page), '1 reviewee removed.', 'the confirmed removal removes (the button\'s remove=1 was sent)');
  expect.match(await mainText(page), /6 reviewees in this cycle/);
  expect.eq(await noraRow.getByText('✓ Reviewee').count(), 0, 'Nora is no longer marked');

  // the questions page: the default questionnaire, with the rating and the 2D graph
  await page.goto(`/cycles/${story.cycleId}`);
  await page.locator('summary', { hasText: 'More ▾' }).click();
  await navigation(page, () => page.getByRole('menuitem', { name: 'Edit questions' }).click());
  expect.eq(new URL(page.url()).pathname, `/cycles/${story.cycleId}/questions`);
  expect.eq((await page.locator('h1').textContent()).trim(), 'Questions');
  const sections = await page.locator('input[id$="_title"]').evaluateAll((els) => els.map((e) => e.value));
  expect.eq(JSON.stringify(sections), JSON.stringify(['Looking back', 'Where you stand', 'Looking ahead']));
  const kinds = await page.locator('select[id$="_type"]').evaluateAll((els) => els.map((e) => e.value));
  expect.eq(JSON.stringify(kinds), JSON.stringify(['text', 'text', 'graph', 'rating', 'text', 'text']));
  expect.eq(await page.getByLabel('Question', { exact: true }).nth(3).inputValue(), 'Overall performance');
  await snap(shot, '05 questions', page);

  // start the cycle from the overview, through the confirmation dialog
  await navigation(page, () => page.getByRole('link', { name: 'Cancel' }).click());
  expect.eq(new URL(page.url()).pathname, `/cycles/${story.cycleId}`);
  expect.eq((await page.locator('h1').textContent()).trim(), story.cycleName);
  expect.eq(await page.locator('[aria-current="step"]').textContent(), 'Draft');
  const start = page.getByRole('button', { name: 'Start the cycle' });
  expect.eq(await start.count(), 1, 'one "Start the cycle" button (not also the workflow\'s draft transition)');
  await start.click();
  await snap(shot, '06 start confirmation', page);
  expect.eq(await page.locator('#confirm-ok').getAttribute('class'), 'btn btn-primary', 'a step forward is not painted as a danger');
  const said = await confirmDialog(page, { text: `Start ${story.cycleName}? Invitations go out to 6 reviewees`, button: 'Start the cycle' });
  expect.match(said, /manager is fixed/);
  expect.eq(await flash(page), 'The cycle has started. Invitations are on their way.');
  expect.ok((await page.locator('[aria-current="step"]').textContent()) !== 'Draft', 'the cycle left the draft phase');
  expect.eq(await page.getByRole('button', { name: 'Start the cycle' }).count(), 0, 'it cannot be started twice');
  expect.eq(await page.locator('tbody tr').count(), 6, 'six reviews in the overview');
  await snap(shot, '07 overview started', page);
  story.steps.add('created');
});

test('review cycle: Mia writes her self-assessment, places herself on the graph and submits', async ({ page, shot }) => {
  after('created');
  await signIn(page, 'Mia Johansson');
  const todo = page.getByRole('link', { name: `Write your self-assessment for ${story.cycleName}` });
  expect.eq(await todo.count(), 1, 'the to-do is on her home page');
  await snap(shot, '08 Mia home with the to-do', page);
  await navigation(page, () => todo.click());
  const m = new URL(page.url()).pathname.match(/^\/reviews\/(\d+)$/);
  expect.ok(m, `the to-do opens her review (at ${page.url()})`);
  story.reviewId = Number(m[1]);
  expect.eq((await page.locator('h1').textContent()).trim(), 'Your review');

  // typing is saved as a draft (the status line says so once the autosave's pause is over)
  const status = page.locator('[data-autosave-status]').first();
  expect.eq((await status.textContent()).trim(), 'Drafts save as you type.');
  const saved = page.waitForResponse((r) => r.url().endsWith(`/api/reviews/${story.reviewId}/answers/self`)
    && r.request().method() === 'PUT');
  await page.getByLabel('What went well in this period? What are you proud of?').pressSequentially(story.selfText, { delay: 5 });
  expect.eq((await saved).status(), 200, 'the autosave request succeeded');
  await expectText(status, /^Draft saved /);

  // the 2D graph: a click in the upper right of the plot places her there
  const graph = page.locator('svg[data-graph]');
  const marker = graph.locator('[data-marker]');
  const x = page.getByLabel('Skill (0–100)');
  const y = page.getByLabel('Motivation (0–100)');
  expect.eq(await x.inputValue(), '', 'no position yet');
  expect.eq(await marker.getAttribute('visibility'), 'hidden', 'no marker yet');
  const before = { cx: await marker.getAttribute('cx'), cy: await marker.getAttribute('cy') };
  await graph.scrollIntoViewIfNeeded();
  const plot = await graph.locator('[data-plot]').boundingBox();
  const click = { x: plot.x + plot.width * 0.75, y: plot.y + plot.height * 0.2 };
  await page.mouse.click(click.x, click.y);
  const gx = Number(await x.inputValue());
  const gy = Number(await y.inputValue());
  expect.ok(Math.abs(gx - 75) <= 1, `the Skill field got the click's position (${gx}, expected about 75)`);
  expect.ok(Math.abs(gy - 80) <= 1, `the Motivation field got the click's position (${gy}, expected about 80)`);
  expect.eq(await marker.getAttribute('visibility'), null, 'the marker is shown');
  expect.eq(await marker.getAttribute('hidden'), null, 'the marker is not hidden');
  const after2 = { cx: await marker.getAttribute('cx'), cy: await marker.getAttribute('cy') };
  expect.ok(after2.cx !== before.cx && after2.cy !== before.cy, `the marker moved (${JSON.stringify(before)} -> ${JSON.stringify(after2)})`);
  const dot = await marker.boundingBox();
  const centre = { x: dot.x + dot.width / 2, y: dot.y + dot.height / 2 };
  expect.ok(Math.hypot(centre.x - click.x, centre.y - click.y) < 4,
    `the marker sits where she clicked (${JSON.stringify(centre)} vs ${JSON.stringify(click)})`);

  // the required question at the end; the draft (text and position) survives a reload
  await page.getByLabel('What should the focus be for the next period?').fill(story.selfFocus);
  await waitForAutosave(page, story.reviewId, 'self', (a) => a.q6 === story.selfFocus && a.q3 && a.q3.x === gx);
  await snap(shot, '09 Mia self-assessment draft', page);
  await page.reload();
  expect.eq(await page.getByLabel('What went well in this period? What are you proud of?').inputValue(), story.selfText,
    'the draft was kept');
  expect.eq(Number(await page.getByLabel('Skill (0–100)').inputValue()), gx, 'the position was kept');
  expect.eq(await page.locator('svg[data-graph] [data-marker]').getAttribute('visibility'), null, 'the marker is drawn on reload');

  // submit to the manager: the button asks first; Cancel keeps the draft, Submit sends it
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: 'Your self-assessment' }) });
  const submit = page.getByRole('button', { name: 'Submit to your manager' });
  await submit.click();
  await snap(shot, '10 Mia submit confirmation', page);
  await confirmDialog(page, { text: /^Submit your self-assessment\?/, button: 'Cancel' });
  expect.eq((await card.locator('.badge').first().textContent()).trim(), 'Draft', 'Cancel keeps it a draft');
  expect.eq(new URL(page.url()).pathname, `/reviews/${story.reviewId}`);
  await submit.click();
  await confirmDialog(page, { text: /^Submit your self-assessment\?/, button: 'Submit' });
  expect.eq(await flash(page), 'Your self-assessment is submitted. Your manager can read it now.');
  expect.eq((await card.locator('.badge').first().textContent()).trim(), 'Submitted');
  expect.eq(await card.locator('textarea').count(), 0, 'a submitted self-assessment is read-only');
  expect.match(await card.innerText(), new RegExp(story.selfText.replace(/[.]/g, '\\.')));
  expect.match(await mainText(page), /Ravi Shankar is writing your review/);
  await snap(shot, '11 Mia submitted', page);
  story.steps.add('self submitted');
});

test('review cycle: Ravi reads the self-assessment, writes, shares and signs; Mia signs', async ({ page, shot, browser, baseURL, guard }) => {
  after('self submitted');
  await signIn(page, 'Ravi Shankar');
  await page.goto('/team');
  expect.eq((await page.locator('h1').textContent()).trim(), 'My team');
  const row = page.locator('tbody tr', { has: page.getByText('Mia Johansson', { exact: true }) })
    .filter({ hasText: story.cycleName });
  expect.eq(await row.count(), 1, "Mia's review is on Ravi's team page");
  expect.eq((await row.locator('td').nth(2).textContent()).trim(), 'Submitted', 'her self-assessment is submitted');
  await snap(shot, '12 Ravi team', page);
  await navigation(page, () => row.getByRole('link', { name: 'Open' }).click());
  expect.eq(new URL(page.url()).pathname, `/reviews/${story.reviewId}`);
  expect.eq((await page.locator('h1').textContent()).trim(), 'Review of Mia Johansson');

  // her self-assessment, read-only, with her graph position
  const selfCard = page.locator('section.card', { has: page.getByRole('heading', { name: "Mia's self-assessment" }) });
  const selfText = await selfCard.innerText();
  expect.ok(selfText.includes(story.selfText), 'he reads what she wrote');
  expect.ok(selfText.includes(story.selfFocus), 'he reads her focus for next period');
  expect.eq(await selfCard.locator('textarea').count(), 0, 'he cannot edit it');

  // the graph is placed by both: her dot is shown in grey on the graph he places her on
  const form = page.locator('form[action$="/answers/manager"]');
  expect.eq(await form.locator('svg .graph-dot-other').count(), 1, 'her position on the graph is shown');
  expect.ok((await form.locator('svg.graph').innerHTML()).includes('Mia Johansson'), 'the legend names her dot');

  // his review, with the rating and the private note
  await form.getByLabel('What went well in this period? What are you proud of?').fill(story.managerText);
  await form.getByLabel('What should the focus be for the next period?').fill(story.managerFocus);
  await form.getByLabel('Notes for calibration (not shown to the reviewee)').fill(story.managerNotes);
  const rating = form.getByRole('radiogroup', { name: 'Overall performance' });
  await rating.getByLabel(`${story.rating} · Exceeds expectations`).check();
  await waitForAutosave(page, story.reviewId, 'manager', (a) => a.q4 === String(story.rating) || a.q4 === story.rating);
  await snap(shot, '13 Ravi writes the review', page);
  // sharing asks first; he can take it back until she signs
  await form.getByRole('button', { name: 'Share with Mia' }).click();
  await confirmDialog(page, { text: 'Share your review with Mia?', button: 'Share' });
  expect.eq(await flash(page), 'The review is shared with Mia Johansson.');
  expect.eq(await page.getByRole('button', { name: 'Take it back to adjust' }).count(), 1, 'he may take it back');
  const mgrCard = page.locator('section.card', { has: page.getByRole('heading', { name: 'Your review of Mia' }) });
  expect.eq((await mgrCard.locator('.badge').first().textContent()).trim(), 'Shared');
  expect.ok((await mgrCard.innerText()).includes(`${story.rating} of 5`), 'the rating is in the shared review');

  // Ravi signs, then Mia (signed in at the same time in her own browser) reads and signs
  await page.getByRole('button', { name: 'Sign the review' }).click();
  await confirmDialog(page, { text: 'Sign this review? You cannot unsign it.', button: 'Sign' });
  expect.eq(await flash(page), 'You signed the review.');
  expect.eq(await page.getByRole('button', { name: 'Sign the review' }).count(), 0, 'he signed once');
  await snap(shot, '14 Ravi shared and signed', page);

  const mia = await openAs({ browser, baseURL, guard }, 'Mia Johansson');
  try {
    const todo = mia.page.getByRole('link', { name: `Read and sign your review for ${story.cycleName}` });
    expect.eq(await todo.count(), 1, 'Mia has a to-do to read and sign');
    await navigation(mia.page, () => todo.click());
    const shared = mia.page.locator('section.card', { has: mia.page.getByRole('heading', { name: "The manager's review" }) });
    const text = await shared.innerText();
    expect.ok(text.includes(story.managerText), "she reads Ravi's review");
    expect.ok(text.includes(`${story.rating} of 5`), 'she sees the rating');
    expect.ok(!(await mainText(mia.page)).includes(story.managerNotes), 'the private calibration note is hidden from her');
    await snap(shot, '15 Mia reads the shared review', mia.page);
    await mia.page.getByRole('button', { name: 'Sign the review' }).click();
    await confirmDialog(mia.page, { text: /^Sign this review\?/, button: 'Sign' });
    expect.eq(await flash(mia.page), 'You signed the review.');
    expect.match(await mainText(mia.page), /Signed by both on .+ This review is read-only\./);
    await snap(shot, '16 Mia signed', mia.page);
  } finally {
    await mia.close();
  }

  // Ravi's page now says the review is closed
  await page.reload();
  expect.match(await mainText(page), /Signed by both on .+ This review is read-only\./);
  expect.eq(await page.locator('form[action$="/answers/manager"]').count(), 0, 'a signed review is read-only');
  story.steps.add('signed');
});

test('review cycle: HR sees both signatures, the progress, the rating chart and the Excel export', async ({ page, shot }) => {
  after('signed');
  await signIn(page, 'Marcus Webb');
  await page.goto(`/cycles/${story.cycleId}`);
  const miaRow = page.locator('tbody tr', { has: page.getByRole('link', { name: 'Mia Johansson' }) });
  expect.eq(await miaRow.count(), 1);
  const cells = (await miaRow.locator('td').allInnerTexts()).map((s) => s.trim());
  expect.eq(cells[4], 'Submitted', 'self-assessment column');
  expect.eq(cells[5], 'Shared', 'manager review column');
  expect.eq(cells[6], 'Both', 'signed column');
  const others = page.locator('tbody tr').filter({ hasNot: page.getByRole('link', { name: 'Mia Johansson' }) });
  expect.eq(await others.count(), 5);
  expect.eq(JSON.stringify((await others.locator('td:nth-child(7)').allInnerTexts()).map((s) => s.trim())),
    JSON.stringify(['—', '—', '—', '—', '—']), 'nobody else signed');

  // progress: 1 of 6 in every row, shown as bars
  const progress = page.locator('section.card', { has: page.getByRole('heading', { name: 'Progress' }) });
  const nums = (await progress.locator('.progress-row .num').allInnerTexts()).map((s) => s.trim());
  expect.eq(JSON.stringify(nums), JSON.stringify(['1 / 6', '1 / 6', '1 / 6']));
  expect.eq(await progress.getByRole('img', { name: 'Signed: 17%' }).count(), 1, 'the "Signed by both" bar says 17%');
  expect.eq(await progress.locator('svg.progress-bar rect:nth-child(2)').first().getAttribute('width'), '17');
  expect.match(await progress.innerText(), /17% complete\./);

  // the rating distribution: an SVG drawn by the server with one bar for Ravi's rating
  const chart = page.locator('section.card', { has: page.getByRole('heading', { name: 'Ratings' }) }).locator('svg.chart');
  expect.eq(await chart.count(), 1, 'the rating chart is there');
  expect.eq(await chart.getAttribute('role'), 'img');
  expect.match(await chart.locator('title').first().textContent(), /Overall performance/);
  const bars = await chart.locator('rect.bar').evaluateAll((els) => els.map((e) => ({
    h: Number(e.getAttribute('height')), title: e.querySelector('title').textContent })));
  expect.eq(bars.length, 5, 'one bar per point of the scale');
  expect.eq(bars[story.rating - 1].title, 'Exceeds expectations: 1', 'the bar for rating 4 counts one review');
  expect.ok(bars[story.rating - 1].h > 0, 'the bar for rating 4 has a height');
  expect.eq(bars.filter((b) => b.h > 0).length, 1, 'no other bar has a height');
  expect.match(await page.locator('main').innerText(), /1 rating of “Overall performance”/);
  await snap(shot, '17 HR overview', page);

  // the status filter auto-submits and keeps only those signed by both
  await navigation(page, () => page.getByLabel('Status').selectOption({ label: 'Signed by both' }));
  expect.eq(new URL(page.url()).searchParams.get('status'), 'done');
  const names = (await page.locator('tbody tr .person-name').allInnerTexts()).map((s) => s.trim());
  expect.eq(JSON.stringify(names), JSON.stringify(['Mia Johansson']), 'only Mia is signed by both');

  // the Excel export answers with a spreadsheet
  await page.locator('summary', { hasText: 'More ▾' }).click();
  const link = page.getByRole('menuitem', { name: 'Export statistics (Excel)' });
  expect.ok(await link.isVisible(), 'the export is in the menu');
  const href = await link.getAttribute('href');
  expect.eq(href, `/cycles/${story.cycleId}/export.xlsx`);
  const res = await page.request.get(href);
  expect.eq(res.status(), 200, 'the export answers 200');
  expect.eq(res.headers()['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  const body = await res.body();
  expect.eq(body.subarray(0, 2).toString('latin1'), 'PK', 'the body is a zip (an .xlsx)');
  expect.match(res.headers()['content-disposition'] || '', /attachment.*-statistics\.xlsx/);
  await snap(shot, '18 HR overview filtered', page);
  story.steps.add('overview');
});

test('review cycle: an HR Assistant sees the statuses of a review but none of its answers', async ({ page, shot }) => {
  after('signed');
  await signIn(page, 'Lena Fischer');
  await page.goto(`/cycles/${story.cycleId}`);
  expect.eq((await page.locator('h1').textContent()).trim(), story.cycleName);
  expect.match(await page.locator('section.card', { has: page.getByRole('heading', { name: 'Ratings' }) }).innerText(),
    /Only those who may read review content see the ratings/);
  expect.eq(await page.locator('svg.chart').count(), 0, 'no rating chart for her');
  await navigation(page, () => page.getByRole('link', { name: 'Mia Johansson' }).click());
  expect.eq(new URL(page.url()).pathname, `/reviews/${story.reviewId}`);
  expect.eq((await page.locator('h1').textContent()).trim(), 'Review of Mia Johansson');

  // statuses: submitted, shared, both signed
  const text = await mainText(page);
  expect.match(text, /Signed by both on/);
  const status = page.locator('section.card', { has: page.getByRole('heading', { name: 'Status' }) });
  const items = (await status.locator('li').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
  expect.eq(items.length, 4, `four status lines (${JSON.stringify(items)})`);
  expect.ok(items.every((s) => !/—$/.test(s)), `every step has a date (${JSON.stringify(items)})`);
  expect.eq(await page.locator('section.card .badge', { hasText: 'Submitted' }).count(), 1, 'the self-assessment badge');
  expect.eq(await page.locator('section.card .badge', { hasText: 'Shared' }).count(), 1, 'the manager review badge');

  // ...and no answers: not Mia's, not Ravi's, not the rating, not the private note
  const html = await page.content();
  for (const [what, s] of [['her self-assessment', story.selfText], ['her focus', story.selfFocus],
    ["Ravi's review", story.managerText], ["Ravi's focus", story.managerFocus], ['the private note', story.managerNotes]]) {
    expect.ok(!html.includes(s), `${what} is not on the page`);
  }
  expect.ok(!/\d of 5/.test(text), 'no rating is shown');
  expect.eq(await page.locator('svg [data-marker]').count(), 0, 'no graph position is shown');
  expect.eq(await page.locator('textarea, input[type=radio]').count(), 0, 'nothing to write');
  expect.eq(await page.getByRole('link', { name: 'Download PDF' }).count(), 0, 'no PDF of the answers');

  // nor through the API or the PDF address
  const api = await page.request.get(`/api/reviews/${story.reviewId}`);
  expect.eq(api.status(), 200, 'she may read the review\'s statuses through the API');
  const json = await api.json();
  expect.eq(json.reviewee_signed_at !== null && json.manager_signed_at !== null, true, 'the API has both signatures');
  expect.eq(json.self_answers, undefined, 'the API gives her no self-assessment answers');
  expect.eq(json.manager_answers, undefined, 'the API gives her no manager answers');
  const pdf = await page.request.get(`/reviews/${story.reviewId}/pdf`);
  expect.eq(pdf.status(), 403, 'the PDF is refused');
  await snap(shot, '19 HR assistant review statuses', page);
});

/**
 * Opens a manager's team in an org chart (a <details> whose <summary> holds the person): a
 * click on the ▸ in front of the name, as a person would (a click on the name itself follows
 * the link or ticks the box).
 */
async function openTeam(page, name) {
  const details = page.locator('details', { has: page.locator('> summary', { has: page.getByText(name, { exact: true }) }) });
  expect.eq(await details.count(), 1, `one team of ${name} in the org chart`);
  if (await details.getAttribute('open') !== null) return;
  await details.locator('> summary').scrollIntoViewIfNeeded();
  const box = await details.locator('> summary').boundingBox();
  await page.mouse.click(box.x + 4, box.y + box.height / 2);
  expect.eq(await details.getAttribute('open'), '', `the team of ${name} opened`);
}

/** Waits until locator's text matches re. */
async function expectText(locator, re, timeout = 10000) {
  const end = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = ((await locator.textContent()) || '').trim();
    if (re.test(last)) return last;
    if (Date.now() > end) throw new Error(`${re} never matched; the text stayed ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the review's saved answers of author (as its API returns them) satisfy ok. */
async function waitForAutosave(page, reviewId, author, ok, timeout = 10000) {
  const end = Date.now() + timeout;
  let answers = null;
  for (;;) {
    const res = await page.request.get(`/api/reviews/${reviewId}`);
    if (res.ok()) {
      const v = await res.json();
      answers = author === 'self' ? v.self_answers : v.manager_answers;
      if (answers && ok(answers)) return answers;
    }
    if (Date.now() > end) throw new Error(`the ${author} draft was not saved as expected: ${JSON.stringify(answers)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
