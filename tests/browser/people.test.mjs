// The people pages as people use them: the directory's filters (a select submits by
// itself) and sorting; the actions menu of a person, opened from the keyboard, offering only
// what the viewer may do (an employee has none, an HR Assistant a few, an HR Admin can
// deactivate); deactivating asks first and Cancel changes nothing; the org chart opens a team;
// adding a person with an invalid email keeps what was typed. The page guard watches every
// page (no CSP violation, console error or broken resource); screenshots land in
// tests/artifacts/screenshots/people-*.png. Nothing here changes the demo company.
import { test, expect } from './lib/runner.mjs';
import { signIn, openAs, confirmDialog, navigation, snap } from './lib/session.mjs';

const ENGINEERING = ['Ava Thompson', 'Daniel Kim', 'Emma Schulz', 'Ethan Brooks', 'Hana Sato', 'Isabel Costa',
  'Jonas Becker', 'Leo Rossi', 'Lucas Moreau', 'Mia Johansson', 'Noah Williams', 'Omar Haddad', 'Ravi Shankar',
  'Samuel Adeyemi', 'Zoe Chen'];

/** The directory's rows as { name, department, location, manager, hired }. */
async function rows(page) {
  return page.locator('main tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const td = [...tr.querySelectorAll('td')].map((c) => c.innerText.replace(/\s+/g, ' ').trim());
    return { name: tr.querySelector('.person-name').textContent.trim(), department: td[1], location: td[2],
      manager: td[3], hired: td[4] };
  }));
}

/** "3 Mar 2021" -> a sortable number (NaN for anything else). */
function day(s) {
  const t = Date.parse(`${s} UTC`);
  return Number.isNaN(t) ? NaN : t / 86400000;
}

/** Presses Tab until the focused element matches selector (at most `max` presses); returns the count. */
async function tabTo(page, selector, max = 8) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => document.activeElement && document.activeElement.matches(sel), selector)) return i;
  }
  const at = await page.evaluate(() => document.activeElement && document.activeElement.outerHTML.slice(0, 120));
  throw new Error(`${max} presses of Tab did not reach ${selector} (focus is on ${at})`);
}

/** Opens the actions menu of `name` in the directory from the keyboard; returns its menu items' texts. */
async function openMenuByKeyboard(page, name) {
  const summary = page.locator(`summary[aria-label="Actions for ${name}"]`);
  expect.eq(await summary.count(), 1, `one actions menu for ${name}`);
  // start from the person's name link in the same row, then Tab to the menu's summary
  await page.locator('main tbody tr', { has: summary }).locator('a.person-name').focus();
  await tabTo(page, `summary[aria-label="Actions for ${name}"]`);
  expect.eq(await summary.evaluate((el) => el.matches(':focus-visible')), true, 'the summary shows keyboard focus');
  const details = page.locator('details.menu', { has: summary });
  expect.eq(await details.getAttribute('open'), null, 'the menu starts closed');
  await page.keyboard.press('Enter');
  expect.eq(await details.getAttribute('open'), '', 'Enter opens the menu');
  const items = details.getByRole('menuitem');
  await items.first().waitFor({ state: 'visible' });
  // a person sees every item: none is cut off by a box around the table (overflow)
  const cut = await details.locator('.menu-items').evaluate((menu) => {
    const r = menu.getBoundingClientRect();
    for (let a = menu.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const b = a.getBoundingClientRect();
      if (r.top < b.top - 1 || r.bottom > b.bottom + 1 || r.left < b.left - 1 || r.right > b.right + 1) {
        return `${a.tagName.toLowerCase()}.${a.className} (overflow ${s.overflowX}/${s.overflowY})`;
      }
    }
    return null;
  });
  expect.eq(cut, null, `the open menu of ${name} is cut off by`);
  return (await items.allInnerTexts()).map((s) => s.trim());
}

