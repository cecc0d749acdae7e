// Every page on a phone (390×844, touch) and on a laptop (1366 px), as the super user sees it:
// no page scrolls sideways, every page's title (h1) is shown whole, uncovered, with a contrast
// of at least 4.5 (from the computed colours and from the pixels painted behind it), and on a
// phone the main menu opens from the header's Menu button, takes the keyboard focus, keeps Tab
// inside it, and closes by its Close button, by Escape and by a tap outside it, giving the
// focus back to the Menu button; every actions menu of a page opens on the screen. The walk
// covers every page the navigation links to (a test checks that), the main entities (a profile,
// a cycle and its tabs, a review, a workflow, a mail) and the signed-out pages. Nothing here
// changes the demo company.
// Screenshots: tests/artifacts/screenshots/phone-390-*.png and phone-1366-*.png.
import { test, expect } from './lib/runner.mjs';
import { openAs, navigation, snap } from './lib/session.mjs';
import { installGuard } from './lib/guard.mjs';
import { layoutProblems } from './lib/look.mjs';

const SUPER = 'Priya Natarajan'; // HR Admin + Tech Admin
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
// WALK_WIDTH walks the second size at another width (e.g. 920 or 700 by hand); the sidebar is
// checked only where it shows (over 900 px)
const WIDE = Number(process.env.WALK_WIDTH || 1366);
const LAPTOP = { viewport: { width: WIDE, height: 768 } };

/** Every path walked (with its ids filled in), to prove the walk covers the navigation. */
const walked = new Set();

/** Ids of the demo company's entities, found once through the pages. */
let ids = null;

async function href(page, url, selector, pattern) {
  await page.goto(url);
  const all = await page.locator(selector).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const found = all.find((h) => pattern.test(h));
  if (!found) throw new Error(`no link matching ${pattern} on ${url} (saw ${all.slice(0, 10).join(', ')})`);
  return found;
}

async function discover(page) {
  if (ids) return ids;
  const profile = await href(page, '/people?q=Mia%20Johansson', 'main a.person-name', /^\/people\/\d+$/);
  // the demo's running cycle: the first one with reviews (other tests may have added drafts)
  await page.goto('/cycles');
  const cycles = [...new Set(await page.locator('main a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))
    .filter((h) => /^\/cycles\/\d+$/.test(h))))];
  let cycle = null;
  let review = null;
  for (const c of cycles) {
    review = await href(page, c, 'main a', /^\/reviews\/\d+$/).catch(() => null);
    if (review) {
      cycle = c;
      break;
    }
  }
  if (!cycle) throw new Error(`no cycle with reviews among ${cycles.join(', ')}`);
  const workflow = await href(page, '/admin/workflows', 'main a', /^\/admin\/workflows\/[a-z_]+$/);
  const version = await href(page, workflow, 'main a', /\/versions\/\d+$/).catch(() => null);
  const template = await href(page, '/admin/email-templates', 'main a', /^\/admin\/email-templates\/[a-z_.]+$/);
  const mail = await href(page, '/admin/outbox', 'main a', /^\/admin\/outbox\/\d+$/);
  ids = { profile, cycle, review, workflow, version, template, mail };
  return ids;
}

/** A page of the phone: a context of its own (touch, 390 px) watched by the test's guard. */
async function phoneAs(ctx, name) {
  return openAs(ctx, name, PHONE);
}

/** The phone's signed-out page. */
async function phoneSignedOut({ browser, baseURL, guard }) {
  const context = await browser.newContext({ baseURL, ...PHONE });
  context.setDefaultTimeout(10000);
  const own = await installGuard(context, new URL(baseURL).origin);
  own.add = (kind, text, url) => guard.add(kind, text, url);
  const page = await context.newPage();
  return { page, async close() { await own.settle(context); await context.close().catch(() => {}); } };
}

