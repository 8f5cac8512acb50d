import path from 'node:path';
import { tempDir } from '../helpers/runtime.js';
import { cli, killAll, runContractClient, startServerProcess, type ServerProcess } from '../helpers/process.js';

/**
 * The real server as a child process, a user made with the real CLI, and the contract client
 * (examples/contract-client.mjs, written only from CONTRACT.md) as a third process.
 */
const PASSWORD = 'correct horse battery staple';
const OUTER_ALG = { x25519: 'ECDH-ES', p256: 'ECDH-ES+A256KW', rsa: 'RSA-OAEP-256' } as const;

let temp: ReturnType<typeof tempDir>;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  temp = tempDir('jwe-auth-e2e-client-');
  env = {
    SQLITE_PATH: path.join(temp.dir, 'auth.db'),
    KEYS_DIR: path.join(temp.dir, 'keys'),
    COOKIE_SECURE: 'false',
    LOG_LEVEL: 'silent',
    LOGIN_RATE_LIMIT: '1000',
  };
  const added = await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n`, cwd: temp.dir });
  expect(added.stdout).toMatch(/^created user alice /);
  server = await startServerProcess({ env, cwd: temp.dir });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await killAll();
  temp?.remove();
}, 30_000);

describe('the contract client against a server process', () => {
  it.each(['x25519', 'p256', 'rsa'] as const)(
    'logs in with a %s key, opens and verifies the token, and calls /api/me and /auth/verify',
    async (kind) => {
      const { code, output, stderr } = await runContractClient([server.url, 'alice', kind], { CLIENT_PASSWORD: PASSWORD });
      expect(output.error).toBeUndefined();
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(output).toMatchObject({ ok: true, mode: 'login', kind, login_status: 200, token_type: 'Bearer', me_status: 200, verify_status: 200 });

      const claims = output.claims as Record<string, unknown>;
      const sessionId = output.session_id as string;
      expect(output.outer_header).toMatchObject({ alg: OUTER_ALG[kind], enc: 'A256GCM', cty: 'JWT', kid: output.client_kid });
      expect(output.inner_header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      expect(claims).toMatchObject({ iss: 'http://localhost:3000', aud: 'jwe-auth-server', sid: sessionId });
      expect(claims.exp as number).toBeGreaterThan(Date.now() / 1000);
      expect(output.me).toEqual({ sub: claims.sub, username: 'alice', session_id: sessionId });
      expect(output.verify).toMatchObject({ active: true, sub: claims.sub, sid: sessionId, jti: claims.jti });
      expect(output.tampered_status).toBe(401);

      // The inner JWS is signed by a published signing key; the bearer went to a published encryption key.
      const kids = output.jwks_kids as { kid: string; use: string }[];
      expect(kids).toContainEqual(expect.objectContaining({ kid: (output.inner_header as { kid: string }).kid, use: 'sig' }));
      expect(kids).toContainEqual(expect.objectContaining({ kid: output.server_enc_kid, use: 'enc' }));

      // The sealed bearer the client printed is reusable by another process.
      const replay = await runContractClient([server.url], { REPLAY_BEARER: output.bearer as string });
      expect(replay.code).toBe(0);
      expect(replay.output).toMatchObject({ me_status: 200, me: { username: 'alice', session_id: sessionId } });
    },
    60_000,
  );

  it('binds the session to a DPoP key with DPOP=1: token_type DPoP, cnf.jkt, and the bound token refused without the key', async () => {
    const { code, output } = await runContractClient([server.url, 'alice', 'p256'], { CLIENT_PASSWORD: PASSWORD, DPOP: '1', EXPORT_CLIENT_KEY: '1' });
    expect(output.error).toBeUndefined();
    expect(code).toBe(0);
    expect(output).toMatchObject({ ok: true, token_type: 'DPoP', me_status: 200, verify_status: 200, tampered_status: 401 });
    const jkt = output.dpop_jkt as string;
    expect((output.claims as { cnf: unknown }).cnf).toEqual({ jkt });
    expect((output.verify as { cnf: unknown }).cnf).toEqual({ jkt });
    expect(output.dpop_refusals).toEqual({
      bearer_status: 401,
      no_proof_status: 401,
      no_proof_challenge: 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"',
    });

    // Another process replaying the sealed token: refused without the key, served with it.
    const stolen = await runContractClient([server.url], { REPLAY_BEARER: output.bearer as string });
    expect(stolen.output).toMatchObject({ ok: true, me_status: 401, me: { error: 'invalid_token' } });
    const owner = await runContractClient([server.url], { REPLAY_BEARER: output.bearer as string, DPOP_KEY: JSON.stringify(output.dpop_key) });
    expect(owner.output).toMatchObject({ ok: true, me_status: 200, me: { username: 'alice' } });

    const refreshed = await runContractClient([server.url], {
      REPLAY_REFRESH: output.refresh_token as string,
      CLIENT_KEY: JSON.stringify(output.client_key),
      DPOP_KEY: JSON.stringify(output.dpop_key),
    });
    expect(refreshed.output.error).toBeUndefined();
    expect(refreshed.output).toMatchObject({ refresh_status: 200, token_type: 'DPoP', me_status: 200, claims: { cnf: { jkt } } });
  }, 60_000);

  it('fails (exit 1, no tokens printed) when the password is wrong', async () => {
    const { code, output } = await runContractClient([server.url, 'alice', 'x25519'], { CLIENT_PASSWORD: 'not the password' });
    expect(code).toBe(1);
    expect(output.ok).toBe(false);
    expect(output.error).toMatch(/401.*invalid_credentials/);
    expect(output).not.toHaveProperty('bearer');
  }, 30_000);

  it('gives each login its own session', async () => {
    const [a, b] = await Promise.all(
      (['x25519', 'p256'] as const).map((kind) => runContractClient([server.url, 'alice', kind], { CLIENT_PASSWORD: PASSWORD })),
    );
    expect(a?.output.ok && b?.output.ok).toBe(true);
    expect(a?.output.session_id).not.toBe(b?.output.session_id);
    expect((a?.output.claims as { sub: string }).sub).toBe((b?.output.claims as { sub: string }).sub);
  }, 60_000);

  it('wrote nothing to stderr while serving', () => {
    expect(server.stderr()).toBe('');
  });
});
