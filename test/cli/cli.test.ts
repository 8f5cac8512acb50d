import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import type { JWK } from 'jose';
import { auditLinesOf, runInProcess, type CliResult } from '../helpers/cli.js';
import { login } from '../helpers/flow.js';
import { startTestServer, tempDirPerTest, type TestServer } from '../helpers/runtime.js';

/**
 * The `jwe-auth` commands, run in this process through `runCli` (the bin script is only that call;
 * `terminal.test.ts` runs the real bin). Each test has its own SQLite file and key folder.
 */
const PASSPHRASE = 'a passphrase of some length';
const PASSWORD = 'correct horse battery';

/** `users add` hashes with argon2 and the key commands write PEMs: tests get more time. */
const SLOW = 60_000;

const dir = tempDirPerTest('jwe-auth-cli-');

const sqlitePath = () => path.join(dir(), 'auth.db');
const keysDir = () => path.join(dir(), 'keys');
const jweAuth = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> =>
  runInProcess(args, {
    stdin: options.stdin,
    env: { SQLITE_PATH: sqlitePath(), KEYS_DIR: keysDir(), PRIVATE_KEY_PASSPHRASE: PASSPHRASE, ...options.env },
  });

/** Runs the CLI and expects it to succeed, writing nothing on stderr but audit lines (returned). */
async function okWithAudit(args: string[], stdin?: string): Promise<{ stdout: string; audit: Array<Record<string, unknown>> }> {
  const result = await jweAuth(args, { stdin });
  expect({ code: result.code, stderr: result.stderr.replace(/^\{.*"msg":"audit"\}\n/gm, '') }).toEqual({ code: 0, stderr: '' });
  return { stdout: result.stdout, audit: auditLinesOf(result.stderr) };
}

/** Runs the CLI and expects it to succeed; returns its stdout. */
const ok = async (args: string[], stdin?: string): Promise<string> => (await okWithAudit(args, stdin)).stdout;

/** Runs the CLI and expects exit code 1 with exactly one line on stderr, which it returns. */
async function fails(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<string> {
  const result = await jweAuth(args, options);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^jwe-auth: [^\n]+\n$/);
  return result.stderr;
}

const listed = async () =>
  (await ok(['users', 'list']))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t').slice(0, 2));

