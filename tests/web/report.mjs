// Opens an evidence report (a local HTML file) in headless Chromium with every network
// request refused, and prints what it shows as one JSON object: the charts drawn, the
// items, the network requests it tried (none, for a self-contained file), and the size of
// its printed form. Usage: node report.mjs REPORT.html SCREENSHOT.png
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const [file, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const fetched = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    fetched.push(url);
    return route.abort();
  });
  let scripts = 0;
  page.on('console', () => { scripts += 1; });
  await page.goto(pathToFileURL(file).href);
  await page.screenshot({ path: screenshot, fullPage: true });
  const shown = await page.evaluate(() => ({
    title: document.title,
    charts: [...document.querySelectorAll('figure svg')].length,
    chartIds: [...document.querySelectorAll('figure')].map((f) => f.id),
    items: document.querySelectorAll('table.item').length,
    failed: document.querySelector('#total-failed')?.textContent,
    signature: document.querySelector('#signature')?.textContent,
    scrollWidth: document.documentElement.scrollWidth,
  }));
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ format: 'A4' });
  console.log(JSON.stringify({ ...shown, fetched, scripts, pdfBytes: pdf.length }));
} finally {
  await browser.close();
}