/** True as soon as check() is (within half a second), false otherwise. */
async function soon(check, ms = 500) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What is wrong with the main menu on a phone: [] when it opens and closes every way it should. */
async function menuProblems(page) {
  const problems = [];
  const toggle = page.getByRole('button', { name: 'Menu', exact: true });
  const nav = page.locator('#main-nav');
  if (await toggle.count() !== 1 || !(await toggle.isVisible())) return ['no visible Menu button in the header'];
  if (await nav.isVisible()) problems.push('the menu is open before the Menu button is pressed');
  if (await toggle.getAttribute('aria-expanded') !== 'false') problems.push('the Menu button does not say aria-expanded="false" while closed');
  if (await toggle.getAttribute('aria-controls') !== 'main-nav') problems.push('the Menu button does not say which element it controls');
  const url = page.url();

  const open = async (how) => {
    try {
      await toggle.click({ timeout: 1000 });
    } catch (err) {
      problems.push(`the Menu button cannot be pressed (to close the menu by ${how} next): ${err.message.split('\n')[0]}`);
      return false;
    }
    const shown = await nav.isVisible() && await nav.evaluate((n) => {
      const r = n.getBoundingClientRect();
      return r.left >= 0 && r.width > 100 && r.right <= window.innerWidth;
    });
    if (!shown) {
      problems.push(`the Menu button did not open the menu (before closing it by ${how})`);
      return false;
    }
    // the browser tells the page that a popover opened a moment later (a task): wait a little
    if (!await soon(() => toggle.evaluate((t) => t.getAttribute('aria-expanded') === 'true'))) {
      problems.push('the Menu button does not say aria-expanded="true" while open');
    }
    if (!await soon(() => nav.evaluate((n) => n.contains(document.activeElement)))) {
      problems.push('opening the menu does not move the focus into it');
    }
    return true;
  };
  const closed = async (how) => {
    await page.waitForTimeout(50);
    if (await nav.isVisible()) {
      problems.push(`${how} does not close the menu`);
      await page.keyboard.press('Escape');
      await page.evaluate(() => document.body.classList.remove('nav-open'));
      return;
    }
    if (!await soon(() => toggle.evaluate((t) => t.getAttribute('aria-expanded') === 'false'))) {
      problems.push(`after ${how} the Menu button still says aria-expanded="true"`);
    }
    if (!await soon(() => toggle.evaluate((t) => document.activeElement === t))) {
      problems.push(`after ${how} the focus is not back on the Menu button`);
    }
    if (page.url() !== url) problems.push(`${how} navigated away to ${page.url()}`);
  };

  if (await open('its Close button')) {
    const close = nav.getByRole('button', { name: 'Close menu' });
    if (await close.count() !== 1) {
      problems.push('the open menu has no "Close menu" button');
    } else {
      // clickable: visible, and not covered by anything (Playwright checks what is hit)
      try {
        await close.click({ timeout: 1000 });
      } catch (err) {
        problems.push(`the Close button cannot be pressed: ${err.message.split('\n')[0]}`);
      }
    }
    await closed('the Close button');
  }
  if (await open('Tab')) {
    // Tab goes round the menu's own links and never reaches the page behind it
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => {
        const a = document.activeElement;
        if (!a || a === document.body) return 'body';
        return document.getElementById('main-nav').contains(a) ? 'menu' : `${a.tagName.toLowerCase()} ${a.textContent.trim().slice(0, 30)}`;
      });
      if (where !== 'menu' && where !== 'body') {
        problems.push(`Tab leaves the open menu for "${where}" behind it`);
        break;
      }
    }
    await page.keyboard.press('Escape');
    await closed('Escape');
  }
  if (await open('a tap outside it')) {
    const box = await nav.boundingBox();
    const vp = page.viewportSize();
    await page.touchscreen.tap(Math.round((box.x + box.width + vp.width) / 2), Math.round(vp.height * 0.6));
    await closed('a tap outside the menu');
  }
  return problems;
}

/**
 * Opens the page's first actions menus (details.menu in <main>, at most 6) one by one and says
 * which open off the screen: a menu anchored to a button at the left edge must not open leftwards.
 */
async function menusOnScreen(page) {
  return page.evaluate(async () => {
    const out = [];
    const menus = [...document.querySelectorAll('main details.menu')].filter((d) => d.offsetParent !== null).slice(0, 6);
    for (const d of menus) {
      d.open = true;
      await new Promise((r) => setTimeout(r, 60)); // the toggle event comes a task later
      const items = d.querySelector('.menu-items');
      const r = items && items.getBoundingClientRect();
      if (r && (r.left < 0 || r.right > window.innerWidth)) {
        out.push(`the menu "${d.querySelector('summary').textContent.trim()}" opens off the screen (${Math.round(r.left)}..${Math.round(r.right)} px)`);
      }
      d.open = false;
    }
    return out;
  });
}

/**
 * Visits each path on the phone and on the laptop; `visit` may be a path or { path, go } where
 * go(page) reaches the page (e.g. by posting a form). Collects every problem, screenshots every
 * page at both sizes, and fails once at the end listing all of them.
 */
