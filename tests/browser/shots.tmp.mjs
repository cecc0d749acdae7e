// throwaway: screenshots of pages as given people, at 1366 and 390 px
import { chromium } from 'playwright-core';
const base = process.env.BASE || 'http://127.0.0.1:18642';
const pw = 'demo-password-123';
const jobs = JSON.parse(process.argv[2]);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
for (const [who, paths] of Object.entries(jobs)) {
  for (const width of [1366, 390]) {
    const ctx = await browser.newContext({ viewport: { width, height: +(process.env.MAXH || 1400) } });
    const page = await ctx.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(base + '/');
    await page.fill('#email', who.includes('@') ? who : `${who}@northwind.example`);
    await page.fill('#password', pw);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    for (const p of paths) {
      const res = await page.goto(base + p);
      const name = `${who.split('@')[0]}-${p.replace(/[^a-z0-9]+/gi, '_')}-${width}.png`;
      if (process.env.TOP) await page.evaluate((y) => window.scrollTo(0, y), +process.env.TOP); await page.screenshot({ path: `/tmp/f360/shots/${name}` });
      const overflow = await page.evaluate(() => { if (document.documentElement.scrollWidth <= window.innerWidth) return ''; const out = []; for (const el of document.querySelectorAll('body *')) { const r = el.getBoundingClientRect(); if (r.right > window.innerWidth + 1 && !el.closest('.table-wrap')) out.push(el.tagName + '.' + el.className + ':' + Math.round(r.right)); } return out.slice(0, 5).join(' '); });
      console.log(res.status(), width, who, p, overflow ? 'OVERFLOW ' + overflow : '', errors.join(' | '));
    }
    await ctx.close();
  }
}
await browser.close();
