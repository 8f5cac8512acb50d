import { chromium, type Browser, type Page } from 'playwright-core';
import { browserSuite, CHROMIUM, CHROMIUM_ARGS, listen, type Listening } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { documentedOperations, loadSpec } from './spec.js';

/** The API reference at /docs as a browser renders it, under its Content-Security-Policy. */
const describeBrowser = browserSuite() ? describe : describe.skip;

describeBrowser('the API reference in chromium', () => {
  let server: TestServer;
  let http: Listening;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    http = await listen(server.app);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('requestfailed', (failed) => problems.push(`request failed: ${failed.url()}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await http?.close();
    await server?.close();
  });

  it('renders every documented operation from /docs/openapi.yaml with no error or CSP violation', async () => {
    const response = await page.goto(`${http.url}/docs`);
    expect(response?.status()).toBe(200);
    await page.waitForSelector('.opblock-summary', { timeout: 15_000 });
    const rendered = await page.$$eval('.opblock-summary', (blocks) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent ?? '';
        const route = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
        return `${method.toUpperCase()} ${route}`;
      }),
    );
    expect(rendered.sort()).toEqual(documentedOperations(loadSpec()).sort());
    expect(http.hits('GET /docs/openapi.yaml')).toBe(1);
    expect(problems).toEqual([]);
  }, 30_000);

  it('calls the API from "Try it out" on the same origin', async () => {
    const block = page.locator('#operations-health-health');
    await block.locator('.opblock-summary').click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    await block.getByRole('button', { name: 'Execute' }).click();
    const status = block.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 10_000 });
    expect((await status.textContent())?.trim()).toBe('200');
    expect(http.hits('GET /healthz')).toBe(1);
    expect(problems).toEqual([]);
  }, 30_000);
});
