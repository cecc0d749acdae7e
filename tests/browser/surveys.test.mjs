// A pulse survey from end to end, as the people involved see it: Lena Fischer (HR Assistant), on a
// laptop, creates a survey of five selected colleagues and launches it; Mia Johansson, on her phone,
// follows the to-do on her home page and answers from the keyboard; four colleagues answer too;
// Lena ends the survey and reads the results — scores, distribution, comments — on the laptop and
// on a phone. Every page is checked at 1366 and 390 px and photographed
// (tests/artifacts/screenshots/surveys-*.png).
import { test, expect } from './lib/runner.mjs';
import { openAs, navigation, flash, snap, mainText, fits, confirmDialog } from './lib/session.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const LAPTOP = { viewport: { width: 1366, height: 900 } };
const DOMAIN = 'northwind.example';
const PEOPLE = ['mia.johansson', 'julia.nowak', 'felix.wagner', 'arjun.mehta', 'chloe.martin'];

const story = { title: `Team pulse Ünïcode ${process.pid}`, surveyId: null, roundId: null, steps: new Set() };

function after(step) {
  if (!story.steps.has(step)) throw new Error(`the earlier step "${step}" did not finish, so this one cannot run`);
}

test('surveys: an HR Assistant creates and launches a survey of five colleagues', async ({ browser, baseURL, guard, shot }) => {
  const lena = await openAs({ browser, baseURL, guard }, 'Lena Fischer', LAPTOP);
  const { page } = lena;
  try {
    await navigation(page, () => page.locator('#main-nav').getByRole('link', { name: 'Surveys' }).click());
    expect.eq(new URL(page.url()).pathname, '/surveys');
    await fits(page, 1366, 'the survey list');
    await navigation(page, () => page.getByRole('link', { name: 'New survey' }).click());
    expect.eq(await page.getByLabel('Title').inputValue(), 'Monthly Pulse Survey', 'the default title');
    await page.getByLabel('Title').fill(story.title);
    await page.getByLabel('Introduction').fill('Two minutes, anonymous.');
    // a mistake first: selected people without anyone named comes back with what was typed
    await page.getByRole('radio', { name: 'Selected people' }).check();
    await navigation(page, () => page.getByRole('button', { name: 'Save the draft' }).click());
    expect.eq(new URL(page.url()).pathname, '/surveys/new');
    expect.eq(await page.getByLabel('Title').inputValue(), story.title, 'the title is kept');
    expect.ok((await mainText(page)).includes('Pick the people who take part'), 'says what is missing');
    await page.getByLabel(/Their emails/).fill(PEOPLE.map((p) => `${p}@${DOMAIN}`).join(', '));
    await page.getByLabel('Days to answer').fill('3');
    await fits(page, 1366, 'the survey form');
    await snap(shot, '01 new survey', page);
    await navigation(page, () => page.getByRole('button', { name: 'Save the draft' }).click());
    const m = new URL(page.url()).pathname.match(/^\/surveys\/(\d+)$/);
    expect.ok(m, `taken to the survey's page (at ${page.url()})`);
    story.surveyId = Number(m[1]);
    expect.match(await flash(page), /saved as a draft/);
    await navigation(page, () => page.getByRole('button', { name: 'Launch the survey' }).click());
    expect.match(await flash(page), /^Launched/);
    await page.reload();
    expect.ok((await mainText(page)).includes('0 of 5'), 'round 1 is open for the five');
    await fits(page, 1366, "the survey's page");
    await snap(shot, '02 survey page', page);
    story.steps.add('launched');
  } finally {
    await lena.close();
  }
});