test('people: the directory filters by department (the select submits itself), location and manager', async ({ page, shot }) => {
  await signIn(page, 'Zoe Chen');
  const res = await page.goto('/people');
  expect.eq(res.status(), 200);
  expect.eq((await page.locator('h1').textContent()).trim(), 'People');
  expect.match(await page.locator('.page-header .muted').first().textContent(), /^48 people$/, 'everyone but the guest');
  const all = await rows(page);
  expect.eq(all.length, 48, 'one page of 48 rows');
  expect.ok(!all.some((r) => r.name === 'Alex Morgan'), 'an employee does not see the guest');
  const names = all.map((r) => r.name);
  expect.eq(JSON.stringify(names), JSON.stringify([...names].sort((a, b) => a.localeCompare(b))), 'sorted by name at first');

  // choosing a department submits the filter by itself (no Apply needed)
  await navigation(page, () => page.getByLabel('Department').selectOption('Engineering'));
  expect.eq(new URL(page.url()).searchParams.get('department'), 'Engineering');
  expect.eq(await page.getByLabel('Department').inputValue(), 'Engineering', 'the choice stays selected');
  const eng = await rows(page);
  expect.eq(JSON.stringify(eng.map((r) => r.name)), JSON.stringify(ENGINEERING), 'exactly the engineers, by name');
  expect.ok(eng.every((r) => r.department === 'Engineering'));
  expect.match(await page.locator('.page-header .muted').first().textContent(), /^15 people$/);
  expect.eq(await page.getByRole('link', { name: 'Clear' }).count(), 1, 'a filtered list offers Clear');
  await snap(shot, '1 directory filtered by department', page);

  // a second filter narrows further; the first one is kept
  await navigation(page, () => page.getByLabel('Location').selectOption('London'));
  const url = new URL(page.url());
  expect.eq(url.searchParams.get('department'), 'Engineering');
  expect.eq(url.searchParams.get('location'), 'London');
  expect.eq(JSON.stringify((await rows(page)).map((r) => r.name)), JSON.stringify(['Omar Haddad', 'Samuel Adeyemi']));

  // the manager filter, a type-ahead: typing suggests managers' names, Enter filters by the one taken
  await navigation(page, () => page.getByRole('link', { name: 'Clear' }).click());
  expect.eq(new URL(page.url()).search, '', 'Clear drops every filter');
  const manager = page.getByLabel('Manager');
  await manager.fill('Ravi');
  await page.waitForFunction(() => [...document.querySelectorAll('#manager-names option')]
    .some((o) => o.value === 'Ravi Shankar'));
  await manager.fill('Ravi Shankar');
  await navigation(page, () => manager.press('Enter'));
  expect.eq(new URL(page.url()).searchParams.get('manager'), 'Ravi Shankar');
  const team = await rows(page);
  expect.eq(JSON.stringify(team.map((r) => r.name)), JSON.stringify(['Lucas Moreau', 'Mia Johansson', 'Omar Haddad']));
  expect.ok(team.every((r) => r.manager === 'Ravi Shankar'), 'each of them has Ravi as manager');

  // a search with no match says so
  await page.getByLabel('Search').fill('nobody-by-this-name');
  await navigation(page, () => page.getByRole('button', { name: 'Apply' }).click());
  expect.match(await page.locator('main').innerText(), /Nobody matches/);
});

test('people: the directory sorts by a column, both ways, keeping the filter', async ({ page, shot }) => {
  await signIn(page, 'Zoe Chen');
  await page.goto('/people?department=Engineering');
  const hired = page.getByRole('columnheader').getByRole('link', { name: 'Hired' });
  expect.eq(await hired.getAttribute('aria-sort'), 'none');
  await navigation(page, () => hired.click());
  let url = new URL(page.url());
  expect.eq(url.searchParams.get('sort'), 'hire_date');
  expect.eq(url.searchParams.get('order'), 'asc');
  expect.eq(url.searchParams.get('department'), 'Engineering', 'sorting keeps the filter');
  const asc = await rows(page);
  expect.eq(asc.length, 15);
  const ascDays = asc.map((r) => day(r.hired));
  expect.ok(ascDays.every((d) => !Number.isNaN(d)), `every engineer has a hire date (${asc.map((r) => r.hired)})`);
  expect.ok(ascDays.every((d, i) => i === 0 || ascDays[i - 1] <= d), `oldest hire first (${asc.map((r) => r.hired)})`);
  expect.ok(ascDays[0] < ascDays[ascDays.length - 1], 'the hire dates differ');
  expect.eq(await page.getByRole('columnheader').getByRole('link', { name: /^Hired/ }).getAttribute('aria-sort'), 'ascending');
  await snap(shot, '2 directory sorted by hire date', page);

  // the same header again: newest first
  await navigation(page, () => page.getByRole('columnheader').getByRole('link', { name: /^Hired/ }).click());
  url = new URL(page.url());
  expect.eq(url.searchParams.get('order'), 'desc');
  const descDays = (await rows(page)).map((r) => day(r.hired));
  expect.eq(JSON.stringify(descDays), JSON.stringify([...ascDays].reverse()), 'the same people, newest first');
  expect.eq(await page.getByRole('columnheader').getByRole('link', { name: /^Hired/ }).getAttribute('aria-sort'), 'descending');

  // sorting by location groups them
  await navigation(page, () => page.getByRole('columnheader').getByRole('link', { name: 'Location' }).click());
  const locs = (await rows(page)).map((r) => r.location);
  expect.eq(JSON.stringify(locs), JSON.stringify([...locs].sort()), `by location (${locs})`);
});

