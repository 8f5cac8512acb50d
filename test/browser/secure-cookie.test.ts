import { chromium, type Browser } from 'playwright-core';
import { buildDemoPage, browserSuite, CHROMIUM, CHROMIUM_ARGS, listen, type Listening } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

/**
 * What the README says about the `Secure` refresh cookie over plain http, checked in Chromium: with the
 * default `COOKIE_SECURE=true`, a page on http://127.0.0.1 or http://localhost (secure contexts) keeps
 * the cookie, so a reload restores the session.
 */
const PASSWORD = 'correct horse battery';
const describeBrowser = browserSuite() ? describe : describe.skip;

describeBrowser('the Secure refresh cookie on a loopback origin in chromium', () => {
  let server: TestServer;
  let http: Listening;
  let browser: Browser;

  beforeAll(async () => {
    await buildDemoPage();
    server = await startTestServer({ COOKIE_SECURE: 'true' });
    await server.addUser('alice', PASSWORD);
    http = await listen(server.app);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await http?.close();
    await server?.close();
  });

  it.each(['127.0.0.1', 'localhost'])('is kept on http://%s, and a reload restores the session from it', async (host) => {
    const origin = http.url.replace('127.0.0.1', host);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/demo/`);
      await page.waitForFunction(() => /Signed out/.test(document.querySelector('#status')?.textContent ?? ''));
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForFunction(() => /Signed in as alice/.test(document.querySelector('#status')?.textContent ?? ''));

      const cookie = (await context.cookies(`${origin}/auth/refresh`)).find((c) => c.name === 'refresh_token');
      expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict', path: '/auth' });
      await page.reload();
      await page.waitForFunction(() => /Session restored from the refresh cookie/.test(document.querySelector('#status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});
