// Looks at the review page the way people on other screens do: a desk and a 390 px wide
// phone, each in the light and the dark colour scheme. For the sign-in page, the list and
// one request it measures the page's width, reads the computed background, runs axe-core
// (injected from node_modules, no network), notes any Content-Security-Policy violation,
// and saves a screenshot of the list and of the request.
// Prints one JSON object with every measurement.
// Usage: node layout.mjs URL TOKEN REQUEST_ID SCREENSHOT_DIR
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const [url, token, requestId, shots] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const screens = {
  desktop: { viewport: { width: 1200, height: 760 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};

// What one page looks like: its width, background, axe's findings and CSP violations.
async function look(page) {
  // The page's own script must run under its CSP; violations are reported as events.
  const violations = await page.evaluate(() => window.__cspViolations || []);
  await page.evaluate(axeSource);
  const axe = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  const shape = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    background: getComputedStyle(document.body).backgroundColor,
    color: getComputedStyle(document.body).color,
  }));
  return { ...shape, axe, csp: violations };
}

const results = {};
try {
  for (const scheme of ['light', 'dark']) {
    for (const [screen, options] of Object.entries(screens)) {
      const context = await browser.newContext({ ...options, colorScheme: scheme, deviceScaleFactor: 1 });
      await context.addInitScript(() => {
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
      });
      const page = await context.newPage();
      const key = `${scheme}-${screen}`;
      await page.goto(`${url}/`);
      results[`signin-${key}`] = await look(page);
      await page.fill('#token', token);
      await page.click('form.signin button[type=submit]');
      await page.waitForSelector('#requests');
      await page.goto(`${url}/?show=all`);
      await page.waitForSelector(`#requests a[href="/requests/${requestId}"]`);
      await page.screenshot({ path: `${shots}/list-${key}.png` });
      results[`list-${key}`] = await look(page);
      await page.goto(`${url}/requests/${requestId}`);
      await page.waitForSelector('#command');
      // The served script counts the time left down (it changes within a few seconds).
      const before = await page.locator('#main time.countdown').first().textContent();
      const counted = await page.waitForFunction(
        (before) => document.querySelector('#main time.countdown').textContent !== before,
        before, { timeout: 5000 },
      ).then(() => true, () => false);
      await page.screenshot({ path: `${shots}/request-${key}.png` });
      results[`request-${key}`] = { ...(await look(page)), counted };
      await context.close();
    }
  }
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
