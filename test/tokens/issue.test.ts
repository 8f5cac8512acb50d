import { loadConfig } from '../../src/config/index.js';
import { KeyManager } from '../../src/keys/manager.js';
import { issueAccessToken, parseClientKey } from '../../src/tokens/index.js';
import { makeClientKey, openAccessToken, verifyInner, type ClientKeyPair } from '../helpers/client.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
let keys: KeyManager;
let client: ClientKeyPair;
beforeAll(async () => {
  keys = await KeyManager.create(loadConfig({}));
  client = await makeClientKey();
});

/** Issues a token at NOW and answers what the client reads from it. */
async function issued(ttlMs: number, dpopJkt?: string | null) {
  const result = await issueAccessToken({
    issuer: 'https://auth.example',
    audience: 'jwe-auth-server',
    subject: 'user-1',
    sessionId: 'session-1',
    ttlMs,
    signingKey: keys.signing,
    clientKey: await parseClientKey(client.publicJwk),
    dpopJkt,
    now: NOW,
  });
  const jws = await openAccessToken(result.token, client);
  const claims = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
  return { result, claims, jws };
}

describe('issueAccessToken', () => {
  it('issues a token of the lifetime asked, in whole seconds, dated by the time given', async () => {
    const { result, claims, jws } = await issued(900_000);
    expect(result.expiresIn).toBe(900);
    expect(claims).toMatchObject({ iss: 'https://auth.example', aud: 'jwe-auth-server', sub: 'user-1', sid: 'session-1', jti: result.jti, iat: NOW / 1000, exp: NOW / 1000 + 900 });
    expect(claims).not.toHaveProperty('cnf');
    await expect(verifyInner(jws, keys.jwks())).resolves.toMatchObject({ sid: 'session-1' });
  });

  it('never issues a token of less than one second', async () => {
    const { result, claims } = await issued(400);
    expect({ expiresIn: result.expiresIn, lifetime: (claims.exp as number) - (claims.iat as number) }).toEqual({ expiresIn: 1, lifetime: 1 });
  });

  it('binds a token to a DPoP key with cnf.jkt, and not when there is none', async () => {
    expect((await issued(60_000, 'A'.repeat(43))).claims).toMatchObject({ sid: 'session-1', cnf: { jkt: 'A'.repeat(43) } });
    expect((await issued(60_000, null)).claims).not.toHaveProperty('cnf');
  });
});
