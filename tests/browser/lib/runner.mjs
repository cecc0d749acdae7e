// A tiny test runner for the browser tests (see ../README.md).
//
//   import { test, expect } from './lib/runner.mjs';
//   test('the sign-in page renders', async ({ page, baseURL, shot, guard }) => { ... });
//
// `node lib/runner.mjs [--filter TEXT] FILE.test.mjs...` launches Debian's Chromium once
// (through playwright-core; it never downloads a browser), then runs each file's tests in
// order, each in a fresh browser context watched by the page guard (lib/guard.mjs). It prints
// "ok  file: name" or "FAIL file: name" and the error per test, and ends with
// "N passed, N failed"; the exit status is 1 when a test failed or none ran.
//
// Environment: CANDOR_BASE_URL (required: the server under test), CHROMIUM (the browser,
// default /usr/bin/chromium), ARTIFACTS (default tests/artifacts), TEST_TIMEOUT_MS (90000: a walk of many pages on a busy 2-core machine takes 30 s).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installGuard } from './guard.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Chromium's flags for every run: quiet, offline apart from the server under test. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

const registered = [];

/** Registers a test: fn({ page, context, browser, baseURL, shot, guard }). */
export function test(name, fn) {
  if (typeof name !== 'string' || typeof fn !== 'function') throw new TypeError('test(name, async fn)');
  registered.push({ name, fn });
}

/** Small assertions (node:assert works too). */
export const expect = {
  ok(v, msg) {
    if (!v) throw new Error(msg || `expected a true value, got ${JSON.stringify(v)}`);
    return v;
  },
  eq(actual, expected, msg) {
    if (actual !== expected) {
      throw new Error(`${msg ? `${msg}: ` : ''}expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  },
  match(s, re, msg) {
    if (typeof s !== 'string' || !re.test(s)) throw new Error(`${msg ? `${msg}: ` : ''}${JSON.stringify(s)} does not match ${re}`);
  },
};

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'shot';
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function indent(text) {
  return String(text).split('\n').map((l) => `      ${l}`).join('\n');
}

async function runOne(browser, file, t, opts) {
  const baseURL = opts.baseURL;
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10000);
  let failure = null;
  let page = null;
  const stem = path.basename(file).replace(/\.test\.mjs$/, '');
  const shot = async (name, target = page) => {
    const dir = path.join(opts.artifacts, 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    const p = path.join(dir, `${stem}-${slug(name)}.png`);
    await target.screenshot({ path: p, fullPage: true });
    return p;
  };
  try {
    const guard = await installGuard(context, new URL(baseURL).origin);
    page = await context.newPage();
    await withTimeout(Promise.resolve(t.fn({ page, context, browser, baseURL, shot, guard })), opts.timeoutMs, 'the test');
    await guard.settle(context);
    guard.check();
  } catch (err) {
    failure = err;
    // what the page looked like when the test failed
    if (page && !page.isClosed()) {
      const p = await withTimeout(shot(`${t.name} failed`), 5000, 'the failure screenshot').catch(() => null);
      if (p) failure.screenshot = p;
    }
  } finally {
    await context.close().catch(() => {});
  }
  return failure;
}

/** Runs the given test files; returns { passed, failed }. */
export async function run(files, opts) {
  const { chromium } = await import('playwright-core');
  let passed = 0;
  let failed = 0;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: opts.chromium,
      headless: true,
      args: CHROMIUM_ARGS,
      // playwright-core starts Chromium with a fresh --user-data-dir of its own under $TMPDIR
      // (run.sh points TMPDIR at a temporary folder) and deletes it on close.
    });
  } catch (err) {
    console.log(`FAIL runner: cannot start ${opts.chromium}`);
    console.log(indent(err.message));
    return { passed: 0, failed: 1 };
  }
  try {
    for (const file of files) {
      const rel = path.relative(process.cwd(), file) || file;
      registered.length = 0;
      try {
        await import(pathToFileURL(path.resolve(file)).href);
      } catch (err) {
        failed++;
        console.log(`FAIL ${rel}: cannot load the file`);
        console.log(indent(err.stack || err));
        continue;
      }
      const tests = registered.splice(0).filter((t) => !opts.filter || t.name.includes(opts.filter));
      for (const t of tests) {
        const started = Date.now();
        const err = await runOne(browser, file, t, opts);
        if (err) {
          failed++;
          console.log(`FAIL ${rel}: ${t.name}`);
          console.log(indent(err.stack || err));
          if (err.screenshot) console.log(indent(`screenshot: ${path.relative(process.cwd(), err.screenshot)}`));
        } else {
          passed++;
          console.log(`ok  ${rel}: ${t.name}  (${Date.now() - started} ms)`);
        }
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  return { passed, failed };
}

async function main(argv) {
  const files = [];
  let filter = process.env.FILTER || null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--filter') filter = argv[++i];
    else files.push(argv[i]);
  }
  const baseURL = process.env.CANDOR_BASE_URL;
  if (!baseURL) {
    console.log('FAIL runner: CANDOR_BASE_URL is not set (run tests/browser/run.sh)');
    console.log('0 passed, 1 failed');
    return 1;
  }
  const opts = {
    baseURL,
    filter,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    artifacts: process.env.ARTIFACTS || path.resolve(here, '../../artifacts'),
    timeoutMs: Number(process.env.TEST_TIMEOUT_MS || 90000),
  };
  const { passed, failed } = await run(files, opts);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
    console.log(`FAIL runner: ${err.stack || err}`);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  });
}