test('people: an employee gets no actions menu; an HR Admin opens one from the keyboard and can deactivate', async ({ page, browser, baseURL, guard, shot }) => {
  // Zoe Chen, an employee, may take no action on anyone: no menu at all, no Deactivate anywhere
  await signIn(page, 'Zoe Chen');
  await page.goto('/people');
  expect.eq(await page.locator('main tbody tr').count(), 48);
  expect.eq(await page.locator('summary[aria-label^="Actions for"]').count(), 0, 'no actions menu for an employee');
  expect.eq(await page.getByRole('button', { name: 'Deactivate', includeHidden: true }).count(), 0, 'no Deactivate in the page');
  expect.eq(await page.locator('form[action$="/deactivate"]').count(), 0, 'no deactivate form in the page');
  await page.goto('/people?q=Marcus');
  await navigation(page, () => page.getByRole('link', { name: 'Marcus Webb' }).click());
  expect.eq(await page.locator('main details.menu').count(), 0, "no menu on Marcus's profile for her");

  // Marcus Webb, HR Admin, signed in at the same time: Zoe's menu opens with Tab + Enter and has Deactivate
  const marcus = await openAs({ browser, baseURL, guard }, 'Marcus Webb');
  try {
    await checkAdminMenu(marcus.page, shot);
  } finally {
    await marcus.close();
  }
});

async function checkAdminMenu(page, shot) {
  await page.goto('/people?department=Engineering');
  const items = await openMenuByKeyboard(page, 'Zoe Chen');
  expect.ok(items.includes('Deactivate'), `Deactivate is offered for Zoe (items: ${items})`);
  for (const want of ['View profile', 'Edit details and manager', 'Edit roles', 'Lock account']) {
    expect.ok(items.includes(want), `${want} is offered (items: ${items})`);
  }
  await snap(shot, '3 HR admin actions menu', page);
  // Tab moves into the open menu; Escape closes it and gives the focus back to its summary
  await page.keyboard.press('Tab');
  expect.eq(await page.evaluate(() => document.activeElement.getAttribute('role')), 'menuitem', 'Tab enters the menu');
  await page.keyboard.press('Escape');
  const details = page.locator('details.menu', { has: page.locator('summary[aria-label="Actions for Zoe Chen"]') });
  expect.eq(await details.getAttribute('open'), null, 'Escape closes the menu');
  expect.eq(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Actions for Zoe Chen',
    'the focus is back on the summary');

  // his own menu has no Deactivate (nobody deactivates themself)
  await page.goto('/people?q=Marcus');
  const own = await openMenuByKeyboard(page, 'Marcus Webb');
  expect.ok(!own.includes('Deactivate'), `no Deactivate on his own row (items: ${own})`);
  expect.ok(own.includes('View profile'));
}

