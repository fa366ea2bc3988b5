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
  const listed = await page.locator(`#pending a[href="/requests/${requestId}"]`).count();
  await page.goto(`${url}/requests/${requestId}`);
  await page.waitForSelector('#command');
  await page.screenshot({ path: screenshot, fullPage: true });
  const shown = await page.evaluate(() => ({
    command: document.querySelector('#command').textContent,
    filedBy: document.querySelector('#filed-by').textContent,
    commands: [...document.querySelectorAll('#commands tr')].slice(1)
      .map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent)),
    claimed: Object.fromEntries([...document.querySelectorAll('#claimed td')]
      .map((td) => [td.id.replace('claimed-', ''), td.textContent])),
    // Elements inside the request's text would mean it was read as markup.
    // The page's own left-to-right isolates (`bdi`, holding text only) are not counted.
    markup: document.querySelectorAll(
      ['#command', '#claimed td code', '#commands td code']
        .flatMap((c) => [`${c} :not(bdi)`, `${c} bdi *`])
        .join(', '),
    ).length,
    scripts: document.querySelectorAll('script').length,
  }));
  console.log(JSON.stringify({ ...shown, listed, dialogs }));
} finally {
  await browser.close();
}
