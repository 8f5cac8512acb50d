import type { Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { TokenRejectedError } from '../../src/errors.js';
import { ACCEPT_POLICY, acceptAccessToken, type AcceptOptions } from '../../src/tokens/index.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { accessClaims, es256ByHand, sealTo, signInner, type ClaimsTarget } from '../helpers/forge.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { brokenClaims, brokenInnerHeader } from './claims.js';
import { FuzzFigures } from './figures.js';
import { lengthExtremes, mutationsOf, otherSerialisations, type FuzzCase } from './mutations.js';

/**
 * Fuzzing of the accept pipeline: thousands of near misses of one genuine sealed bearer, each
 * refused. `FUZZ_RUNS` sets the total number of cases (default 3000, `npm run fuzz` 100 000) and
 * makes the suite print its figures; `FUZZ_SEED` replays a run.
 */
const TOTAL = Number(process.env.FUZZ_RUNS ?? 3000);
const PRINT = process.env.FUZZ_RUNS !== undefined;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** How the cases are shared: most go straight to the pipeline, a tenth through HTTP. */
const SHARE = { outer: 0.6, inner: 0.17, claims: 0.1, header: 0.03, http: 0.1 };
const runs = (share: number) => Math.max(50, Math.round(TOTAL * share));
const timeout = (share: number) => Math.max(60_000, runs(share) * 20);

const PASSWORD = 'correct horse battery';
const INVALID_TOKEN = { error: 'invalid_token', error_description: 'The access token is invalid' };
/** Node refuses request heads over 16 KiB before the app sees them (431); HTTP cases stay under. */
const HTTP_MAX_TOKEN = 12_000;
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;

let server: TestServer;
let listener: Server;
let alice: LoggedIn;
let target: ClaimsTarget;
let options: AcceptOptions;
let nested: FuzzCase[];
const figures = {
  outer: new FuzzFigures('sealed bearer mutated (direct)'),
  inner: new FuzzFigures('inner JWS mutated, sealed to the server (direct)'),
  claims: new FuzzFigures("claims broken under the server's signature (direct)"),
  header: new FuzzFigures("inner header broken under the server's signature (direct)"),
  http: new FuzzFigures('sealed bearer mutated (HTTP)'),
};

beforeAll(async () => {
  server = await startTestServer();
  const subject = await server.addUser('alice', PASSWORD);
  alice = await login(server.app, 'alice', PASSWORD);
  target = { issuer: server.config.issuer, audience: server.config.audience, subject, sessionId: alice.body.session_id as string };
  options = { issuer: server.config.issuer, audience: server.config.audience, accessTokenTtlMs: server.config.accessTokenTtl };
  listener = server.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  nested = [
    ...otherSerialisations(alice.bearer, alice.jws),
    { mutation: 'nested encoding', token: await sealTo(alice.bearer, server.runtime.keys.encryption) },
    { mutation: 'nested encoding', token: alice.accessToken },
  ];
});
afterAll(async () => {
  await new Promise((resolve) => listener.close(resolve));
  await server.close();
  if (PRINT) process.stdout.write(`\n${Object.values(figures).map((f) => f.report()).join('\n')}\n`);
});

/** How the pipeline answered: the refusal reason, shortened to its stage, or `ACCEPTED`/`ERROR`. */
async function outcomeOf(token: string): Promise<string> {
  try {
    await acceptAccessToken(token, server.runtime.keys, options);
    return 'ACCEPTED';
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) return `ERROR ${String(error)}`;
    return error.message.replace(/JWE header member .*/, 'JWE header member');
  }
}

/** Runs one direct property: every case is refused by acceptAccessToken with a TokenRejectedError. */
async function refusesAll<T>(tally: FuzzFigures, numRuns: number, cases: fc.Arbitrary<T>, tokenOf: (c: T) => Promise<FuzzCase>): Promise<void> {
  await tally.time(() =>
    fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const { mutation, token } = await tokenOf(c);
        const outcome = await outcomeOf(token);
        tally.record(mutation, outcome);
        expect({ mutation, outcome }).toEqual({ mutation, outcome: expect.not.stringMatching(/^(ACCEPTED|ERROR)/) });
      }),
      { numRuns, seed: SEED },
    ),
  );
}

describe('the fuzzing starts from a genuine token', () => {
  it('whose sealed bearer the pipeline and the HTTP app accept', async () => {
    expect(await outcomeOf(alice.bearer)).toBe('ACCEPTED');
    await request(listener).get('/api/me').set('Authorization', `Bearer ${alice.bearer}`).expect(200);
  });
});

