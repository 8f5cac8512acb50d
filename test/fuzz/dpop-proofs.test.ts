import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import request from 'supertest';
import { createLogger } from '../../src/boot.js';
import { DPOP_POLICY } from '../../src/tokens/index.js';
import { fakeClock } from '../helpers/clock.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { FuzzFigures } from './figures.js';
import { mutationsOf, type FuzzCase } from './mutations.js';
import { proofEdits, proofLengthExtremes, proofOf, SPENT_JTI, type ProofKeys, type ProofTarget } from './proofs.js';

/**
 * Fuzzing of DPoP proofs (RFC 9449) on a real app: near misses of a sound proof for a DPoP-bound
 * session, sent with its genuine token to protected routes and with its genuine refresh token to
 * /auth/refresh. Never accepted, never a 5xx: always 401 `invalid_dpop_proof` with the DPoP
 * challenge on a protected route, 400 `invalid_dpop_proof` at refresh (the contract). `FUZZ_RUNS`
 * sets the accept-pipeline suite's total; this suite runs a fifth of it (default 600 cases) and
 * prints its figures when it is set; `FUZZ_SEED` replays a run.
 */
const TOTAL = Math.round(Number(process.env.FUZZ_RUNS ?? 3000) / 5);
const PRINT = process.env.FUZZ_RUNS !== undefined;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SHARE = { structure: 0.5, content: 0.5 };
const runs = (share: number) => Math.max(50, Math.round(TOTAL * share));
const timeout = (share: number) => Math.max(120_000, runs(share) * 100);

const PASSWORD = 'correct horse battery';
const ISSUER = 'https://auth.example';
const PROOF_CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"';
/** Node refuses request heads over 16 KiB (431); cases stay under, with the token beside them. */
const HTTP_MAX_PROOF = 9_000;
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** HTTP drops spaces and tabs around a header value: such a case is the sound proof again. */
const HTTP_TRIMMED = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');

/** The routes a case goes to: three protected ones (one would end every session if it accepted) and refresh. */
type Route = 'GET /api/me' | 'GET /auth/verify' | 'POST /auth/logout-all-devices' | 'POST /auth/refresh';
const ROUTES: readonly Route[] = ['GET /api/me', 'GET /auth/verify', 'POST /auth/logout-all-devices', 'POST /auth/refresh'];

/** The reason the server logged for the last refusal (debug level): the stage a case reached. */
class LastReason extends Writable {
  reason = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.includes('"reason"')) this.reason = String((JSON.parse(line) as { reason: unknown }).reason);
    }
    done();
  }
}

const time = fakeClock();
const nowSeconds = () => Math.floor(time.now() / 1000);
const reasons = new LastReason();
let server: TestServer;
let listener: Server;
let session: LoggedIn;
let keys: ProofKeys;
let targets: Record<Route, ProofTarget>;
const figures = {
  structure: new FuzzFigures('DPoP proof mutated: bytes, segments, base64, lengths (HTTP)'),
  content: new FuzzFigures('DPoP proof signed with one thing wrong (HTTP)'),
};

beforeAll(async () => {
  // The server's clock stands still, so a proof made once stays within its iat window for the whole run.
  server = await startTestServer({ ISSUER, REFRESH_REUSE_GRACE: '0s' }, undefined, { clock: time.clock, logger: createLogger({ logLevel: 'debug' }, reasons) });
  await server.addUser('alice', PASSWORD);
  keys = { own: await makeProofKey(), foreignEs256: await makeProofKey(), foreignEdDsa: await makeProofKey('EdDSA') };
  session = await login(server.app, 'alice', PASSWORD, { dpop: { key: keys.own, origin: ISSUER } });
  listener = server.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  const target = (route: Route): ProofTarget => {
    const [htm, path] = route.split(' ') as [string, string];
    return { htm, htu: `${ISSUER}${path}`, ...(route === 'POST /auth/refresh' ? {} : { token: session.bearer }) };
  };
  targets = Object.fromEntries(ROUTES.map((route) => [route, target(route)])) as Record<Route, ProofTarget>;
});
afterAll(async () => {
  await new Promise((resolve) => listener.close(resolve));
  await server.close();
  if (PRINT) process.stdout.write(`\n${Object.values(figures).map((f) => f.report()).join('\n')}\n`);
});

/** Sends `proof` (absent when `undefined`) on `route` with the session's genuine token. */
function send(route: Route, proof: string | undefined): request.Test {
  const dpop = proof === undefined ? {} : { DPoP: proof };
  if (route === 'POST /auth/refresh') return request(listener).post('/auth/refresh').set(dpop).send({ refresh_token: session.refreshToken });
  const [method, path] = route.split(' ') as ['GET' | 'POST', string];
  return request(listener)[method === 'GET' ? 'get' : 'post'](path).set({ Authorization: `DPoP ${session.bearer}`, ...dpop });
}

