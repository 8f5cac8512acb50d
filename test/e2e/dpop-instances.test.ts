import type { JWK } from 'jose';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { cli, killAll, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, redisFleetEnv, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/runtime.js';

/**
 * A DPoP proof is spent on every instance of a fleet: two server processes share one Redis, and a
 * proof accepted by one is refused by the other. The client is jose alone, over real HTTP.
 */
const PASSWORD = 'correct horse battery staple';
const ISSUER = 'https://auth.example';

describeWithRedis('DPoP proofs across two server processes on one Redis', () => {
  const temp = tempDir();
  const prefix = uniquePrefix('dpop-e2e');
  const env = { ...redisFleetEnv(temp.dir, prefix), ISSUER };
  let a: ServerProcess;
  let b: ServerProcess;
  let key: ProofKey;
  let sealed: string;

  beforeAll(async () => {
    await cli(['keys', 'generate'], { env });
    await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n` });
    [a, b] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
    key = await makeProofKey();
    const client = await makeClientKey();
    const login = await fetch(`${a.url}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', DPoP: await makeProof(key, { htm: 'POST', htu: `${ISSUER}/auth/login` }) },
      body: JSON.stringify({ username: 'alice', password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' }),
    });
    expect(login.status).toBe(200);
    const body = (await login.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe('DPoP');
    const jwks = (await (await fetch(`${a.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    sealed = await sealToServer(await openAccessToken(body.access_token, client), jwks);
  }, 60_000);
  afterAll(async () => {
    await killAll();
    await deleteKeys(REDIS_TEST_URL, prefix);
    temp.remove();
  });

  /** GET /api/me on one instance with the bound token and a proof; answers the status and error. */
  const me = async (server: ServerProcess, proof: string) => {
    const res = await fetch(`${server.url}/api/me`, { headers: { Authorization: `DPoP ${sealed}`, DPoP: proof } });
    const body = (await res.json()) as { error?: string };
    return { status: res.status, error: body.error };
  };
  const proof = () => makeProof(key, { htm: 'GET', htu: `${ISSUER}/api/me`, token: sealed });

  it('serves a fresh proof on either instance, and refuses a proof on B that A accepted', async () => {
    expect(await me(b, await proof())).toEqual({ status: 200, error: undefined });
    const once = await proof();
    expect(await me(a, once)).toEqual({ status: 200, error: undefined });
    expect(await me(b, once)).toEqual({ status: 401, error: 'invalid_dpop_proof' });
    expect(await me(a, once)).toEqual({ status: 401, error: 'invalid_dpop_proof' });
  });

  it('accepts one proof sent to both instances at once exactly once', async () => {
    const once = await proof();
    const answers = await Promise.all([me(a, once), me(b, once), me(a, once), me(b, once)]);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.error === 'invalid_dpop_proof')).toHaveLength(3);
  });
});
