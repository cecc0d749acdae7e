// Choosing reviewees: what HR ticks in the org chart is still ticked in the list and back again,
// until it is added. Marcus Webb (HR Admin) makes a draft cycle, ticks Nora Walsh in the org
// chart, switches to the list, ticks Victor Dubois there, switches back and adds both.
// Screenshots: tests/artifacts/screenshots/reviewees-*.png.
import { test, expect } from './lib/runner.mjs';
import { signIn, navigation, flash, snap } from './lib/session.mjs';

test('reviewees: ticks survive switching between the org chart and the list, then are added together', async ({ page, shot }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/cycles/new');
  await page.getByLabel('Name').fill(`Picker ${process.pid}`);
  await navigation(page, () => page.getByRole('button', { name: /Create|Save/ }).click());
  const m = new URL(page.url()).pathname.match(/^\/cycles\/(\d+)\/reviewees$/);
  expect.ok(m, `the new cycle asks for reviewees (at ${page.url()})`);

  await navigation(page, () => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Org chart' }).click());
  const nora = page.locator('label.org-node', { hasText: 'Nora Walsh' }).locator('input');
  await nora.check();
  const noraId = await nora.getAttribute('value');

  await navigation(page, () => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'List' }).click());
  expect.eq(new URL(page.url()).searchParams.get('picked'), noraId, 'the tick travels in the address');
  expect.ok(await page.getByLabel('Select Nora Walsh').isChecked(), 'Nora is ticked in the list');
  const victor = page.getByLabel('Select Victor Dubois');
  await victor.check();
  const victorId = await victor.getAttribute('value');
  await snap(shot, '1 list with ticks', page);

  await navigation(page, () => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Org chart' }).click());
  expect.ok(await page.locator('label.org-node', { hasText: 'Nora Walsh' }).locator('input').isChecked(), 'Nora still ticked');
  const victorBox = page.locator('label.org-node', { hasText: 'Victor Dubois' }).locator('input');
  expect.ok(await victorBox.isVisible(), 'the branch down to Victor is open');
  expect.ok(await victorBox.isChecked(), 'Victor, ticked in the list, is ticked in the org chart');
  await snap(shot, '2 org chart with ticks', page);

  await navigation(page, () => page.getByRole('button', { name: 'Add the checked people' }).click());
  expect.eq(await flash(page), '2 reviewees added.');
  expect.match(await page.locator('.page-header').innerText(), /2 reviewees/);
  expect.ok(noraId && victorId);
});
