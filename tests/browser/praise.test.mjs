// Praise across a manager and a report, as they see it: Lucas Moreau (manager) praises Zoe Chen
// (his report) with a badge from the "+ New" menu; Zoe finds it on the wall and on her home page,
// likes it and comments; Lucas sees the like and the comment on the message; the wall's filters
// and the phone width. Every page is watched by the page guard and photographed
// (tests/artifacts/screenshots/praise-*.png), at 1366 and at 390 pixels wide.
import { test, expect } from './lib/runner.mjs';
import { signIn, openAs, navigation, flash, snap } from './lib/session.mjs';

const story = { text: `Zoe's migration plan saved us a week (${process.pid})`, messageId: null, steps: new Set() };

function after(step) {
  if (!story.steps.has(step)) throw new Error(`the earlier step "${step}" did not finish, so this one cannot run`);
}

test('praise: a manager praises a report with a badge from the + menu', async ({ page, shot }) => {
  await signIn(page, 'Lucas Moreau');
  await page.locator('details.quick-create > summary').click();
  await navigation(page, () => page.getByRole('menuitem', { name: 'Give praise' }).click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Praise');
  await page.getByLabel('Who deserves it').fill('Zoe Chen');
  await page.getByLabel('Message', { exact: true }).fill(story.text);
  await page.locator('label.badge-choice', { hasText: 'Great idea' }).click();
  await snap(shot, '01 give praise', page);
  await navigation(page, () => page.getByRole('button', { name: 'Send', exact: true }).click());
  const m = new URL(page.url()).pathname.match(/^\/messages\/(\d+)$/);
  expect.ok(m, `after sending, the message's page (at ${page.url()})`);
  story.messageId = Number(m[1]);
  expect.eq(await flash(page), 'Sent.');
  const card = page.locator('article.message-card');
  expect.match(await card.innerText(), /Great idea/);
  expect.match(await card.innerText(), /Zoe Chen/);
  await snap(shot, '02 the praise', page);
  story.steps.add('given');
});

test('praise: the report finds it on the wall and on her home page, likes it and comments', async ({ page, shot }) => {
  after('given');
  await signIn(page, 'Zoe Chen');
  expect.match(await page.locator('main').innerText(), new RegExp(story.text.slice(0, 20)));
  await snap(shot, '03 home stream', page);
  await page.goto('/praise');
  const card = page.locator('article.message-card', { hasText: story.text });
  expect.eq(await card.count(), 1, 'the praise is on the wall');
  await navigation(page, () => card.getByRole('button', { name: /Like/ }).click());
  const liked = page.locator('article.message-card', { hasText: story.text });
  expect.eq(await liked.getByRole('button', { name: /Liked/ }).getAttribute('aria-pressed'), 'true');
  await snap(shot, '04 wall liked', page);
  await navigation(page, () => liked.getByRole('link', { name: /comment/ }).click());
  await page.getByLabel('Add a comment').fill('Thank you, Lucas!');
  await navigation(page, () => page.getByRole('button', { name: 'Comment', exact: true }).click());
  expect.eq(await flash(page), 'Comment added.');
  expect.match(await page.locator('#comments').innerText(), /Thank you, Lucas!/);
  await snap(shot, '05 comment', page);
  story.steps.add('liked');
});

test('praise: the manager sees the like and the comment; the wall filters by department and badge', async ({ page, shot }) => {
  after('liked');
  await signIn(page, 'Lucas Moreau');
  await page.goto(`/messages/${story.messageId}`);
  const text = await page.locator('main').innerText();
  expect.match(text, /Liked · 1|Like this praise · 1|· 1/);
  expect.match(text, /Thank you, Lucas!/);
  await page.goto('/praise');
  await page.getByLabel('Department').selectOption('Engineering');
  await page.getByLabel('Badge').selectOption({ label: '💡 Great idea' });
  await navigation(page, () => page.getByRole('button', { name: 'Filter' }).click());
  expect.eq(await page.locator('article.message-card', { hasText: story.text }).count(), 1);
  await snap(shot, '06 wall filtered', page);
  await page.getByLabel('Department').selectOption('Sales');
  await navigation(page, () => page.getByRole('button', { name: 'Filter' }).click());
  expect.match(await page.locator('main').innerText(), /No praise matches these filters/);
});

test('praise: at 390 pixels the wall, the dialog and my messages fit the screen', async ({ browser, baseURL, guard, shot }) => {
  after('given');
  const zoe = await openAs({ browser, baseURL, guard }, 'Zoe Chen');
  const page = zoe.page || zoe;
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [path, name] of [['/praise', '07 wall phone'], ['/messages/new?kind=praise', '08 dialog phone'],
    ['/messages?tab=received', '09 messages phone'], [`/messages/${story.messageId}`, '10 message phone']]) {
    await page.goto(path);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    expect.ok(wide <= 390, `${path} is ${wide}px wide at 390`);
    await snap(shot, name, page);
  }
  await (zoe.close ? zoe.close() : page.context().close());
});

test('praise: names are suggested as you type, each one after the names already chosen', async ({ page, shot }) => {
  await signIn(page, 'Lucas Moreau');
  await page.goto('/messages/new?kind=praise');
  const box = page.getByLabel('Who deserves it');
  const options = page.locator('#recipient-options option');
  await box.pressSequentially('zoe ch');
  await page.waitForFunction(() => document.querySelectorAll('#recipient-options option').length > 0);
  expect.eq(await options.first().getAttribute('value'), 'Zoe Chen', 'the first name typed is suggested alone');
  await box.fill('Zoe Chen, ');
  await box.pressSequentially('luc');
  await page.waitForFunction(() => [...document.querySelectorAll('#recipient-options option')].some((o) => o.value.includes('Lucas')));
  const values = await options.evaluateAll((list) => list.map((o) => o.value));
  expect.ok(values.length > 0 && values.every((v) => v.startsWith('Zoe Chen, ')), `suggestions keep the name before: ${JSON.stringify(values)}`);
  expect.ok(values.includes('Zoe Chen, Lucas Moreau'), `Lucas Moreau is suggested: ${JSON.stringify(values)}`);
  await snap(shot, '09 suggestions', page);
});
