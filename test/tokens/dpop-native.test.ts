import fc from 'fast-check';
import { DpopProofRejectedError, TokenRejectedError } from '../../src/errors.js';
import { openProof, proofJwk, proofKeysKept, verifyDpopProof } from '../../src/tokens/dpop.js';
import { canonical, DPOP_POLICY } from '../../src/tokens/policy.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { base64url } from '../helpers/forge.js';
import { openProofWithJose } from '../helpers/open-proof-with-jose.js';
import { mutationsOf, oddValue } from '../fuzz/mutations.js';
import { proofEdits, proofOf, type ProofKeys, type ProofTarget } from '../fuzz/proofs.js';

/**
 * The node:crypto JOSE layer of a DPoP proof (`openProof`) held to jose's `jwtVerify`
 * (`openProofWithJose`, the implementation it replaced) on sound proofs and thousands of near
 * misses: both open a proof with the same claims and thumbprint, or both refuse it for the same
 * reason. `DIFF_RUNS` sets the cases per property (default 150).
 */
const RUNS = Number(process.env.DIFF_RUNS ?? 150);
const CHECK_REACH = RUNS >= 100;
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0, 700);
const NOW_S = Math.floor(NOW / 1000);
const TARGET: ProofTarget = { htm: 'GET', htu: 'https://auth.example/api/me', token: 'header..iv.ciphertext.tag' };

/** `input` (an encoded header and claims set) signed by a proof key for real, whatever it holds. */
async function signedBy(key: ProofKey, input: string): Promise<string> {
  const algorithm = key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
  const signature = await crypto.subtle.sign(algorithm, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

type Outcome = { opened: unknown } | { refused: string };

/** What `openProof` makes of a proof that passed the shape checks `verifyDpopProof` makes first. */
function nativeOutcome(proof: string): Outcome {
  try {
    return { opened: openProof(proof, NOW) };
  } catch (error) {
    if (error instanceof DpopProofRejectedError) return { refused: error.reason };
    if (error instanceof TokenRejectedError) return { refused: `verify: ${error.reason}` };
    return { refused: `ERROR ${String(error)}` };
  }
}

/** Whether `verifyDpopProof` lets a proof reach `openProof` (size, shape, canonical base64url). */
const reachesOpen = (proof: string) => proof.length <= DPOP_POLICY.maxProofLength && DPOP_POLICY.compactJws.test(proof) && canonical(proof);

/** Both engines on one proof: the same outcome. Returns the refusal reason, or `OPENED`. */
async function agree(proof: string): Promise<string> {
  if (!reachesOpen(proof)) return 'SHAPE';
  const jose = await openProofWithJose(proof, NOW);
  const native = nativeOutcome(proof);
  expect({ proof, native }).toEqual({ proof, native: 'refused' in jose ? jose : { opened: jose } });
  return 'refused' in native ? native.refused : 'OPENED';
}

describe.each(['ES256', 'EdDSA'] as const)('openProof (node:crypto) and jose agree with an %s proof key', (alg) => {
  let keys: ProofKeys;
  let sound: string;
  beforeAll(async () => {
    keys = { own: await makeProofKey(alg), foreignEs256: await makeProofKey('ES256'), foreignEdDsa: await makeProofKey('EdDSA') };
    sound = await proofOf(TARGET, keys, NOW_S);
  });

  it('opens a sound proof, with its claims and the thumbprint of its key', async () => {
    expect(await agree(sound)).toBe('OPENED');
    expect(openProof(sound, NOW)).toEqual({ payload: expect.objectContaining({ htm: 'GET', iat: NOW_S }), jkt: keys.own.jkt });
    // The second opening finds the key already imported, and says the same.
    expect(openProof(sound, NOW).jkt).toBe(keys.own.jkt);
  });

  it('on proofs signed with one thing wrong: a header member, a claim, the key, the signer', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...proofEdits(TARGET, NOW_S)), async (edit) => {
        // The edits of a `y` coordinate are made for a P-256 key: an Ed25519 key has none to edit.
        const proof = await proofOf(TARGET, keys, NOW_S, edit).catch(() => undefined);
        fc.pre(proof !== undefined);
        seen.add(await agree(proof as string));
      }),
      { numRuns: RUNS },
    );
    if (CHECK_REACH) {
      // The cases reached the key policy, the claims, and past them (the rarer stages: the next test).
      expect([...seen]).toEqual(expect.arrayContaining(['OPENED', 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED']));
      expect([...seen].some((reason) => reason.startsWith('jwk '))).toBe(true);
    }
  });

  it('on each signer and on algorithms outside the allowlist, case by case', async () => {
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { signer: 'other key, own jwk' }))).toBe('verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { signer: 'foreign ES256' }))).toBe('OPENED');
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { signer: 'foreign EdDSA' }))).toBe('OPENED');
    for (const alg of ['none', 'HS256', 'RS256', 'ES384', 'Ed25519', 'es256']) {
      expect(await agree(await proofOf(TARGET, keys, NOW_S, { header: { alg } }))).toBe('verify: ERR_JOSE_ALG_NOT_ALLOWED');
    }
    for (const alg of ['', 42, null]) expect(await agree(await proofOf(TARGET, keys, NOW_S, { header: { alg } }))).toBe('verify: ERR_JWS_INVALID');
  });

  it('on mutations of the characters, segments and header of a sound proof', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...mutationsOf(sound)), async ({ token }) => {
        seen.add(await agree(token));
      }),
      { numRuns: RUNS },
    );
    if (CHECK_REACH) expect([...seen]).toEqual(expect.arrayContaining(['verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'verify: ERR_JWS_INVALID']));
  });

  it('on the times and the critical header members jose checks itself: exp, nbf, iat, crit and b64', async () => {
    const timeValue = fc.oneof(oddValue, fc.integer({ min: NOW_S - 3, max: NOW_S + 3 }), fc.constantFrom(NOW_S - 0.5, NOW_S + 0.5, 1e308, -1e308));
    const edit = fc.oneof(
      fc.record({ claims: fc.dictionary(fc.constantFrom('exp', 'nbf', 'iat'), timeValue, { minKeys: 1, maxKeys: 3 }) }),
      fc.record({ header: fc.dictionary(fc.constantFrom('crit', 'b64'), fc.oneof(oddValue, fc.constantFrom(['b64'], ['exp'], [''], ['b64', 'b64']))) }),
      fc.record({ header: fc.record({ typ: fc.constantFrom('DPoP+JWT', 'application/dpop+jwt', 'APPLICATION/DPOP+JWT', 'application/dpop+jwt; x', 'dpop+jwt ', 'x/dpop+jwt') }) }),
    );
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(edit, async (change) => {
        seen.add(await agree(await proofOf(TARGET, keys, NOW_S, change)));
      }),
      { numRuns: RUNS },
    );
    if (CHECK_REACH) expect([...seen]).toEqual(expect.arrayContaining(['OPENED', 'verify: ERR_JWT_EXPIRED', 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED']));
  });

  it('on exp and nbf at the very second of now, and a claims set that is not an object under a sound signature', async () => {
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { claims: { exp: NOW_S } }))).toBe('verify: ERR_JWT_EXPIRED');
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { claims: { exp: NOW_S + 1 } }))).toBe('OPENED');
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { claims: { nbf: NOW_S } }))).toBe('OPENED');
    expect(await agree(await proofOf(TARGET, keys, NOW_S, { claims: { nbf: NOW_S + 1 } }))).toBe('verify: ERR_JWT_CLAIM_VALIDATION_FAILED');
    const header = base64url(JSON.stringify({ typ: 'dpop+jwt', alg, jwk: keys.own.publicJwk }));
    for (const text of ['null', '[]', '"claims"', '7', '{"htm":', '\u00ff']) {
      const payload = base64url(Buffer.from(text, 'latin1'));
      expect(await agree(await signedBy(keys.own, `${header}.${payload}`))).toBe('verify: ERR_JWT_INVALID');
    }
  });

  it('on a header or a claims set that is not a JSON object, or not UTF-8', async () => {
    const [header, payload] = sound.split('.') as [string, string, string];
    const segments = ['null', '[]', '"dpop"', '42', '{', '{"alg":"ES256"', '\u00ff\u00fe', ''].map((text) => base64url(Buffer.from(text, 'latin1')));
    const reasons = new Set<string>();
    for (const segment of segments) {
      reasons.add(await agree(`${segment}.${payload}.c2ln`));
      // A claims set only the signature could vouch for: signed by the proof key for real.
      reasons.add(await agree(await proofOf(TARGET, keys, NOW_S).then((p) => `${header}.${segment}.${p.split('.')[2]}`)));
    }
    expect(reasons).toContain('verify: ERR_JWS_INVALID');
  });
});

