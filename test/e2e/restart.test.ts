import { statSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/runtime.js';
import {
  cli,
  killAll,
  runCli,
  runContractClient,
  startServerExpectingFailure,
  startServerProcess,
  type ClientOutput,
  type ServerProcess,
  type StartOptions,
} from '../helpers/process.js';

/**
 * Restarts and key rotation, seen from outside: the server and the CLI run as child processes over a
 * temporary SQLite file and key directory, and tokens are obtained and replayed by the contract client.
 */
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'a passphrase long enough for the keys';

interface Jwk {
  kid: string;
  use: string;
  alg: string;
}

let temps: ReturnType<typeof tempDir>[] = [];
let servers: ServerProcess[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await killAll();
  for (const t of temps) t.remove();
  servers = [];
  temps = [];
}, 30_000);

/** A fresh temporary directory and the environment of a server over it. */
function setup(extra: Record<string, string> = {}): { dir: string; env: Record<string, string> } {
  const temp = tempDir('jwe-auth-e2e-restart-');
  temps.push(temp);
  return {
    dir: temp.dir,
    env: {
      SQLITE_PATH: path.join(temp.dir, 'auth.db'),
      KEYS_DIR: path.join(temp.dir, 'keys'),
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'silent',
      LOGIN_RATE_LIMIT: '1000',
      ...extra,
    },
  };
}

const preserving = (extra: Record<string, string> = {}) =>
  setup({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE, ...extra });

async function start(options: StartOptions): Promise<ServerProcess> {
  const server = await startServerProcess(options);
  servers.push(server);
  return server;
}

/** Stops a server and checks it shut down cleanly. */
async function stop(server: ServerProcess): Promise<void> {
  const exit = await server.stop();
  expect(exit).toEqual({ code: 0, signal: null });
  expect(server.stderr()).toBe('');
}

async function addUser(env: Record<string, string>, dir: string): Promise<void> {
  await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n`, cwd: dir });
}

/** Logs in with the contract client (which checks the whole flow) and returns what it printed. */
async function login(server: ServerProcess, kind: 'x25519' | 'p256' | 'rsa' = 'x25519'): Promise<ClientOutput> {
  const { code, output } = await runContractClient([server.url, 'alice', kind], { CLIENT_PASSWORD: PASSWORD, EXPORT_CLIENT_KEY: '1' });
  expect(output.error).toBeUndefined();
  expect(code).toBe(0);
  return output;
}

const replayBearer = async (server: ServerProcess, bearer: unknown) =>
  (await runContractClient([server.url], { REPLAY_BEARER: bearer as string })).output;
const replayJws = async (server: ServerProcess, jws: unknown) =>
  (await runContractClient([server.url], { REPLAY_JWS: jws as string })).output;
const replayRefresh = async (server: ServerProcess, refreshToken: unknown, clientKey?: unknown) =>
  (
    await runContractClient([server.url], {
      REPLAY_REFRESH: refreshToken as string,
      ...(clientKey === undefined ? {} : { CLIENT_KEY: JSON.stringify(clientKey) }),
    })
  ).output;

async function jwks(server: ServerProcess): Promise<Jwk[]> {
  const res = await fetch(`${server.url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { keys: Jwk[] }).keys;
}

const kidsOf = (keys: Jwk[], use: 'sig' | 'enc') => keys.filter((k) => k.use === use).map((k) => k.kid).sort();