test('surveys: an employee answers on her phone from the home to-do, with the keyboard', async ({ browser, baseURL, guard, shot }) => {
  after('launched');
  const mia = await openAs({ browser, baseURL, guard }, 'Mia Johansson', PHONE);
  const { page } = mia;
  try {
    const todo = page.getByRole('link', { name: `Answer the pulse survey "${story.title}"` });
    await navigation(page, () => todo.click());
    const m = new URL(page.url()).pathname.match(/^\/surveys\/rounds\/(\d+)$/);
    expect.ok(m, `the answer page (at ${page.url()})`);
    story.roundId = Number(m[1]);
    await fits(page, 390, 'the answer page');
    await snap(shot, '03 answer on a phone', page);
    // the keyboard: focus the first score of each question, move with the arrows (radio groups)
    await page.locator('input[name="q1"][value="1"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight'); // 4
    await page.locator('input[name="q2"][value="1"]').focus();
    await page.keyboard.press('ArrowRight'); // 2
    await page.locator('input[name="q3"][value="1"]').focus();
    for (let i = 0; i < 7; i++) await page.keyboard.press('ArrowRight'); // 8
    expect.eq(await page.locator('input[name="q1"]:checked').getAttribute('value'), '4');
    await page.getByLabel(/Anything you would like to add/).fill('Fewer meetings, please ☕');
    await page.getByRole('button', { name: 'Send my answers' }).focus();
    await navigation(page, () => page.keyboard.press('Enter'));
    expect.eq(await flash(page), 'Thank you: your answers are in, anonymously.');
    expect.ok((await mainText(page)).includes('your answers are in'), 'the page says so');
    await snap(shot, '04 answered', page);
    story.steps.add('answered');
  } finally {
    await mia.close();
  }
});

test('surveys: four more colleagues answer', async ({ browser, baseURL, guard }) => {
  after('answered');
  const scores = [[5, 3, 9], [3, 4, 7], [4, 2, 8], [5, 5, 10]];
  for (let i = 1; i < PEOPLE.length; i++) {
    const who = await openAs({ browser, baseURL, guard }, `${PEOPLE[i]}@${DOMAIN}`, LAPTOP);
    try {
      await who.page.goto(`/surveys/rounds/${story.roundId}`);
      const [a, b, c] = scores[i - 1];
      await who.page.locator(`input[name="q1"][value="${a}"]`).check();
      await who.page.locator(`input[name="q2"][value="${b}"]`).check();
      await who.page.locator(`input[name="q3"][value="${c}"]`).check();
      if (i === 1) await who.page.getByLabel(/Anything you would like to add/).fill('Great onboarding buddies');
      await navigation(who.page, () => who.page.getByRole('button', { name: 'Send my answers' }).click());
      expect.eq(await flash(who.page), 'Thank you: your answers are in, anonymously.');
    } finally {
      await who.close();
    }
  }
  story.steps.add('five answered');
});

test('surveys: HR ends the survey and reads the results on a laptop and a phone', async ({ browser, baseURL, guard, shot }) => {
  after('five answered');
  const lena = await openAs({ browser, baseURL, guard }, 'Lena Fischer', LAPTOP);
  const { page } = lena;
  try {
    await page.goto(`/surveys/${story.surveyId}/results`);
    expect.ok((await mainText(page)).includes('Results show once a round has closed'), 'nothing while it is open');
    await page.goto(`/surveys/${story.surveyId}`);
    expect.ok((await mainText(page)).includes('5 of 5'), 'everyone answered');
    await page.getByRole('button', { name: 'End the survey now' }).click();
    await confirmDialog(page, { text: /cannot be undone/, button: 'End the survey' });
    expect.match(await flash(page), /ended/);
    await navigation(page, () => page.getByRole('link', { name: 'Results', exact: true }).first().click());
    const text = await mainText(page);
    expect.ok(text.includes('4.2 average on 1–5'), `the first question's average (${text.slice(0, 400)})`);
    expect.ok(text.includes('Fewer meetings, please ☕'), "Mia's comment, without her name");
    expect.ok(text.includes('Great onboarding buddies'));
    expect.ok(!text.includes('Mia Johansson'), 'no respondent named');
    await fits(page, 1366, 'the results');
    await snap(shot, '05 results', page);
    const phone = await openAs({ browser, baseURL, guard }, 'Lena Fischer', PHONE);
    try {
      await phone.page.goto(`/surveys/${story.surveyId}/results`);
      await fits(phone.page, 390, 'the results on a phone');
      await snap(shot, '06 results on a phone', phone.page);
      await phone.page.goto(`/surveys/${story.surveyId}/participation`);
      await fits(phone.page, 390, 'participation on a phone');
    } finally {
      await phone.close();
    }
  } finally {
    await lena.close();
  }
});
