// Reviews a request with the keyboard alone: sign in by typing the token and pressing
// Enter, open the request, press Tab until the Approve button has the focus (the focus
// must be visible on the way), and press Enter.
// Prints one JSON object: how many Tabs it took, the focused elements' outlines, and the
// status shown afterwards.
// Usage: node keyboard.mjs URL TOKEN REQUEST_ID
import { chromium } from 'playwright-core';

const [url, token, requestId] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  // The token field has the focus when the page opens.
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#requests');
  await page.goto(`${url}/requests/${requestId}`);
  await page.waitForSelector('#command');
  const seen = [];
  let tabs = 0;
  let onApprove = false;
  while (tabs < 80 && !onApprove) {
    await page.keyboard.press('Tab');
    tabs += 1;
    const focused = await page.evaluate(() => {
      const e = document.activeElement;
      const style = getComputedStyle(e);
      return {
        tag: e.tagName.toLowerCase(),
        name: (e.getAttribute('name') || e.textContent || '').trim().slice(0, 30),
        approve: e.matches('button.approve'),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      };
    });
    seen.push(focused);
    onApprove = focused.approve;
  }
  let status = null;
  if (onApprove) {
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    status = await page.locator('#status').textContent();
  }
  console.log(JSON.stringify({ tabs, onApprove, seen, status }));
} finally {
  await browser.close();
}