describe('proofJwk', () => {
  it('refuses an alg outside the policy on its own, before looking at the key', async () => {
    const { publicJwk } = await makeProofKey();
    // ['ES256'] would read as 'ES256' to a lookup that coerced it to a string.
    for (const alg of ['HS256', 'none', 42, undefined, 'constructor', ['ES256']]) {
      expect(() => proofJwk({ typ: 'dpop+jwt', alg, jwk: publicJwk })).toThrow(new DpopProofRejectedError('alg not allowed'));
    }
    expect(proofJwk({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...publicJwk, kid: 'k', use: 'sig' } })).toEqual({ kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y });
  });
});

describe('openProof', () => {
  it('signs with the key in its jwk, whatever key imported those coordinates before', async () => {
    const key: ProofKey = await makeProofKey();
    const first = await makeProof(key, { htm: 'GET', htu: TARGET.htu, iat: NOW_S });
    const second = await makeProof(key, { htm: 'GET', htu: TARGET.htu, iat: NOW_S });
    expect(openProof(first, NOW).jkt).toBe(key.jkt);
    expect(openProof(second, NOW).jkt).toBe(key.jkt);
    // Another key's proof under the same jwk: the kept key does not vouch for it.
    const other = await makeProofKey();
    const forged = await makeProof({ ...other, publicJwk: key.publicJwk }, { htm: 'GET', htu: TARGET.htu, iat: NOW_S });
    await expect(verifyDpopProof(forged, { htm: 'GET', htu: TARGET.htu, now: NOW })).rejects.toThrow('verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('keeps a bounded number of imported keys and still checks every proof after the oldest went', async () => {
    const first = await makeProofKey('EdDSA');
    const proofOfFirst = () => makeProof(first, { htm: 'GET', htu: TARGET.htu, iat: NOW_S });
    expect(openProof(await proofOfFirst(), NOW).jkt).toBe(first.jkt);
    // More keys than are kept: the first key is imported again when it comes back.
    for (let i = 0; i < 1_050; i++) {
      const x = base64url(Buffer.from(`${String(i).padStart(4, '0')}${'k'.repeat(28)}`));
      const header = base64url(JSON.stringify({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x } }));
      expect(nativeOutcome(`${header}.${base64url('{}')}.${base64url(Buffer.alloc(64))}`)).toEqual({ refused: 'verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    }
    expect(proofKeysKept()).toBe(1_000);
    expect(openProof(await proofOfFirst(), NOW).jkt).toBe(first.jkt);
    expect(proofKeysKept()).toBe(1_000);
  });
});
