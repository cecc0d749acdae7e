import { chromium } from 'playwright-core';
const base = process.env.BASE;
const who = process.env.WHO || 'mia.johansson@northwind.example';
const paths = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
for (const width of [1366, 390]) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(base + '/');
  await page.getByLabel('Work email').fill(who);
  await page.getByLabel('Password').fill('demo-pass-123');
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForURL(/home/);
  for (const p of paths) {
    const res = await page.goto(base + p);
    const name = p.replace(/[^a-z0-9]+/gi, '_');
    await page.screenshot({ path: `/tmp/objbench/shot-${name}-${width}.png`, fullPage: true });
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    console.log(width, p, res.status(), sideways ? 'SIDEWAYS' : '');
  }
  await ctx.close();
}
await browser.close();