describe('the accept pipeline refuses every near miss of a genuine bearer', () => {
  it(
    'mutated sealed bearers: bit flips, segments, base64 edge cases, header members, lengths, other serialisations',
    async () => {
      const arbitrary = fc.oneof(...mutationsOf(alice.bearer), lengthExtremes(alice.bearer, ACCEPT_POLICY.maxTokenLength), fc.constantFrom(...nested));
      await refusesAll(figures.outer, runs(SHARE.outer), arbitrary, async (c) => c);
      const outcomes = [...figures.outer.outcomes().keys()];
      // Not vacuous: cases reached every stage, down to the decryption itself.
      expect(outcomes).toEqual(expect.arrayContaining(['token too long', 'not a compact JWE', 'decrypt: JWE header member', 'JWE not canonical base64url', 'decrypt: ERR_JWE_DECRYPTION_FAILED']));
    },
    timeout(SHARE.outer),
  );

  it(
    'mutated inner JWS sealed properly to the server',
    async () => {
      const arbitrary = fc.oneof(...mutationsOf(alice.jws));
      await refusesAll(figures.inner, runs(SHARE.inner), arbitrary, async (c) => ({ ...c, token: await sealTo(c.token, server.runtime.keys.encryption) }));
      expect([...figures.inner.outcomes().keys()]).toEqual(expect.arrayContaining(['plaintext is not a compact JWS', 'verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED']));
    },
    timeout(SHARE.inner),
  );

  it(
    "broken claims under the server's own signature",
    async () => {
      const policy = { issuer: target.issuer, audience: target.audience, ttlSeconds: options.accessTokenTtlMs / 1000, toleranceSeconds: ACCEPT_POLICY.clockToleranceSeconds };
      const arbitrary = brokenClaims(() => accessClaims(target), policy);
      await refusesAll(figures.claims, runs(SHARE.claims), arbitrary, async (claims) => ({
        mutation: 'claims',
        token: await sealTo(await signInner(claims, server.runtime.keys.signing), server.runtime.keys.encryption),
      }));
      expect([...figures.claims.outcomes().keys()]).toEqual(expect.arrayContaining(['verify: claim types', 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED', 'verify: ERR_JWT_EXPIRED']));
    },
    timeout(SHARE.claims),
  );

  it(
    "a broken inner header under the server's own signature",
    async () => {
      const signing = server.runtime.keys.signing;
      expect(signing.alg).toBe('ES256');
      const arbitrary = brokenInnerHeader(signing.kid);
      await refusesAll(figures.header, runs(SHARE.header), arbitrary, async (edit) => {
        const header = JSON.parse(JSON.stringify({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt', ...edit })) as Record<string, unknown>;
        const jws = await es256ByHand(header, accessClaims(target), signing.privateKey);
        return { mutation: `inner header ${Object.keys(edit).join('+')}`, token: await sealTo(jws, server.runtime.keys.encryption) };
      });
    },
    timeout(SHARE.header),
  );
});

describe('the HTTP app answers every near miss with the one uniform 401', () => {
  const routes = [
    (bearer: string) => request(listener).get('/api/me').set('Authorization', bearer),
    (bearer: string) => request(listener).get('/auth/verify').set('Authorization', bearer),
    (bearer: string) => request(listener).get('/auth/sessions').set('Authorization', bearer),
    // Would end every session of Alice's if it accepted anything: checked by the last test.
    (bearer: string) => request(listener).post('/auth/logout-all-devices').set('Authorization', bearer),
  ];

  it(
    'on protected routes, never a 5xx, never a 2xx',
    async () => {
      const cases = fc.oneof(...mutationsOf(alice.bearer), lengthExtremes(alice.bearer, ACCEPT_POLICY.maxTokenLength), fc.constantFrom(...nested));
      const sendable = cases.filter((c) => c.token.length <= HTTP_MAX_TOKEN && HEADER_SAFE.test(c.token));
      await figures.http.time(() =>
        fc.assert(
          fc.asyncProperty(sendable, fc.nat({ max: routes.length - 1 }), async ({ mutation, token }, route) => {
            const res = await (routes[route] as (bearer: string) => request.Test)(`Bearer ${token}`);
            figures.http.record(mutation, String(res.status));
            expect({ mutation, status: res.status, body: res.body as unknown }).toEqual({ mutation, status: 401, body: INVALID_TOKEN });
            expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
          }),
          { numRuns: runs(SHARE.http), seed: SEED },
        ),
      );
    },
    timeout(SHARE.http) * 3,
  );

  it('and the genuine bearer still works afterwards: no near miss changed anything', async () => {
    const me = await request(listener).get('/api/me').set('Authorization', `Bearer ${alice.bearer}`).expect(200);
    expect(me.body).toMatchObject({ username: 'alice', session_id: target.sessionId });
  });
});