test('people: an HR Assistant\'s menu lists only what she may do', async ({ page, shot }) => {
  await signIn(page, 'Lena Fischer');
  await page.goto('/people?department=Engineering');
  const items = await openMenuByKeyboard(page, 'Zoe Chen');
  expect.eq(JSON.stringify(items), JSON.stringify(['View profile', 'Edit details']), 'view and edit, nothing else');
  expect.eq(await page.locator('form[action$="/deactivate"], form[action$="/delete"], form[action$="/lock"]').count(), 0,
    'no deactivate, delete or lock form anywhere in the page');
  await snap(shot, '4 HR assistant actions menu', page);
  await navigation(page, () => page.getByRole('menuitem', { name: 'View profile' }).click());
  expect.eq((await page.locator('h1').textContent()).trim(), 'Zoe Chen');
});

test('people: deactivating through the menu asks first, and Cancel keeps the person active', async ({ page, shot }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/people?q=Zoe');
  const row = page.locator('main tbody tr', { has: page.getByRole('link', { name: 'Zoe Chen' }) });
  expect.eq((await row.locator('td').nth(5).innerText()).trim(), 'active');
  const items = await openMenuByKeyboard(page, 'Zoe Chen');
  expect.ok(items.includes('Deactivate'));
  // reach Deactivate with Tab and press Enter, as a keyboard user would
  await tabTo(page, 'details.menu[open] button[role="menuitem"].danger:is(form[action$="/deactivate"] *)', 12);
  let posted = 0;
  page.on('request', (r) => { if (r.method() === 'POST' && /\/deactivate$/.test(r.url())) posted++; });
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ state: 'visible' });
  expect.eq((await dialog.locator('#confirm-ok').textContent()).trim(), 'Deactivate', 'the confirm button says what it does');
  expect.eq(await dialog.locator('#confirm-ok').getAttribute('class'), 'btn btn-danger', 'taking access away is red');
  await snap(shot, '5 deactivate confirmation', page);
  const said = await confirmDialog(page, { text: /^Deactivate Zoe Chen\? They are signed out/, button: 'Cancel' });
  expect.match(said, /Their history stays\./);
  expect.eq(posted, 0, 'nothing was sent');
  expect.eq(new URL(page.url()).pathname, '/people', 'still on the directory');

  // still active, as the server says after a reload, and on her profile
  await page.reload();
  expect.eq((await row.locator('td').nth(5).innerText()).trim(), 'active');
  await navigation(page, () => row.getByRole('link', { name: 'Zoe Chen' }).click());
  expect.match(await page.locator('main .dl').innerText(), /Status\s+active/);
  expect.eq(await page.locator('main .page-actions .badge-bad').count(), 0, 'no status badge on an active person');
});

test('people: the org chart opens a team and leads to a profile', async ({ page, shot }) => {
  await signIn(page, 'Zoe Chen');
  await page.goto('/org');
  expect.eq((await page.locator('h1').textContent()).trim(), 'Org chart');
  expect.match(await page.locator('.page-header .muted').textContent(), /^48 people\./);
  const ravi = page.locator('details', { has: page.locator('> summary', { hasText: 'Ravi Shankar' }) });
  expect.eq(await ravi.count(), 1);
  expect.eq(await ravi.getAttribute('open'), null, "Ravi's team (three levels down) starts closed");
  expect.eq((await ravi.locator('> summary .count').textContent()).trim(), '5', 'the size of his whole team');
  const mia = page.getByRole('link', { name: /Mia Johansson/ });
  expect.eq(await mia.isVisible(), false, 'Mia is hidden in the closed team');
  // the ▸ in front of his name opens the team (the name itself is a link to his profile)
  const box = await ravi.locator('> summary').boundingBox();
  await page.mouse.click(box.x + 4, box.y + box.height / 2);
  expect.eq(await ravi.getAttribute('open'), '', 'his team opened');
  await mia.waitFor({ state: 'visible' });
  for (const name of ['Lucas Moreau', 'Omar Haddad']) {
    expect.ok(await ravi.getByRole('link', { name: new RegExp(name) }).first().isVisible(), `${name} is shown`);
  }
  expect.eq(new URL(page.url()).pathname, '/org', 'opening a team stays on the page');
  await snap(shot, '6 org chart with a team open', page);
  await navigation(page, () => mia.click());
  expect.match(new URL(page.url()).pathname, /^\/people\/\d+$/);
  expect.eq((await page.locator('h1').textContent()).trim(), 'Mia Johansson');
  expect.match(await page.locator('.breadcrumb').innerText(), /Ravi Shankar/);
});