async function walk({ browser, baseURL, guard, shot }, visits, { signedOut = false, as = SUPER } = {}) {
  const phone = signedOut ? await phoneSignedOut({ browser, baseURL, guard }) : await phoneAs({ browser, baseURL, guard }, as);
  const laptop = signedOut ? null : await openAs({ browser, baseURL, guard }, as, LAPTOP);
  const problems = [];
  try {
    const found = signedOut || as !== SUPER ? {} : await discover(phone.page);
    for (const v of visits) {
      const spec = typeof v === 'string' ? { path: v } : v;
      const path = typeof spec.path === 'function' ? await spec.path(found, phone.page) : spec.path;
      if (!path) continue;
      for (const [size, page] of [[390, phone.page], [WIDE, laptop ? laptop.page : null]]) {
        if (!page) continue;
        if (size === WIDE && signedOut) continue;
        let status;
        if (spec.go) {
          status = await spec.go(page, path);
        } else {
          const res = await page.goto(path);
          status = res.status();
        }
        if (status !== (spec.status || 200)) problems.push(`${path}: answered ${status}`);
        const name = spec.name || path.replace(/\/\d+/g, '/N');
        for (const p of await layoutProblems(page, size)) problems.push(`${name} at ${size} px ${p}`);
        await snap(shot, `${size} ${name}`, page);
        // a page may be drawn without the navigation (the 404 page of an unknown address)
        const withNav = !spec.maybePlain || await page.locator('#main-nav').count() > 0;
        if (size === 390 && !signedOut && withNav) for (const p of await menuProblems(page)) problems.push(`${name} at 390 px: ${p}`);
        if (!signedOut) for (const p of await menusOnScreen(page)) problems.push(`${name} at ${size} px: ${p}`);
        // the account menu's button keeps a name when the person's name beside the avatar is hidden
        const account = size === 390 && !signedOut && withNav && await page.locator('details.user-menu > summary').evaluate((s) => {
          const shown = [...s.querySelectorAll('*')].filter((e) => !e.closest('[aria-hidden="true"]') && e.offsetParent !== null);
          return (s.getAttribute('aria-label') || shown.map((e) => e.textContent).join('')).trim();
        });
        if (account === '') problems.push(`${name} at 390 px: the account menu's button has no name`);
        if (size === WIDE && WIDE > 900 && !signedOut && withNav) {
          const side = await page.locator('#main-nav').isVisible();
          if (!side) problems.push(`${name} at ${size} px: the sidebar navigation is not shown`);
          if (await page.getByRole('button', { name: 'Menu', exact: true }).isVisible()) {
            problems.push(`${name} at ${size} px: a Menu button shows although the sidebar is there`);
          }
        }
      }
      walked.add(path);
    }
  } finally {
    await phone.close();
    if (laptop) await laptop.close();
  }
  expect.eq(problems.join('\n'), '', 'layout problems');
}

test('phone: home, people, a profile, the org chart and the team fit a phone', async (ctx) => {
  await walk(ctx, ['/home', '/people', { path: (f) => f.profile, name: 'profile' }, '/org', '/team']);
});

test('phone: the forms about people fit a phone', async (ctx) => {
  await walk(ctx, [{ path: (f) => `${f.profile}/edit`, name: 'profile edit' }, { path: (f) => `${f.profile}/roles`, name: 'roles' },
    { path: (f) => `${f.profile}/password`, name: 'set password' }, '/people/new', '/people/import']);
});

test('phone: review cycles and a cycle overview, reviewees and questions fit a phone', async (ctx) => {
  await walk(ctx, ['/cycles', '/cycles/new', '/cycles/automations', '/cycles/automations/new', { path: (f) => f.cycle, name: 'cycle overview' },
    { path: (f) => `${f.cycle}/reviewees`, name: 'cycle reviewees' },
    { path: (f) => `${f.cycle}/questions`, name: 'cycle questions' }]);
});

test('phone: a cycle\'s admins, settings, reminders and a review fit a phone', async (ctx) => {
  const reminders = {
    path: (f) => `${f.cycle}/reminders`,
    name: 'cycle reminders',
    go: async (page, path) => {
      await page.goto(path.replace(/\/reminders$/, ''));
      const res = await navigation(page, () => page.getByRole('button', { name: /missing self-assessment/ }).click());
      expect.eq(new URL(page.url()).pathname, path, 'the reminder preview');
      return res.status();
    },
  };
  await walk(ctx, [{ path: (f) => `${f.cycle}/admins`, name: 'cycle admins' }, { path: (f) => `${f.cycle}/edit`, name: 'cycle edit' },
    reminders, { path: (f) => f.review, name: 'review' }]);
});

