import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildDemoPage, browserSuite, CHROMIUM, CHROMIUM_ARGS, listen, type Listening } from '../helpers/browser.js';
import { makeClientKey } from '../helpers/client.js';
import { ROOT } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';
const SCREENSHOT = path.join(ROOT, 'test-artifacts', 'demo.png');
/** The console errors a page may log: the browser reporting a 401 or 404 (404s are recorded by URL). */
const EXPECTED_CONSOLE_ERROR = /^Failed to load resource: the server responded with a status of 40[14]/;

const describeBrowser = browserSuite() ? describe : describe.skip;

describeBrowser('the demo page in chromium', () => {
  let server: TestServer;
  let http: Listening;
  let browser: Browser;
  let page: Page;
  let userId: string;
  const pageErrors: string[] = [];
  /** The Authorization and DPoP headers of every request the page sent, by `METHOD /path`. */
  const sent: { key: string; authorization?: string; dpop?: string }[] = [];

  beforeAll(async () => {
    await buildDemoPage();
    server = await startTestServer({ COOKIE_SECURE: 'false' });
    userId = await server.addUser('alice', PASSWORD);
    http = await listen(server.app);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    page.on('request', (sentRequest) => {
      const headers = sentRequest.headers();
      sent.push({ key: `${sentRequest.method()} ${new URL(sentRequest.url()).pathname}`, authorization: headers.authorization, dpop: headers.dpop });
    });
    page.on('response', (response) => {
      if (response.status() === 404) pageErrors.push(`404: ${response.url()}`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error' && !EXPECTED_CONSOLE_ERROR.test(message.text())) pageErrors.push(`console: ${message.text()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await http?.close();
    await server?.close();
  });

  /** Waits until the element's text matches, failing with what it says instead. */
  async function textOf(selector: string, expected: RegExp): Promise<string> {
    try {
      await page.waitForFunction(
        ([sel, source]) => new RegExp(source as string).test(document.querySelector(sel as string)?.textContent ?? ''),
        [selector, expected.source],
        { timeout: 10_000 },
      );
    } catch {
      throw new Error(`${selector} never matched ${expected}: ${JSON.stringify(await page.textContent(selector))}`);
    }
    return (await page.textContent(selector)) ?? '';
  }
  /** Signs in as alice through the form and waits for the page to say so. */
  async function signIn(): Promise<void> {
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await textOf('#status', /Signed in as alice\./);
  }
  const jsonOf = async (selector: string) => JSON.parse((await page.textContent(selector)) ?? 'null') as Record<string, unknown>;
  const liveSessionIds = async () => (await server.runtime.sessions.listSessions(userId)).map((s) => s.id);
  const sentTo = (key: string) => sent.filter((s) => s.key === key);

  it('serves the page with a strict Content-Security-Policy and starts signed out', async () => {
    const response = await page.goto(`${http.url}/demo/`);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await textOf('#status', /Signed out\. Sign in to begin\./);
    expect(await page.isVisible('#signin-form')).toBe(true);
    expect(await page.isVisible('#token')).toBe(false);
    expect(await page.getByRole('button', { name: 'Call /api/me' }).isDisabled()).toBe(true);
  });

  it('signs in with the keyboard alone and shows the three verified layers', async () => {
    await page.getByLabel('Username').focus();
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await textOf('#status', /Signed in as alice\./);
    expect(await page.isVisible('#token')).toBe(true);

    const outer = await jsonOf('#outer-header');
    expect(outer).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', kid: expect.any(String) });
    const inner = await jsonOf('#inner-header');
    expect(inner).toEqual({ alg: 'ES256', kid: server.runtime.keys.signing.kid, typ: 'at+jwt' });
    const claims = await jsonOf('#claims');
    expect(claims).toMatchObject({ sub: userId, iss: server.config.issuer, aud: server.config.audience, sid: expect.any(String) });
    expect(await liveSessionIds()).toEqual([claims.sid]);

    expect(await textOf('#outer-check', /^Verified: decrypted with this browser's private key/)).toContain(String(outer.kid));
    expect(await textOf('#inner-check', /^Verified: ES256 signature/)).toContain(server.runtime.keys.signing.kid);
    await textOf('#claims-check', /^Verified: every required claim present/);
  });

  it('binds the session to a non-extractable DPoP key kept in IndexedDB, and shows the binding', async () => {
    const { cnf, sid } = (await jsonOf('#claims')) as { cnf?: { jkt: string }; sid: string };
    expect(cnf?.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await server.runtime.store.getSession(sid, Date.now()))?.dpopJkt).toBe(cnf?.jkt);
    expect(await textOf('#binding', /^Bound: token_type DPoP, cnf\.jkt /)).toContain(String(cnf?.jkt));
    const stored = await page.evaluate(
      () =>
        new Promise<{ jkt: string; extractable: boolean; algorithm: string }>((resolve, reject) => {
          const open = indexedDB.open('jwe-auth-client', 1);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('keys').objectStore('keys').get('client-key');
            get.onerror = () => reject(get.error);
            get.onsuccess = () => {
              const { proofKey } = get.result as { proofKey: { jkt: string; privateKey: CryptoKey } };
              resolve({ jkt: proofKey.jkt, extractable: proofKey.privateKey.extractable, algorithm: proofKey.privateKey.algorithm.name });
              open.result.close();
            };
          };
        }),
    );
    expect(stored).toEqual({ jkt: cnf?.jkt, extractable: false, algorithm: 'ECDSA' });
    const [login] = sentTo('POST /auth/login');
    expect(login?.dpop).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('calls the protected route with the DPoP scheme and a fresh proof each time, and shows the username', async () => {
    expect(await page.getByRole('button', { name: 'Call /api/me' }).isEnabled()).toBe(true);
    for (let call = 0; call < 2; call++) {
      await page.getByRole('button', { name: 'Call /api/me' }).click();
      await textOf('#me-output', /"username": "alice"/);
      await page.evaluate(() => {
        (document.getElementById('me-output') as HTMLElement).textContent = '';
      });
    }
    await page.getByRole('button', { name: 'Call /api/me' }).click();
    await textOf('#me-output', /"username": "alice"/);
    const me = await jsonOf('#me-output');
    expect(me).toEqual({ sub: userId, username: 'alice', session_id: (await jsonOf('#claims')).sid });
    const calls = sentTo('GET /api/me');
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.authorization?.startsWith('DPoP ') && c.dpop !== undefined)).toBe(true);
    expect(new Set(calls.map((c) => c.dpop)).size).toBe(3);
  });

  it('replays the token without the key and shows both refusals', async () => {
    const before = sentTo('GET /api/me').length;
    await page.getByRole('button', { name: 'Replay the token without the key' }).click();
    await textOf('#status', /The copied token was refused without the key\./);
    const output = await textOf('#replay-output', /As a Bearer token: 401 invalid_token/);
    expect(output).toContain('As a Bearer token: 401 invalid_token\n  WWW-Authenticate: Bearer error="invalid_token"');
    expect(output).toContain(`With a proof by the thief's key: 401 invalid_dpop_proof\n  WWW-Authenticate: DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"`);
    expect(sentTo('GET /api/me').length).toBe(before + 2);
    await page.getByRole('button', { name: 'Call /api/me' }).click();
    await textOf('#status', /\/api\/me answered for alice\./);
  });

  it('refreshes the token through the HttpOnly cookie', async () => {
    const before = await jsonOf('#claims');
    const refreshes = http.hits('POST /auth/refresh');
    await page.getByRole('button', { name: 'Refresh the token' }).click();
    await textOf('#status', /Token refreshed/);
    const after = await jsonOf('#claims');
    expect(after.jti).not.toBe(before.jti);
    expect(after.sid).toBe(before.sid);
    expect(http.hits('POST /auth/refresh')).toBe(refreshes + 1);
    expect(after.cnf).toEqual(before.cnf);
    expect(sentTo('POST /auth/refresh').at(-1)?.dpop).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const cookies = await page.context().cookies(`${http.url}/auth/refresh`);
    expect(cookies.find((c) => c.name === 'refresh_token')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/auth' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('lists a second session opened over HTTP and revokes it', async () => {
    const key = await makeClientKey('x25519');
    const login = await fetch(`${http.url}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD, client_key: key.publicJwk, refresh_transport: 'body' }),
    });
    expect(login.status).toBe(200);
    const other = (await login.json()) as { session_id: string; refresh_token: string };

    await page.getByRole('button', { name: 'List sessions' }).click();
    await textOf('#status', /2 live session\(s\)/);
    const otherItem = page.locator(`li[data-session-id="${other.session_id}"]`);
    expect(await otherItem.textContent()).toContain('Another client');
    expect(await page.locator('li.session').count()).toBe(2);

    await otherItem.getByRole('button', { name: /^Revoke the session/ }).click();
    await textOf('#status', /Session revoked\./);
    expect(await page.locator('li.session').count()).toBe(1);
    expect(await page.locator('li.session').textContent()).toContain('This browser');
    expect(await liveSessionIds()).not.toContain(other.session_id);
    const refused = await fetch(`${http.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: other.refresh_token }),
    });
    expect(refused.status).toBe(401);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('logs out: the session ends on the server, and /api/me cannot be called any more', async () => {
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await textOf('#status', /^Signed out\.$/);
    expect(await page.isVisible('#signin-form')).toBe(true);
    expect(await page.isVisible('#token')).toBe(false);
    expect(await liveSessionIds()).toEqual([]);
    expect(await page.getByRole('button', { name: 'Call /api/me' }).isDisabled()).toBe(true);
    expect(await page.textContent('#me-output')).toBe('No call yet.');
  });

  it('shows the error of a call whose session ended elsewhere, then clears it on the next sign-in', async () => {
    await signIn();
    await server.runtime.store.revokeUserSessions(userId, Date.now());
    await page.getByRole('button', { name: 'Call /api/me' }).click();
    await textOf('#me-output', /^invalid_grant: /);
    expect(await page.getAttribute('#me-output', 'data-kind')).toBe('error');
    expect(await page.getAttribute('#status', 'data-kind')).toBe('error');
    expect(await page.isVisible('#signin-form')).toBe(true);
    expect(await page.getByRole('button', { name: 'Call /api/me' }).isDisabled()).toBe(true);

    await signIn();
    expect(await page.textContent('#me-output')).toBe('No call yet.');
    expect(await page.getAttribute('#me-output', 'data-kind')).toBeNull();
    expect(await page.getAttribute('#status', 'data-kind')).toBe('ok');
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await textOf('#status', /^Signed out\.$/);
  });

  it('cannot pick the session up again after a reload, because the cookie was cleared', async () => {
    const refreshes = http.hits('POST /auth/refresh');
    await page.reload();
    await textOf('#status', /Signed out\. Sign in to begin\./);
    expect(http.hits('POST /auth/refresh')).toBe(refreshes + 1);
    expect(await page.isVisible('#signin-form')).toBe(true);
  });

  it('logged no page error and no Content-Security-Policy violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
