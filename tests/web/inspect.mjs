// Reads a request's page in headless Chromium the way a reviewer sees it, and prints what
// the page shows as one JSON object: the command, the authenticated identity, each claim of
// the requester, and whether anything in the request turned into markup or ran a script.
// Usage: node inspect.mjs URL REVIEWER_TOKEN REQUEST_ID SCREENSHOT.png
import { chromium } from 'playwright-core';

const [url, token, requestId, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  const context = await browser.newContext();
  const page = await context.newPage();
  let dialogs = 0;
  page.on('dialog', async (dialog) => { dialogs += 1; await dialog.dismiss(); });
  await page.goto(`${url}/`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Signed in as');
  const listed = await page.locator(`#requests a[href="/requests/${requestId}"]`).count();
  await page.goto(`${url}/requests/${requestId}`);
  await page.waitForSelector('#command');
  await page.screenshot({ path: screenshot, fullPage: true });
  const shown = await page.evaluate(() => ({
    command: document.querySelector('#command').textContent,
    filedBy: document.querySelector('#filed-by').textContent,
    commands: [...document.querySelectorAll('#commands li')]
      .map((item) => [...item.children].map((part) => part.textContent)),
    claimed: Object.fromEntries([...document.querySelectorAll('#claimed dd')]
      .map((dd) => [dd.id.replace('claimed-', ''), dd.textContent])),
    // Elements inside the request's text would mean it was read as markup.
    // The page's own left-to-right isolates (`bdi`, holding text only) are not counted.
    markup: document.querySelectorAll(
      ['#command', '#claimed dd code', '#commands li code', '#rules .why', '#reviews li']
        .flatMap((c) => [`${c} :not(bdi)`, `${c} bdi *`])
        .join(', '),
    ).length,
    // Any script but the page's own served file.
    scripts: document.querySelectorAll('script:not([src="/assets/page.js"])').length,
  }));
  console.log(JSON.stringify({ ...shown, listed, dialogs }));
} finally {
  await browser.close();
}
