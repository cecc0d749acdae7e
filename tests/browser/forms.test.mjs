// Forms in a real browser follow post/redirect/get: a refused form ends on the form's own page,
// reached by a GET after a 303, with what was typed still in the fields and the message at the
// field; reloading that page posts nothing. Jonas Becker (a reviewee of the demo's running
// cycle who has not started) tries to submit his self-assessment without the required answer.
// Screenshots: tests/artifacts/screenshots/forms-*.png.
import { test, expect } from './lib/runner.mjs';
import { signIn, confirmDialog, navigation, snap } from './lib/session.mjs';

const WENT_WELL = 'What went well in this period? What are you proud of?';
const FOCUS = 'What should the focus be for the next period?';

test('forms: a refused submit ends on the review page by a GET, keeping the text; a reload posts nothing', async ({ page, shot }) => {
  await signIn(page, 'Jonas Becker');
  const todo = page.getByRole('link', { name: /^Write your self-assessment for / });
  expect.eq(await todo.count(), 1, 'the to-do on his home page');
  await navigation(page, () => todo.click());
  const reviewPath = new URL(page.url()).pathname;
  expect.match(reviewPath, /^\/reviews\/\d+$/);

  const typed = `Kept the build green all quarter — even through the freeze (${process.pid}). ✅`;
  await page.getByLabel(WENT_WELL).fill(typed);
  expect.eq(await page.getByLabel(FOCUS).inputValue(), '', 'the required question stays empty');
  const posts = [];
  page.on('request', (r) => { if (r.isNavigationRequest()) posts.push(r.method()); });
  const landed = page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().method() === 'GET'
    && new URL(r.url()).pathname === reviewPath);
  await page.getByRole('button', { name: 'Submit to your manager' }).click();
  await confirmDialog(page, { text: /^Submit your self-assessment\?/, button: 'Submit' });
  const res = await landed;
  expect.eq(res.status(), 200, 'the review page');
  expect.eq(res.request().redirectedFrom()?.method(), 'POST', 'reached by the redirect after the refused post');
  expect.eq(new URL(page.url()).pathname, reviewPath, 'the address is the review page, not the post address');

  expect.eq(await page.getByLabel(WENT_WELL).inputValue(), typed, 'the typed text is in its field');
  const focus = page.locator('.question', { has: page.getByLabel(FOCUS) });
  expect.match(await focus.getAttribute('class'), /has-error/, 'the unanswered question is marked');
  expect.match(await focus.locator('.field-error').innerText(), /needs an answer/);
  expect.match(await page.locator('main .alert').first().innerText(), /Answer the required questions before submitting/);
  await snap(shot, '1 refused submit', page);

  // a reload is a GET of the same page: no form is posted again, the draft is there, the message is gone
  posts.length = 0;
  const again = await page.reload();
  expect.eq(again.request().method(), 'GET');
  expect.eq(posts.join(','), 'GET', 'the reload posted nothing');
  expect.eq(await page.getByLabel(WENT_WELL).inputValue(), typed, 'the draft is stored');
  expect.eq(await page.locator('.question.has-error').count(), 0, 'the message was shown once');
  const badge = page.locator('section.card', { has: page.getByRole('heading', { name: 'Your self-assessment' }) })
    .locator('.badge').first();
  expect.eq((await badge.textContent()).trim(), 'Draft', 'not submitted');
});

test('forms: the question editor shows only the fields of each kind, and a refused save points at the field', async ({ page, browser, baseURL, shot }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/cycles/new');
  await page.getByLabel('Name').fill(`Questions ${process.pid}`);
  await navigation(page, () => page.getByRole('button', { name: 'Create and choose reviewees' }).click());
  const id = new URL(page.url()).pathname.match(/^\/cycles\/(\d+)\//)[1];
  await page.goto(`/cycles/${id}/questions`);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);

  // q1 is free text: no scale, labels or axes; q3 is the graph: axes only; q4 a rating: scale and labels only
  expect.eq(await page.locator('#s1_q1_scale').isVisible(), false, 'a text question has no scale');
  expect.eq(await page.locator('#s1_q1_x_label').isVisible(), false, 'nor axes');
  expect.eq(await page.locator('#s2_q1_x_label').isVisible(), true, 'the graph has its axes');
  expect.eq(await page.locator('#s2_q1_scale').isVisible(), false, 'but no scale');
  expect.eq(await page.locator('#s2_q2_scale').isVisible(), true, 'the rating has its scale');
  expect.eq(await page.locator('#s2_q2_x_label').isVisible(), false, 'but no axes');
  await page.locator('#s1_q1_type').selectOption('rating');
  expect.eq(await page.locator('#s1_q1_scale').isVisible(), true, 'choosing Rating shows the scale at once');
  await page.locator('#s1_q1_type').selectOption('text');

  // without the script every field is there and the form still works
  const plain = await browser.newContext({ baseURL, javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });
  const nojs = await plain.newPage();
  await signIn(nojs, 'Marcus Webb');
  await nojs.goto(`/cycles/${id}/questions`);
  expect.eq(await nojs.locator('#s1_q1_scale').isVisible(), true, 'without script: every field shows');
  const fullHeight = await nojs.evaluate(() => document.documentElement.scrollHeight);
  await plain.close();
  expect.ok(height < fullHeight * 0.8, `the page is shorter with only the fields in use (${height} px, ${fullHeight} px with all)`);
  console.log(`      question editor: ${height} px tall with the script, ${fullHeight} px without`);

  // a refused save: back on the editor, the problem listed at the top links to its field
  await page.locator('#s1_q1_text').fill('');
  await page.locator('#s2_title').fill('');
  await navigation(page, () => page.getByRole('button', { name: 'Save questions' }).click());
  expect.eq(new URL(page.url()).pathname, `/cycles/${id}/questions`, 'back on the editor by a GET');
  const summary = page.locator('.problem-summary');
  expect.match(await summary.innerText(), /2 things to fix/);
  await snap(shot, '2 question editor problems', page);
  await summary.getByRole('link', { name: /Write the question/ }).click();
  expect.eq(new URL(page.url()).hash, '#s1_q1_text');
  expect.ok(await page.locator('#s1_q1_text').isVisible(), 'the field is in view');
  expect.match(await page.locator('#s1_q1_text-error').innerText(), /Write the question/);
  expect.match(await page.locator('#s1_q1').getAttribute('class'), /has-error/, 'the question is highlighted');
});
