// Drives the review page in headless Chromium the way people use it:
// the requester signs in and finds no Approve button on their own request; a reviewer
// signs in, opens the request from the list, comments, approves, and sees it approved.
// Usage: node review.mjs URL REQUESTER_TOKEN REVIEWER_TOKEN REQUEST_ID SCREENSHOT.png
import { chromium } from 'playwright-core';

const [url, requesterToken, reviewerToken, requestId, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function signIn(token) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Signed in as');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'gatekeep_session');
  if (!session || !session.httpOnly || session.sameSite !== 'Strict') {
    throw new Error(`unexpected session cookie: ${JSON.stringify(session)}`);
  }
  if (session.value === token) throw new Error('the cookie holds the token');
  return { context, page };
}

try {
  const requester = await signIn(requesterToken);
  await requester.page.goto(`${url}/requests/${requestId}`);
  if (await requester.page.locator('button.approve').count() !== 0) {
    throw new Error('the requester was offered an Approve button on their own request');
  }
  await requester.page.waitForSelector('#note');
  await requester.context.close();

  const reviewer = await signIn(reviewerToken);
  await reviewer.page.click(`#requests a[href="/requests/${requestId}"]`);
  await reviewer.page.waitForSelector('#command');
  await reviewer.page.fill('textarea[name=comment]', 'looks right');
  await reviewer.page.screenshot({ path: screenshot, fullPage: true });
  await reviewer.page.click('button.approve');
  await reviewer.page.waitForSelector('#status:has-text("approved")');
  await reviewer.page.waitForSelector('#reviews:has-text("looks right")');
  console.log('approved through the review page');
} finally {
  await browser.close();
}
