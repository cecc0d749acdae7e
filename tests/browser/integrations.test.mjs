// A Tech Admin (Tom Okafor) sets up a webhook in the browser: Administration › Integrations ›
// Webhooks › New webhook (this server's address written out is refused at once); the secret is
// shown once; a test ping to this very server through its name is refused (the server does not
// call itself). Then a hook: the form's Check, saving, a dry-run test showing
// the request it would make. Every integrations page fits 1366 and 390 pixels
// (tests/artifacts/screenshots/integrations-*.png). Both are removed at the end.
import { test, expect } from './lib/runner.mjs';
import { signIn, navigation, flash, snap, pagesFit } from './lib/session.mjs';

const TECH = 'Tom Okafor';
const story = { name: `Browser HR system ${process.pid}`, id: null, delivery: null, hook: null };

test('integrations: a Tech Admin creates a webhook; its secret is shown once', async ({ page, shot, baseURL }) => {
  await signIn(page, TECH);
  await page.goto('/admin');
  await navigation(page, () => page.locator('main a[href="/admin/integrations"]').first().click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Integrations');
  await navigation(page, () => page.getByRole('link', { name: 'Webhooks', exact: true }).last().click());
  await navigation(page, () => page.getByRole('link', { name: 'New webhook' }).click());
  await page.getByLabel('Name', { exact: true }).fill(story.name);
  await page.getByLabel('URL', { exact: true }).fill(`${baseURL}/nowhere`);
  await page.getByLabel('Events', { exact: true }).fill('person.*, review.signed');
  await navigation(page, () => page.getByRole('button', { name: 'Create webhook' }).click());
  // this server's own address, written out, is refused at once; what was typed is kept
  expect.match(await page.locator('main').innerText(), /127\.0\.0\.1 is this machine/);
  expect.eq(await page.getByLabel('Events', { exact: true }).inputValue(), 'person.*, review.signed');
  await snap(shot, '01 new webhook', page);
  // a name that leads there is only found out when Candor connects
  await page.getByLabel('URL', { exact: true }).fill(`${baseURL.replace('127.0.0.1', 'localhost')}/nowhere`);
  await navigation(page, () => page.getByRole('button', { name: 'Create webhook' }).click());
  const m = new URL(page.url()).pathname.match(/^\/admin\/webhooks\/(\d+)$/);
  expect.ok(m, `the webhook's page after creating it (at ${page.url()})`);
  story.id = Number(m[1]);
  const secret = (await page.locator('#new-secret').textContent()).trim();
  expect.match(secret, /^whsec_/);
  await snap(shot, '02 the secret, once', page);
  await page.reload();
  expect.eq(await page.locator('#new-secret').count(), 0, 'a reload shows the secret no more');
  expect.eq((await page.locator('main').innerText()).includes(secret), false);
});

test('integrations: a test ping to this server is refused, and the log says why', async ({ page, shot }) => {
  expect.ok(story.id, 'the webhook of the first test');
  await signIn(page, TECH);
  await page.goto(`/admin/webhooks/${story.id}`);
  await navigation(page, () => page.getByRole('button', { name: 'Send a test ping' }).click());
  expect.match(await page.locator('main .alert[role="alert"]').first().textContent(), /not delivered: refused to connect/);
  story.delivery = new URL(page.url()).pathname;
  expect.match(story.delivery, /^\/admin\/webhooks\/\d+\/deliveries\/\d+$/);
  expect.match(await page.locator('main').innerText(), /webhook\.ping/);
  await snap(shot, '03 the refused ping', page);
});

test('integrations: a hook is checked, saved and tried in a dry run', async ({ page, shot }) => {
  await signIn(page, TECH);
  await page.goto('/admin/hooks/new');
  await page.getByLabel('Name', { exact: true }).fill(`Browser hook ${process.pid}`);
  await page.getByLabel('Events', { exact: true }).fill('person.created');
  await page.getByLabel('Hosts it may call').fill('hr.example.com');
  await page.getByLabel('Script', { exact: true }).fill('return function(event)\n  http.request{ method = "POST", '
    + 'url = "https://hr.example.com/people", json = { id = event.data.person_id } }\nend\n');
  await navigation(page, () => page.getByRole('button', { name: 'Check' }).click());
  expect.match(await page.locator('main .alert').first().textContent(), /loads and returns a function/);
  expect.match(await page.getByLabel('Script', { exact: true }).inputValue(), /hr\.example\.com/, 'the text is kept');
  await snap(shot, '04 hook checked', page);
  await navigation(page, () => page.getByRole('button', { name: 'Create hook' }).click());
  const m = new URL(page.url()).pathname.match(/^\/admin\/hooks\/(\d+)$/);
  expect.ok(m, `the hook's page after saving (at ${page.url()})`);
  story.hook = Number(m[1]);
  await page.getByLabel('Data (JSON)').fill('{"person_id": 5}');
  await navigation(page, () => page.getByRole('button', { name: 'Run the test' }).click());
  const result = await page.locator('#test').innerText();
  expect.match(result, /It ran to the end/);
  expect.match(result, /POST https:\/\/hr\.example\.com\/people/);
  await snap(shot, '05 hook dry run', page);
});

test('integrations: every integrations page fits 390 and 1366 pixels', async ({ browser, baseURL, guard, shot }) => {
  expect.ok(story.delivery, 'the ping of the second test');
  expect.ok(story.hook, 'the hook of the third test');
  const paths = ['/admin/integrations', '/admin/webhooks', '/admin/webhooks/new', `/admin/webhooks/${story.id}`,
    `/admin/webhooks/${story.id}/edit`, story.delivery, '/admin/hooks', '/admin/hooks/new', `/admin/hooks/${story.hook}`,
    `/admin/hooks/${story.hook}/edit`, `/admin/hooks/${story.hook}/versions/1`];
  const problems = await pagesFit({ browser, baseURL, guard, shot }, TECH, paths);
  expect.eq(problems.join('\n'), '', 'layout problems');
});

test('integrations: the webhook and the hook are removed', async ({ page }) => {
  expect.ok(story.id, 'the webhook of the first test');
  await signIn(page, TECH);
  if (story.hook) {
    await page.goto(`/admin/hooks/${story.hook}`);
    const hookForm = page.locator(`form[action="/admin/hooks/${story.hook}/delete"]`);
    await hookForm.evaluate((f) => f.removeAttribute('data-confirm'));
    await navigation(page, () => hookForm.getByRole('button', { name: 'Remove hook' }).click());
    expect.match(await flash(page), /was removed/);
  }
  await page.goto(`/admin/webhooks/${story.id}`);
  page.once('dialog', (d) => d.accept());
  const form = page.locator(`form[action="/admin/webhooks/${story.id}/delete"]`);
  await form.evaluate((f) => f.removeAttribute('data-confirm'));
  await navigation(page, () => form.getByRole('button', { name: 'Remove webhook' }).click());
  expect.match(await flash(page), /was removed/);
});