describe('jwe-auth users', () => {
  it('adds a user with the password read from standard input, stored as an argon2id hash', async () => {
    expect(await ok(['users', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).toMatch(/^created user alice \([0-9a-f-]{36}\)\n$/);
    const db = new Database(sqlitePath(), { readonly: true });
    const row = db.prepare('SELECT password_hash FROM users WHERE username = ?').get('alice') as { password_hash: string };
    db.close();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
    expect(await listed()).toEqual([['alice', 'enabled']]);
  }, SLOW);

  it('refuses to add a user twice, with one line and exit code 1', async () => {
    await ok(['users', 'add', 'alice', '--password-stdin'], PASSWORD);
    expect(await fails(['users', 'add', 'alice', '--password-stdin'], { stdin: PASSWORD })).toContain('alice');
    expect(await fails(['users', 'add', 'ALICE', '--password-stdin'], { stdin: PASSWORD })).toContain('ALICE');
    expect(await listed()).toEqual([['alice', 'enabled']]);
  }, SLOW);

  it('refuses a user without --password-stdin, with a short password, or with a malformed name', async () => {
    await fails(['users', 'add', 'bob'], { stdin: PASSWORD });
    await fails(['users', 'add', 'bob', '--password-stdin'], { stdin: 'short\n' });
    await fails(['users', 'add', 'bob smith', '--password-stdin'], { stdin: PASSWORD });
    await fails(['users', 'add', 'bob', '--password-stdin'], { stdin: '' });
    expect(await listed()).toEqual([]);
  }, SLOW);

  it('lists, disables, enables and deletes users', async () => {
    await ok(['users', 'add', 'bob', '--password-stdin'], PASSWORD);
    await ok(['users', 'add', 'alice', '--password-stdin'], PASSWORD);
    expect(await listed()).toEqual([
      ['alice', 'enabled'],
      ['bob', 'enabled'],
    ]);
    expect(await ok(['users', 'disable', 'bob'])).toBe('disabled user bob\n');
    expect(await listed()).toEqual([
      ['alice', 'enabled'],
      ['bob', 'disabled'],
    ]);
    expect(await ok(['users', 'enable', 'bob'])).toBe('enabled user bob\n');
    expect(await listed()).toEqual([
      ['alice', 'enabled'],
      ['bob', 'enabled'],
    ]);
    expect(await ok(['users', 'delete', 'bob'])).toBe('deleted user bob\n');
    expect(await listed()).toEqual([['alice', 'enabled']]);
  }, SLOW);

  it('writes one audit line per change on stderr, with the user, never the password', async () => {
    const added = await okWithAudit(['users', 'add', 'bob', '--password-stdin'], PASSWORD);
    const id = /\(([0-9a-f-]{36})\)/.exec(added.stdout)?.[1];
    expect(added.audit).toEqual([expect.objectContaining({ level: 30, msg: 'audit', event: 'user_created', username: 'bob', user_id: id })]);
    for (const [command, event] of [
      ['disable', 'user_disabled'],
      ['enable', 'user_enabled'],
      ['delete', 'user_deleted'],
    ] as const) {
      expect((await okWithAudit(['users', command, 'BOB'])).audit).toEqual([expect.objectContaining({ event, username: 'bob', user_id: id })]);
    }
    expect((await okWithAudit(['users', 'list'])).audit).toEqual([]);
    expect(JSON.stringify(added.audit)).not.toContain(PASSWORD);
  }, SLOW);

  it('writes no audit line with LOG_LEVEL=silent', async () => {
    const result = await jweAuth(['users', 'add', 'bob', '--password-stdin'], { stdin: PASSWORD, env: { LOG_LEVEL: 'silent' } });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  }, SLOW);

  it.each(['disable', 'enable', 'delete', 'passwd'])('%s of an unknown user fails with one line naming it', async (command) => {
    await ok(['users', 'add', 'alice', '--password-stdin'], PASSWORD);
    expect(await fails(['users', command, 'nobody'])).toContain('nobody');
    expect(await listed()).toEqual([['alice', 'enabled']]);
  }, SLOW);

  it('fails with one line on a bad configuration', async () => {
    expect(await fails(['users', 'list'], { env: { STORE: 'postgres' } })).toContain('STORE');
  }, SLOW);
});

describe('jwe-auth keys', () => {
  const signing = () => path.join(keysDir(), 'signing.pem');
  const encryption = () => path.join(keysDir(), 'encryption.pem');
  const modeOf = (file: string) => statSync(file).mode & 0o777;

  it('generates passphrase-protected PEMs with mode 0600', async () => {
    await ok(['keys', 'generate']);
    for (const file of [signing(), encryption()]) {
      expect(modeOf(file)).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    }
  }, SLOW);

  it('refuses to overwrite them without --force, and overwrites them with it', async () => {
    await ok(['keys', 'generate']);
    const before = readFileSync(signing(), 'utf8');
    expect(await fails(['keys', 'generate'])).toContain(signing());
    expect(readFileSync(signing(), 'utf8')).toBe(before);
    await ok(['keys', 'generate', '--force']);
    expect(readFileSync(signing(), 'utf8')).not.toBe(before);
    expect(modeOf(signing())).toBe(0o600);
  }, SLOW);

  it('needs a passphrase of at least 16 characters', async () => {
    expect(await fails(['keys', 'generate'], { env: { PRIVATE_KEY_PASSPHRASE: '' } })).toContain('PRIVATE_KEY_PASSPHRASE');
    expect(await fails(['keys', 'generate'], { env: { PRIVATE_KEY_PASSPHRASE: 'too short' } })).toContain('PRIVATE_KEY_PASSPHRASE');
    expect(existsSync(signing())).toBe(false);
  }, SLOW);

  it('rotates: new current keys, the old ones kept as *.previous.pem with mode 0600', async () => {
    await ok(['keys', 'generate']);
    const old = { signing: readFileSync(signing(), 'utf8'), encryption: readFileSync(encryption(), 'utf8') };
    await ok(['keys', 'rotate']);
    for (const role of ['signing', 'encryption'] as const) {
      const previous = path.join(keysDir(), `${role}.previous.pem`);
      expect(readFileSync(previous, 'utf8')).toBe(old[role]);
      expect(modeOf(previous)).toBe(0o600);
      expect(readFileSync(path.join(keysDir(), `${role}.pem`), 'utf8')).not.toBe(old[role]);
    }
  }, SLOW);

  it('refuses to rotate again while the previous keys are still accepted', async () => {
    await ok(['keys', 'generate']);
    await ok(['keys', 'rotate']);
    expect(await fails(['keys', 'rotate'])).toContain('signing.previous.pem');
  }, SLOW);

  it('refuses to rotate keys it cannot read', async () => {
    expect(await fails(['keys', 'rotate'])).toContain(signing());
    await ok(['keys', 'generate']);
    expect(await fails(['keys', 'rotate'], { env: { PRIVATE_KEY_PASSPHRASE: 'another passphrase, long enough' } })).toContain(signing());
  }, SLOW);
});

describe('the CLI and a running server on the same SQLite file', () => {
  let server: TestServer;
  let running: TestServer | undefined;
  const start = async (env: Record<string, string> = {}) => {
    running = server = await startTestServer(env, dir());
  };
  afterEach(async () => {
    await running?.close();
    running = undefined;
  }, SLOW);

  const me = (bearer: string) => request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`);

  it("takes user changes into account on the server's next request", async () => {
    await start();
    expect(server.config.sqlitePath).toBe(sqlitePath());
    await ok(['users', 'add', 'dave', '--password-stdin'], PASSWORD);
    const dave = await login(server.app, 'dave', PASSWORD);
    await me(dave.bearer).expect(200);

    await ok(['users', 'disable', 'dave']);
    const disabled = await me(dave.bearer);
    expect({ status: disabled.status, error: disabled.body.error as unknown }).toEqual({ status: 401, error: 'invalid_token' });
    expect(disabled.headers['www-authenticate']).toContain('error="invalid_token"');
    const refused = await request(server.app).post('/auth/login').send({ username: 'dave', password: PASSWORD, client_key: dave.client.publicJwk });
    expect({ status: refused.status, error: refused.body.error as unknown }).toEqual({ status: 401, error: 'invalid_credentials' });

    await ok(['users', 'enable', 'dave']);
    await me(dave.bearer).expect(200);

    await ok(['users', 'delete', 'dave']);
    const deleted = await me(dave.bearer);
    expect({ status: deleted.status, error: deleted.body.error as unknown }).toEqual({ status: 401, error: 'invalid_token' });
  }, SLOW);

  it('has a preserving server pick up a key rotation without a restart, still accepting earlier tokens', async () => {
    await ok(['keys', 'generate']);
    await ok(['users', 'add', 'erin', '--password-stdin'], PASSWORD);
    await start({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE, KEYS_DIR: keysDir() });
    const erin = await login(server.app, 'erin', PASSWORD);
    const before = erin.jwks.keys.map((k: JWK) => k.kid);

    await ok(['keys', 'rotate']);
    expect(await server.runtime.keys.reload()).toBe(true);
    const after = ((await request(server.app).get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] }).keys.map((k) => k.kid);
    expect(after.slice(2)).toEqual(before);
    expect(after.slice(0, 2)).not.toEqual(before);

    await me(erin.bearer).expect(200);
    const fresh = await login(server.app, 'erin', PASSWORD);
    await me(fresh.bearer).expect(200);
  }, SLOW);
});