test('people: adding a person with an invalid email keeps what was typed', async ({ page, shot, guard }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/people');
  await navigation(page, () => page.getByRole('link', { name: 'Add people' }).click());
  expect.eq(new URL(page.url()).pathname, '/people/new');
  const name = 'Ada Browser-Test';
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Email', { exact: true }).fill('ada-at-nowhere');
  await page.getByLabel('Job title').fill('Analyst');
  await page.getByLabel('Department').fill('Finance');
  // the manager is typed: names are suggested as one types (a datalist the browser shows), the
  // pick puts the email in the field
  await page.getByLabel('Manager').fill('rach');
  await page.waitForFunction(() => [...document.querySelectorAll('#manager-options option')]
    .some((o) => o.label === 'Rachel Green'));
  const rachel = await page.locator('#manager-options option[label="Rachel Green"]').getAttribute('value');
  expect.match(rachel, /^rachel\.green@/, 'the suggestion carries her email');
  await page.getByLabel('Manager').fill(rachel);
  const res = await navigation(page, () => page.getByRole('button', { name: 'Add', exact: true }).click());
  // post/redirect/get: the browser ends on the form's own page (a GET), so a reload posts nothing
  expect.eq(res.status(), 200, 'the page after the redirect');
  expect.eq(res.request().method(), 'GET', 'reached by a GET');
  expect.eq(res.request().redirectedFrom()?.method(), 'POST', 'redirected from the refused post');
  expect.eq(new URL(page.url()).pathname, '/people/new');
  expect.ok((await page.getByRole('alert').innerText()).includes('attention'), 'the message at the top');
  const emailField = page.locator('.field', { has: page.getByLabel('Email', { exact: true }) });
  expect.match(await emailField.getAttribute('class'), /has-error/, 'the email field is marked');
  expect.ok((await emailField.locator('.field-error').innerText()).trim().length > 0, 'with a message');
  expect.eq(await page.getByLabel('Full name').inputValue(), name, 'the typed name is kept');
  expect.eq(await page.getByLabel('Email', { exact: true }).inputValue(), 'ada-at-nowhere', 'the typed email is kept to correct it');
  expect.eq(await page.getByLabel('Job title').inputValue(), 'Analyst');
  expect.eq(await page.getByLabel('Department').inputValue(), 'Finance');
  expect.eq(await page.getByLabel('Manager').inputValue(), rachel, 'the chosen manager is kept');
  await snap(shot, '7 add person invalid email', page);
  // a reload gets the empty form (the typed values were shown once) and posts nothing
  const reload = await page.reload();
  expect.eq(reload.request().method(), 'GET');
  expect.eq(await page.getByLabel('Full name').inputValue(), '', 'a fresh form');
  // nobody was added
  await page.goto(`/people?q=${encodeURIComponent('Ada Browser')}`);
  expect.match(await page.locator('main').innerText(), /Nobody matches/);
});

test('people: a CSV file chosen on the import page fills the text box (UTF-8, a byte-order mark dropped); Check changes nothing yet', async ({ page, shot }) => {
  await signIn(page, 'Marcus Webb');
  await page.goto('/people/import');
  const text = 'email,name,department\nomer.file@northwind.example,Ömer Łukasz Żak,Engineering\nwang.file@northwind.example,王小明,Engineering\n';
  await page.getByLabel('Or choose a CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv',
    buffer: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]) });
  await page.waitForFunction(() => document.getElementById('csv').value.length > 0);
  expect.eq(await page.getByLabel('CSV text').inputValue(), text, 'the file as written, without its byte-order mark');
  await navigation(page, () => page.getByRole('button', { name: 'Check' }).click());
  const main = await page.locator('main').innerText();
  expect.match(main, /Ready to import/);
  expect.match(main, /2\s+new people/);
  expect.eq(await page.getByLabel('CSV text').inputValue(), text.replace(/\n$/, '') + '\n', 'the checked text stays in the box');
  await snap(shot, '8 import from a file', page);
  await page.goto(`/people?q=${encodeURIComponent('Łukasz')}`);
  expect.ok(!(await page.locator('main').innerText()).includes('omer.file@'), 'a check imports nothing');
});