test('phone: a reviewee\'s own review (the form, the 2D graph) and the org view of reviewees fit a phone', async (ctx) => {
  const own = async (f, page) => href(page, '/home', 'main a', /^\/reviews\/\d+$/);
  await walk(ctx, [{ path: own, name: 'own review' }, '/people'], { as: 'Zoe Chen' });
  await walk(ctx, [{ path: (f) => `${f.cycle}/reviewees?view=org`, name: 'cycle reviewees org' }]);
});

test('phone: 1:1 meetings (the list, starting one, a meeting) fit a phone', async (ctx) => {
  const meeting = async (f, page) => href(page, '/meetings', 'main a', /^\/meetings\/\d+$/);
  await walk(ctx, ['/meetings', '/meetings/new', { path: meeting, name: 'meeting' }]);
});

test('phone: pulse surveys (the list, the form, a survey, its results and participation, answering) fit a phone', async (ctx) => {
  const survey = async (f, page) => href(page, '/surveys', 'main a', /^\/surveys\/\d+$/);
  await walk(ctx, ['/surveys', '/surveys/new', { path: survey, name: 'survey' },
    { path: async (f, page) => `${await survey(f, page)}/edit`, name: 'survey edit' },
    { path: async (f, page) => `${await survey(f, page)}/results`, name: 'survey results' },
    { path: async (f, page) => `${await survey(f, page)}/participation`, name: 'survey participation' }]);
  const round = async (f, page) => href(page, '/surveys', 'main a', /^\/surveys\/rounds\/\d+$/);
  await walk(ctx, ['/surveys', { path: round, name: 'survey answer' }], { as: 'Hana Sato' });
});

test('phone: objectives (mine, the team, the form, the cycles, a cycle, its tree, overview and form) fit a phone', async (ctx) => {
  const cycle = async (f, page) => href(page, '/objective-cycles', 'main a', /^\/objective-cycles\/\d+$/);
  await walk(ctx, ['/objectives', '/objectives/team', '/objectives/new', '/objective-cycles', '/objective-cycles/new',
    { path: cycle, name: 'objective cycle' }, { path: async (f, page) => `${await cycle(f, page)}/tree`, name: 'alignment tree' },
    { path: async (f, page) => `${await cycle(f, page)}/overview`, name: 'objective overview' },
    { path: async (f, page) => `${await cycle(f, page)}/edit`, name: 'objective cycle edit' }]);
});

test('phone: an owner\'s objectives and one objective with its update form fit a phone', async (ctx) => {
  const objective = async (f, page) => href(page, '/objectives', 'main a.objective-title', /^\/objectives\/\d+$/);
  await walk(ctx, ['/objectives', { path: objective, name: 'objective' }], { as: 'Mia Johansson' });
});

test('phone: the administration overview and settings fit a phone', async (ctx) => {
  await walk(ctx, ['/admin', '/admin/users/settings', '/admin/license', '/admin/security', '/admin/features',
    '/admin/datetime', '/admin/design', '/admin/xml-export']);
});

test('phone: the audit log, API tokens, account security and the 404 page fit a phone', async (ctx) => {
  ctx.guard.ignore('console', /status of 404/); // the 404 page, on purpose
  await walk(ctx, ['/admin/audit', '/admin/api-tokens', '/account/security',
    { path: '/no-such-page', status: 404, name: 'not found', maybePlain: true }]);
});

test('phone: cycle workflows and email templates fit a phone', async (ctx) => {
  await walk(ctx, ['/admin/workflows', { path: (f) => f.workflow, name: 'workflow' },
    { path: (f) => f.version, name: 'workflow version' }, '/admin/email-templates',
    { path: (f) => f.template, name: 'email template' }]);
});

test('phone: the outbox, a mail, bounces and the mail server fit a phone', async (ctx) => {
  await walk(ctx, ['/admin/outbox', { path: (f) => f.mail, name: 'mail' }, '/admin/bounces', '/admin/mail-server']);
});

test('phone: the integrations overview, webhooks, hooks and SFTP setup fit a phone', async (ctx) => {
  await walk(ctx, ['/admin/integrations', '/admin/webhooks', '/admin/webhooks/new', '/admin/hooks', '/admin/hooks/new',
    '/admin/integrations/sftp']);
});

test('phone: praise, messages and their administration fit a phone', async (ctx) => {
  await walk(ctx, ['/praise', '/messages', '/messages?tab=requested', '/messages/new?kind=feedback', '/admin/praise',
    '/admin/praise/badges', '/admin/praise/defaults', '/admin/praise/wall', '/admin/praise/moderation']);
});

