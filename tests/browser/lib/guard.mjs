// The page guard: records everything a page does wrong so the runner can fail the test.
//
//   csp        a Content-Security-Policy violation (a securitypolicyviolation event)
//   console    a console message of type error (console.error, and Chromium's own errors such
//              as "Refused to execute inline script" or "Failed to load resource: ... 404")
//   pageerror  an uncaught exception or unhandled rejection in the page
//   request    a same-origin sub-resource (script, style, image, fetch...) that failed or
//              answered 4xx/5xx; a page navigation that answers 404 is not one (see ignore)
//
// The runner installs one guard per test on the test's browser context, so it watches every
// page of the test, and fails the test when a problem is left at the end. A test that provokes
// a problem on purpose consumes it with guard.take / guard.waitFor, or drops a kind of problem
// up front with guard.ignore.

// The listener runs in the page's main world before any of the page's own scripts. Scripts
// injected through the DevTools protocol (addInitScript, exposeBinding) are exempt from the
// page's CSP, so this script itself is never blocked, and it still sees the violations the
// page's CSP causes (tests/browser/csp.test.mjs proves that it does).
const INIT_SCRIPT = `(() => {
  const send = (v) => {
    if (typeof window.__candorGuardReport === "function") window.__candorGuardReport(v);
    else (window.__candorGuardPending = window.__candorGuardPending || []).push(v);
  };
  document.addEventListener("securitypolicyviolation", (e) => {
    send({
      directive: e.effectiveDirective || e.violatedDirective,
      blocked: e.blockedURI,
      source: e.sourceFile,
      line: e.lineNumber,
      sample: e.sample,
      disposition: e.disposition,
      document: e.documentURI,
    });
  }, true);
})();`;

/** One problem seen on a page. */
class Problem {
  constructor(kind, text, url) {
    this.kind = kind;
    this.text = text;
    this.url = url || '';
  }

  toString() {
    return `[${this.kind}] ${this.text}${this.url ? ` (at ${this.url})` : ''}`;
  }
}

function matches(problem, kind, re) {
  if (kind && problem.kind !== kind) return false;
  if (re && !re.test(problem.text)) return false;
  return true;
}

/** Problems seen on the pages of one browser context. */
export class Guard {
  constructor(origin) {
    this.origin = origin;
    this.problems = [];
    this.ignored = [];
    this.seen = new WeakSet();
  }

  add(kind, text, url) {
    if (this.ignored.some(([k, re]) => matches({ kind, text }, k, re))) return;
    this.problems.push(new Problem(kind, text, url));
  }

  /** Drops present and future problems of kind (null: any) whose text matches re. */
  ignore(kind, re) {
    this.ignored.push([kind, re]);
    this.take(kind, re);
  }

  /** Removes and returns the problems of kind (null: any) whose text matches re (null: any). */
  take(kind, re) {
    const out = this.problems.filter((p) => matches(p, kind, re));
    this.problems = this.problems.filter((p) => !matches(p, kind, re));
    return out;
  }

  /** Waits until a problem of kind matching re has been seen; removes and returns it. */
  async waitFor(kind, re, timeoutMs = 3000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.problems.findIndex((p) => matches(p, kind, re));
      if (i >= 0) return this.problems.splice(i, 1)[0];
      if (Date.now() > end) {
        throw new Error(`no ${kind || 'problem'} matching ${re} within ${timeoutMs} ms; seen: ${this.describe()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  describe() {
    return this.problems.length ? this.problems.map(String).join('; ') : 'none';
  }

  /** Throws when any problem is left. */
  check() {
    if (this.problems.length === 0) return;
    const list = this.problems.map((p) => `  - ${p}`).join('\n');
    throw new Error(`the page had ${this.problems.length} problem(s):\n${list}`);
  }

  sameOrigin(url) {
    try {
      return new URL(url).origin === this.origin;
    } catch {
      return false;
    }
  }

  /** Listens to one page (called for every page the context opens). */
  attach(page) {
    if (this.seen.has(page)) return;
    this.seen.add(page);
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location();
      this.add('console', msg.text(), loc && loc.url);
    });
    page.on('pageerror', (err) => this.add('pageerror', err.stack || String(err), page.url()));
    // requests cut short because their page navigated away (or is navigating away) are not
    // broken resources: Chromium reports them as net::ERR_ABORTED
    let navigations = 0;
    let navigating = null;
    const startedAt = new WeakMap();
    page.on('request', (req) => {
      if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
        navigations++;
        navigating = req;
      } else {
        startedAt.set(req, navigations);
      }
    });
    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigating = null; });
    page.on('requestfailed', (req) => {
      if (req === navigating) navigating = null;
      if (!this.sameOrigin(req.url())) return;
      const why = (req.failure() && req.failure().errorText) || 'failed';
      if (why === 'net::ERR_ABORTED'
        && (req.isNavigationRequest() || navigating || startedAt.get(req) !== navigations)) return;
      this.add('request', `${req.method()} ${req.url()} failed: ${why}`, page.url());
    });
    page.on('response', (res) => {
      const req = res.request();
      if (res.status() < 400 || !this.sameOrigin(res.url()) || req.resourceType() === 'document') return;
      this.add('request', `${req.method()} ${res.url()} answered ${res.status()}`, page.url());
    });
  }

  /** Lets every page of the test reach a quiet point so late events arrive before check(). */
  async settle(context) {
    for (const page of context.pages()) {
      if (page.isClosed()) continue;
      try {
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
        const pending = await page.evaluate(() => {
          const p = window.__candorGuardPending || [];
          window.__candorGuardPending = [];
          return p;
        });
        for (const v of pending) this.reportViolation(v, page.url());
      } catch {
        // the page navigated or closed meanwhile: nothing to wait for
      }
    }
  }

  reportViolation(v, url) {
    const sample = v.sample ? ` sample ${JSON.stringify(v.sample)}` : '';
    const where = v.source ? ` in ${v.source}:${v.line}` : '';
    this.add('csp', `${v.disposition || 'enforce'} ${v.directive} blocked ${v.blocked || '(inline)'}${where}${sample}`,
      v.document || url);
  }
}

/** Installs a guard on a browser context: every page it opens (now or later) is watched. */
export async function installGuard(context, origin) {
  const guard = new Guard(origin);
  await context.exposeBinding('__candorGuardReport', ({ page }, v) => guard.reportViolation(v, page && page.url()));
  await context.addInitScript({ content: INIT_SCRIPT });
  for (const page of context.pages()) guard.attach(page);
  context.on('page', (page) => guard.attach(page));
  return guard;
}