describe('PRESERVE_SESSIONS_ON_REBOOT=1', () => {
  it('keeps access and refresh tokens working across a restart', async () => {
    const { dir, env } = preserving();
    const generated = await cli(['keys', 'generate'], { env, cwd: dir });
    expect(generated.stdout).toMatch(/signing\.pem.*encryption\.pem/);
    for (const file of ['signing.pem', 'encryption.pem']) {
      expect(statSync(path.join(dir, 'keys', file)).mode & 0o777).toBe(0o600);
    }
    // Without --force the keys are not overwritten.
    const again = await runCli(['keys', 'generate'], { env, cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--force/);
    await addUser(env, dir);

    const first = await start({ env, cwd: dir });
    const keysBefore = await jwks(first);
    const session = await login(first);
    await stop(first);

    const second = await start({ env, cwd: dir });
    expect(await jwks(second)).toEqual(keysBefore);

    const me = await replayBearer(second, session.bearer);
    expect(me).toMatchObject({ ok: true, me_status: 200, me: { username: 'alice', session_id: session.session_id } });
    expect(await replayJws(second, session.jws)).toMatchObject({ ok: true, me_status: 200 });

    const refreshed = await replayRefresh(second, session.refresh_token, session.client_key);
    expect(refreshed.error).toBeUndefined();
    expect(refreshed).toMatchObject({
      ok: true,
      refresh_status: 200,
      session_id: session.session_id,
      me_status: 200,
      me: { username: 'alice', session_id: session.session_id },
    });
    expect(refreshed.refresh_token).not.toBe(session.refresh_token);
    await stop(second);
  }, 90_000);
});

describe('PRESERVE_SESSIONS_ON_REBOOT=0', () => {
  it('refuses every earlier access and refresh token after a restart', async () => {
    const { dir, env } = setup({ PRESERVE_SESSIONS_ON_REBOOT: '0' });
    await addUser(env, dir);

    const first = await start({ env, cwd: dir });
    const keysBefore = await jwks(first);
    const session = await login(first);
    expect(await replayBearer(first, session.bearer)).toMatchObject({ me_status: 200 });
    await stop(first);

    const second = await start({ env, cwd: dir });
    const keysAfter = await jwks(second);
    for (const key of keysAfter) expect(keysBefore.map((k) => k.kid)).not.toContain(key.kid);

    const me = await replayBearer(second, session.bearer);
    expect(me).toMatchObject({ ok: true, me_status: 401, me: { error: 'invalid_token' } });
    expect(me.www_authenticate).toMatch(/^Bearer .*error="invalid_token"/);
    // The same signed token sealed to the new encryption key is refused too (the signature no longer verifies).
    const resealed = await replayJws(second, session.jws);
    expect(resealed).toMatchObject({ ok: true, me_status: 401, me: { error: 'invalid_token' } });
    expect(resealed.me).toEqual(me.me);

    const refreshed = await replayRefresh(second, session.refresh_token, session.client_key);
    expect(refreshed).toMatchObject({ ok: true, refresh_status: 401, body: { error: 'invalid_grant' } });

    // The users survive: a new login works on the restarted server.
    const fresh = await login(second);
    expect(fresh.session_id).not.toBe(session.session_id);
    await stop(second);
  }, 90_000);
});

describe('refusing to boot on bad keys', () => {
  const stackTrace = /^\s+at\s/m;

  it.each<{ name: string; boot: Record<string, string>; names: RegExp; file: boolean }>([
    {
      name: 'a wrong PRIVATE_KEY_PASSPHRASE',
      boot: { PRIVATE_KEY_PASSPHRASE: 'another sixteen-plus passphrase' },
      names: /PRIVATE_KEY_PASSPHRASE/,
      file: true,
    },
    { name: 'a key file of the wrong type', boot: { SIGNING_ALG: 'EdDSA' }, names: /signing\.pem/, file: true },
    { name: 'a too-short passphrase', boot: { PRIVATE_KEY_PASSPHRASE: 'short' }, names: /PRIVATE_KEY_PASSPHRASE/, file: false },
    { name: 'a bad PRESERVE_SESSIONS_ON_REBOOT', boot: { PRESERVE_SESSIONS_ON_REBOOT: 'yes' }, names: /PRESERVE_SESSIONS_ON_REBOOT/, file: false },
  ])('exits 1 with one stderr line on $name', async ({ boot, names, file }) => {
    const { dir, env } = preserving();
    await cli(['keys', 'generate'], { env, cwd: dir });
    const result = await startServerExpectingFailure({ env: { ...env, ...boot }, cwd: dir });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(result.stderr.endsWith('\n')).toBe(true);
    expect(lines[0]).toMatch(names);
    if (file) expect(lines[0]).toContain(path.join(dir, 'keys', 'signing.pem'));
    expect(result.stderr).not.toMatch(stackTrace);
    expect(result.stderr).not.toContain(PASSPHRASE);
    expect(result.stderr).not.toContain('another sixteen-plus passphrase');
    expect(result.stdout).not.toMatch(stackTrace);
  }, 30_000);

  it('exits 1 naming the missing key file when no keys were generated', async () => {
    const { dir, env } = preserving();
    const result = await startServerExpectingFailure({ env, cwd: dir });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path.join(dir, 'keys', 'signing.pem'));
    expect(lines[0]).toMatch(/missing/);
    expect(result.stderr).not.toMatch(stackTrace);
  }, 30_000);
});

describe('keys rotate on a running server', () => {
  it('publishes and accepts the new and the previous keys and signs new tokens with the new key', async () => {
    const { dir, env } = preserving({ KEY_RELOAD_INTERVAL: '1s' });
    await cli(['keys', 'generate'], { env, cwd: dir });
    await addUser(env, dir);
    const server = await start({ env, cwd: dir });

    const before = await jwks(server);
    expect(kidsOf(before, 'sig')).toHaveLength(1);
    expect(kidsOf(before, 'enc')).toHaveLength(1);
    const [oldSig] = kidsOf(before, 'sig');
    const [oldEnc] = kidsOf(before, 'enc');
    const session = await login(server);
    expect((session.inner_header as { kid: string }).kid).toBe(oldSig);

    const rotated = await cli(['keys', 'rotate'], { env, cwd: dir });
    expect(rotated.stdout).toMatch(/^rotated/);

    // The server notices within its reload interval (1 s); allow a few.
    let after = before;
    for (const deadline = Date.now() + 8000; Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await jwks(server);
      if (kidsOf(after, 'sig').length === 2 && kidsOf(after, 'enc').length === 2) break;
    }
    expect(kidsOf(after, 'sig')).toHaveLength(2);
    expect(kidsOf(after, 'enc')).toHaveLength(2);
    expect(kidsOf(after, 'sig')).toContain(oldSig);
    expect(kidsOf(after, 'enc')).toContain(oldEnc);
    const newSig = kidsOf(after, 'sig').find((kid) => kid !== oldSig);

    // The token made before the rotation still works, sealed to the previous encryption key.
    expect(await replayBearer(server, session.bearer)).toMatchObject({ me_status: 200, me: { session_id: session.session_id } });

    // A new login is signed with the new key (and the client verifies it against the JWKS).
    const fresh = await login(server);
    expect((fresh.inner_header as { kid: string }).kid).toBe(newSig);

    // A refresh of the earlier session is signed with the new key too.
    const refreshed = await replayRefresh(server, session.refresh_token, session.client_key);
    expect(refreshed).toMatchObject({ ok: true, refresh_status: 200, me_status: 200 });
    expect((refreshed.inner_header as { kid: string }).kid).toBe(newSig);

    await stop(server);
  }, 90_000);
});