// the demo's 360 cycle in progress (lua/demo.lua sample_360); other tests add cycles of their own
let cycle360;
async function demo360(f, page) {
  if (cycle360) return cycle360;
  await page.goto('/feedback/cycles');
  cycle360 = await page.locator('main a', { hasText: /Sales 360$/ }).first().getAttribute('href');
  return cycle360;
}

test('phone: 360 cycles (the list, a new one, a cycle, its reviewees) fit a phone', async (ctx) => {
  await walk(ctx, ['/feedback/cycles', '/feedback/cycles/new', { path: demo360, name: '360 cycle' },
    { path: async (f, page) => `${await demo360(f, page)}/reviewees`, name: '360 reviewees' }]);
});

test('phone: a 360 cycle\'s questions and settings, and a reviewee\'s 360, fit a phone', async (ctx) => {
  await walk(ctx, [{ path: async (f, page) => `${await demo360(f, page)}/questions`, name: '360 questions' },
    { path: async (f, page) => `${await demo360(f, page)}/edit`, name: '360 cycle edit' },
    { path: async (f, page) => href(page, await demo360(f, page), 'main a.person-name', /^\/feedback\/360\/\d+$/),
      name: 'a reviewee\'s 360' }]);
});

test('phone: a manager\'s 360 approvals and team page fit a phone', async (ctx) => {
  const id = async (f, page) => (await demo360(f, page)).match(/\d+$/)[0];
  await walk(ctx, ['/feedback', { path: async (f, page) => `/feedback/cycles/${await id(f, page)}/approvals`, name: '360 approvals' },
    { path: async (f, page) => `/feedback/cycles/${await id(f, page)}/team`, name: '360 team' }], { as: 'James O\'Connor' });
});

test('phone: writing 360 feedback, as a colleague and as a guest, fits a phone', async (ctx) => {
  const request = async (f, page) => href(page, '/home', 'main a', /^\/feedback\/requests\/\d+$/);
  await walk(ctx, [{ path: request, name: '360 writing' }], { as: 'Tyler Reed' });
  await walk(ctx, ['/home', { path: request, name: '360 guest writing' }], { as: 'alex.morgan@clientcorp.example' });
});

test('phone: the signed-out pages fit a phone', async (ctx) => {
  ctx.guard.ignore('console', /status of 40[04]/);
  await walk(ctx, [{ path: '/', name: 'sign in' }, '/password/forgot'], { signedOut: true });
});

test('phone: following a link in the menu closes it, also when going back to the page', async (ctx) => {
  const { page, close } = await openAs(ctx, SUPER, PHONE);
  try {
    await page.goto('/home');
    const toggle = page.getByRole('button', { name: 'Menu', exact: true });
    const nav = page.locator('#main-nav');
    await toggle.click();
    await nav.waitFor({ state: 'visible' });
    await navigation(page, () => nav.getByRole('link', { name: 'People' }).click());
    expect.eq(new URL(page.url()).pathname, '/people');
    expect.eq(await nav.isVisible(), false, 'the menu is closed on the new page');
    await page.goBack();
    expect.eq(new URL(page.url()).pathname, '/home');
    expect.ok(await soon(async () => !(await nav.isVisible())), 'the menu is closed after going back');
    expect.eq(await toggle.getAttribute('aria-expanded'), 'false');
    // the page behind is usable again: nothing left inert
    expect.eq(await page.evaluate(() => document.querySelectorAll('[inert]').length), 0, 'no inert element left');
  } finally {
    await close();
  }
});

test('phone: the walk covers every page the navigation, the user menu and the admin overview link to', async (ctx) => {
  const { page, close } = await openAs(ctx, SUPER, PHONE);
  try {
    const links = new Set();
    for (const p of ['/home', '/admin']) {
      await page.goto(p);
      for (const h of await page.evaluate(() => [...document.querySelectorAll(
        '#main-nav a[href^="/"], .user-menu a[href^="/"], main a.admin-action[href^="/"]')]
        .map((a) => a.getAttribute('href').split(/[?#]/)[0]))) links.add(h);
    }
    // one profile, cycle... stands for all of them (the user menu links to the viewer's own)
    const shape = (h) => h.replace(/\/\d+/g, '/N');
    const covered = new Set([...walked].map(shape));
    const missing = [...links].filter((h) => !covered.has(shape(h)));
    expect.ok(walked.size > 30, `the page walks ran first (walked ${walked.size})`);
    expect.eq(missing.join(', '), '', 'linked pages the phone walk does not visit');
  } finally {
    await close();
  }
});