/** Sends one case and asserts the refusal the contract gives its route; records the stage it reached. */
async function expectRefused(tally: FuzzFigures, route: Route, { mutation, token }: FuzzCase): Promise<void> {
  reasons.reason = '(none logged)';
  const res = await send(route, token);
  const refresh = route === 'POST /auth/refresh';
  const outcome = `${res.status} ${String(res.body?.error)}: ${reasons.reason.replace(/(header member|jwk member) .*/, '$1')}`;
  tally.record(mutation, outcome);
  const expected = refresh ? { status: 400, error: 'invalid_dpop_proof', challenge: undefined } : { status: 401, error: 'invalid_dpop_proof', challenge: PROOF_CHALLENGE };
  expect({ mutation, route, status: res.status, error: res.body?.error, challenge: res.headers['www-authenticate'] }).toEqual({ mutation, route, ...expected });
}

describe('the DPoP fuzzing starts from a sound proof', () => {
  it('which every route accepts, and whose jti is then spent for the replay cases', async () => {
    const me = await send('GET /api/me', await proofOf(targets['GET /api/me'], keys, nowSeconds(), { claims: { jti: SPENT_JTI } }));
    expect(me.status).toBe(200);
    expect((await send('GET /auth/verify', await proofOf(targets['GET /auth/verify'], keys, nowSeconds()))).body.cnf).toEqual({ jkt: keys.own.jkt });
    // Refresh and logout-all are checked by the last test: accepting them now would change the session.
  });
});

describe('a DPoP-bound session refuses every near miss of a sound proof', () => {
  it(
    'proofs mutated: bit flips, characters, base64 edge cases, segments, header members, lengths',
    async () => {
      // One template per route, never sent: a mutation that still verified would be accepted and caught.
      const templates = await Promise.all(ROUTES.map(async (route) => [route, await proofOf(targets[route], keys, nowSeconds())] as const));
      const cases = fc.oneof(
        ...templates.map(([route, template]) =>
          fc
            .oneof(...mutationsOf(template), proofLengthExtremes(template, DPOP_POLICY.maxProofLength))
            .filter((c) => c.token.length <= HTTP_MAX_PROOF && HEADER_SAFE.test(c.token) && HTTP_TRIMMED(c.token) !== template)
            .map((c) => ({ route, c })),
        ),
      );
      await figures.structure.time(() =>
        fc.assert(
          fc.asyncProperty(cases, ({ route, c }) => expectRefused(figures.structure, route, c)),
          { numRuns: runs(SHARE.structure), seed: SEED },
        ),
      );
      const outcomes = [...figures.structure.outcomes().keys()].join('\n');
      // Not vacuous: cases reached every stage of the proof check, down to the signature.
      for (const stage of ['not a compact JWS', 'not canonical base64url', 'proof too long', 'header member', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED']) expect(outcomes).toContain(stage);
    },
    timeout(SHARE.structure),
  );

  it(
    'proofs signed with one thing wrong: a claim, a header member, the key, the signer',
    async () => {
      const cases = fc.constantFrom(...ROUTES).chain((route) => fc.oneof(...proofEdits(targets[route], nowSeconds())).map((edit) => ({ route, edit })));
      await figures.content.time(() =>
        fc.assert(
          fc.asyncProperty(cases, async ({ route, edit }) => {
            const proof = await proofOf(targets[route], keys, nowSeconds(), edit);
            if (proof.length > HTTP_MAX_PROOF) return;
            await expectRefused(figures.content, route, { mutation: edit.mutation, token: proof });
          }),
          { numRuns: runs(SHARE.content), seed: SEED },
        ),
      );
      const outcomes = [...figures.content.outcomes().keys()].join('\n');
      for (const stage of [
        'htm does not match',
        'htu does not match',
        'iat outside the window',
        'jti malformed',
        'jti replayed',
        'ath',
        'ERR_JOSE_ALG_NOT_ALLOWED',
        'jwk member',
        'jwk kind does not match alg',
        'malformed',
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        'proof key is not the key the token is bound to',
      ]) {
        expect(outcomes).toContain(stage);
      }
    },
    timeout(SHARE.content),
  );

  it('and the session is untouched afterwards: its token serves, its refresh token rotates, with sound proofs', async () => {
    const me = await send('GET /api/me', await proofOf(targets['GET /api/me'], keys, nowSeconds()));
    expect({ status: me.status, session: me.body.session_id }).toEqual({ status: 200, session: session.body.session_id });
    const rotated = await send('POST /auth/refresh', await makeProof(keys.own, { htm: 'POST', htu: `${ISSUER}/auth/refresh`, iat: nowSeconds() }));
    expect({ status: rotated.status, type: rotated.body.token_type }).toEqual({ status: 200, type: 'DPoP' });
  });
});
