import { createHash, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { ENCRYPTION_SPECS, SIGNING_SPECS } from '../../src/keys/algorithms.js';
import type { KeyManager } from '../../src/keys/manager.js';
import { generateDetached, generatePrivateKey } from '../../src/keys/node-keys.js';
import { toServerKey, type ServerKey } from '../../src/keys/server-key.js';
import { TokenRejectedError } from '../../src/errors.js';
import { acceptAccessToken, acceptWithJose, type AcceptOptions } from '../../src/tokens/accept.js';
import { SignatureMemo, checkClaims } from '../../src/tokens/accept-native.js';
import { concatKdf, nodeKeysOf, signatureFor, signatureValidFor } from '../../src/tokens/jose-native.js';
import { refusalKind } from '../../src/tokens/refusal.js';
import { ACCEPT_POLICY } from '../../src/tokens/policy.js';
import { brokenClaims } from '../fuzz/claims.js';
import { mutationsOf } from '../fuzz/mutations.js';
import { accessClaims, base64url, sealTo, signInner } from '../helpers/forge.js';
import { importable, sealNative, serverKeyFor, signNative, type SealOptions } from '../helpers/seal.js';

/**
 * The node:crypto accept path (`acceptAccessToken`) held to jose (`acceptWithJose`, the implementation
 * it replaced): for every key kind combination and thousands of near misses of genuine tokens, both
 * accept with equal claims or both refuse with the same refusal kind (and, but for the few cases
 * listed in docs/testing.md, the same reason). `DIFF_RUNS` sets the cases per property (default 150).
 */
const RUNS = Number(process.env.DIFF_RUNS ?? 150);
/** Whether the properties ran enough cases to check that they reached the deep stages (not with a short mutation-testing run). */
const CHECK_REACH = RUNS >= 100;
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'differential';
const TTL_MS = 900_000;
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
const NOW_S = Math.floor(NOW / 1000);
const OPTIONS: AcceptOptions = { issuer: ISSUER, audience: AUDIENCE, accessTokenTtlMs: TTL_MS, now: NOW };
const TARGET = { issuer: ISSUER, audience: AUDIENCE, subject: 'user-1', sessionId: 'session-1' };

/** A key manager of one signing and one encryption key; `find` as the real one (no retired keys). */
function managerOf(signing: ServerKey, encryption: ServerKey): KeyManager {
  const current = { signing, encryption };
  return {
    signing,
    encryption,
    find: (role: 'signing' | 'encryption', kid: string | undefined) => (kid === undefined || kid === current[role].kid ? current[role] : undefined),
  } as unknown as KeyManager;
}


/** The default kinds (ES256 signing, X25519 encryption) and a manager of the two. */
async function defaultKeys(): Promise<{ signing: ServerKey; encryption: ServerKey; keys: KeyManager }> {
  const [signing, encryption] = [await serverKeyFor(SIGNING_SPECS.ES256), await serverKeyFor(ENCRYPTION_SPECS.x25519)];
  return { signing, encryption, keys: managerOf(signing, encryption) };
}

type Outcome = { accepted: unknown } | { kind: string; reason: string };

async function outcomeOf(accept: typeof acceptAccessToken, token: string, keys: KeyManager, options: AcceptOptions): Promise<Outcome> {
  try {
    return { accepted: await accept(token, keys, options) };
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) return { kind: 'ERROR', reason: String(error) };
    return { kind: refusalKind(error.reason), reason: error.reason };
  }
}

/**
 * Runs both engines on a token and expects the same outcome: equal claims, or a refusal of the same
 * kind for the same reason. Returns the outcome for the caller's own checks.
 */
async function agree(token: string, keys: KeyManager, options: AcceptOptions = OPTIONS): Promise<Outcome> {
  const jose = await outcomeOf(acceptWithJose, token, keys, options);
  const native = await outcomeOf(acceptAccessToken, token, keys, options);
  expect({ token, native }).toEqual({ token, native: jose });
  expect(native).not.toMatchObject({ kind: 'ERROR' });
  return native;
}

const reasonOf = (outcome: Outcome) => ('reason' in outcome ? outcome.reason : 'ACCEPTED');

const COMBOS = Object.entries(ENCRYPTION_SPECS).flatMap(([encName, enc]) => Object.entries(SIGNING_SPECS).map(([sigName, sig]) => [`${encName} + ${sigName}`, enc, sig] as const));

describe.each(COMBOS)('native and jose agree with %s keys', (_name, encSpec, sigSpec) => {
  let keys: KeyManager;
  let signing: ServerKey;
  let encryption: ServerKey;
  let jws: string;
  beforeAll(async () => {
    [signing, encryption] = [await serverKeyFor(sigSpec), await serverKeyFor(encSpec)];
    keys = managerOf(signing, encryption);
    jws = await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), signing);
  });

  it('on a genuine token sealed by jose and by hand: both accept it, with the same claims', async () => {
    for (const token of [await sealTo(jws, encryption), sealNative(jws, encryption)]) {
      expect(await agree(token, keys)).toEqual({ accepted: expect.objectContaining({ sid: 'session-1', iat: NOW_S }) });
    }
  });

  it('on a flipped tag, ciphertext and inner signature: both refuse, at the decryption and at the signature', async () => {
    const flip = (compact: string, segment: number) => {
      const parts = compact.split('.');
      const bytes = Buffer.from(parts[segment] as string, 'base64url');
      bytes[0] = (bytes[0] as number) ^ 1;
      parts[segment] = base64url(bytes);
      return parts.join('.');
    };
    const bearer = sealNative(jws, encryption);
    expect(reasonOf(await agree(flip(bearer, 4), keys))).toBe('decrypt: ERR_JWE_DECRYPTION_FAILED');
    expect(reasonOf(await agree(flip(bearer, 3), keys))).toBe('decrypt: ERR_JWE_DECRYPTION_FAILED');
    expect(reasonOf(await agree(sealNative(flip(jws, 2), encryption), keys))).toBe('verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(reasonOf(await agree(sealNative(flip(jws, 1), encryption), keys))).toBe('verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('on mutations of a sealed bearer', async () => {
    const bearer = sealNative(jws, encryption);
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...mutationsOf(bearer)), async ({ token }) => {
        seen.add(reasonOf(await agree(token, keys)));
      }),
      { numRuns: RUNS },
    );
    if (CHECK_REACH) expect([...seen]).toEqual(expect.arrayContaining(['decrypt: ERR_JWE_DECRYPTION_FAILED']));
  });

  it('on mutations of the inner JWS, sealed properly', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...mutationsOf(jws)), async ({ token }) => {
        seen.add(reasonOf(await agree(sealNative(token, encryption), keys)));
      }),
      { numRuns: RUNS },
    );
    if (CHECK_REACH) expect([...seen]).toEqual(expect.arrayContaining(['verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED']));
  });

  it('on header members changed under a sealing whose cryptography holds', async () => {
    const values = fc.oneof(
      fc.constantFrom(undefined, null, '', 'JWT', 'jwt', 'A256GCM', 'A128GCM', 'dir', 'DEF', encryption.alg, encryption.kid, 'RSA-OAEP', 'ECDH-ES', 'ECDH-ES+A128KW', 42, [], {}, ['exp'], ['b64']),
      fc.string({ maxLength: 8 }),
    );
    const names = fc.constantFrom('alg', 'enc', 'cty', 'kid', 'typ', 'zip', 'crit', 'epk', 'apu', 'apv', 'jwk', 'jku', 'x5c', 'p2s', 'iv', 'tag', 'b64', '__proto__');
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.dictionary(names, values, { minKeys: 1, maxKeys: 3 }), async (header) => {
        seen.add(reasonOf(await agree(sealNative(jws, encryption, { header }), keys)));
      }),
      { numRuns: RUNS },
    );
    if (CHECK_REACH) expect(seen.size).toBeGreaterThan(4);
  });

  it.each<[string, SealOptions]>([
    ['a 16-byte IV', { ivBytes: 16 }],
    ['an 8-byte IV', { ivBytes: 8 }],
    ['a 12-byte tag', { tagBytes: 12 }],
    ['a 4-byte tag', { tagBytes: 4 }],
    ['no encrypted key', { encryptedKey: 'omit' }],
    ['an encrypted key', { encryptedKey: 'add' }],
    ['apu and apv', { apu: Buffer.from('client'), apv: Buffer.from('server') }],
    ['apu alone', { apu: Buffer.from('client') }],
    ['apu equal to apv', { apu: Buffer.from('same'), apv: Buffer.from('same') }],
    ['empty apu and apv', { apu: Buffer.alloc(0), apv: Buffer.alloc(0) }],
    ['party info that is not base64url', { header: { apu: 'a+b/' } }],
    ['party info that is no string', { header: { apv: 42 } }],
    ['no epk', { epk: () => undefined }],
    ['an epk that is a string', { epk: () => 'AAAA' }],
    ['an epk with d', { epk: (epk) => ({ ...epk, d: epk.x }) }],
    ['an epk with an extra member', { epk: (epk) => ({ ...epk, kid: 'k' }) }],
    ['an epk with alg and use', { epk: (epk) => ({ ...epk, alg: 'ECDH-ES', use: 'enc' }) }],
    ['an epk without x', { epk: ({ kty, crv, y }) => JSON.parse(JSON.stringify({ kty, crv, y })) as unknown }],
    ['an epk of another kty', { epk: (epk) => ({ ...epk, kty: epk.kty === 'EC' ? 'OKP' : 'EC' }) }],
    ['an epk of another curve', { epk: (epk) => ({ ...epk, crv: epk.crv === 'P-256' ? 'P-384' : 'X448' }) }],
    ['an Ed25519 epk', { epk: (epk) => ({ ...epk, crv: 'Ed25519' }) }],
    ['an epk with a short x', { epk: (epk) => ({ ...epk, x: base64url(Buffer.from(epk.x as string, 'base64url').subarray(1)) }) }],
    ['an epk with a long x', { epk: (epk) => ({ ...epk, x: base64url(Buffer.concat([Buffer.from(epk.x as string, 'base64url'), Buffer.of(0)])) }) }],
    ['an epk with a non-canonical x', { epk: (epk) => ({ ...epk, x: `${(epk.x as string).slice(0, -1)}${(epk.x as string).endsWith('B') ? 'C' : 'B'}` }) }],
    ['an epk with a numeric x', { epk: (epk) => ({ ...epk, x: 7 }) }],
  ])('on %s', async (_name, options) => {
    await agree(sealNative(jws, encryption, options), keys);
  });

  it('on ephemeral keys off the curve or of small order: both refuse, and node:crypto refuses the point itself', async () => {
    const points: Record<string, unknown>[] = [];
    if (encryption.publicJwk.crv === 'P-256') {
      const { x, y } = generateDetached('ec', { namedCurve: 'P-256' }).publicJwk;
      const flipped = Buffer.from(y as string, 'base64url');
      flipped[31] = (flipped[31] as number) ^ 1;
      for (const [px, py] of [[x, base64url(flipped)], [base64url(Buffer.alloc(32)), base64url(Buffer.alloc(32))], [base64url(Buffer.alloc(32, 0xff)), y]]) {
        const point = { kty: 'EC', crv: 'P-256', x: px, y: py };
        expect(importable(point)).toBe(false);
        points.push(point);
      }
    } else if (encryption.publicJwk.crv === 'X25519') {
      // Small-order points of Curve25519 (and p, p + 1 as non-canonical spellings of 0 and 1).
      for (const hex of [
        '0000000000000000000000000000000000000000000000000000000000000000',
        '0100000000000000000000000000000000000000000000000000000000000000',
        'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
        '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
        'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
        'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
        'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      ]) {
        points.push({ kty: 'OKP', crv: 'X25519', x: base64url(Buffer.from(hex, 'hex')) });
      }
    }
    for (const point of points) {
      const outcome = await agree(sealNative(jws, encryption, { epk: () => point }), keys);
      expect(outcome).toEqual({ kind: 'decryption', reason: 'decrypt: ERR_JWE_DECRYPTION_FAILED' });
    }
  });

  it('on inner headers the server does not write, under its own signature', async () => {
    const claims = JSON.stringify(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }));
    const base = { alg: signing.alg, kid: signing.kid, typ: 'at+jwt' };
    for (const edit of [
      {},
      { typ: 'AT+JWT' },
      { typ: 'application/at+jwt' },
      { typ: 'Application/AT+JWT' },
      { typ: 'at+jwt ' },
      { typ: 'jwt' },
      { typ: 'application/jwt' },
      { typ: 42 },
      { typ: undefined },
      { kid: undefined },
      { kid: 'another' },
      { kid: 7 },
      { alg: undefined },
      { alg: '' },
      { alg: 'none' },
      { alg: 'HS256' },
      { alg: signing.alg === 'ES256' ? 'EdDSA' : 'ES256' },
      { crit: ['b64'], b64: false },
      { crit: ['b64'], b64: true },
      { crit: ['exp'], exp: 1 },
      { crit: [] },
      { crit: 'b64' },
      { b64: true },
      { cty: 'JWT' },
      { jwk: signing.publicJwk },
      { x5u: 'https://x.example' },
    ]) {
      const header = JSON.parse(JSON.stringify({ ...base, ...edit })) as Record<string, unknown>;
      await agree(sealNative(signNative(header, claims, signing), encryption), keys);
    }
  });

  it('on broken claims under the server’s own signature', async () => {
    const policy = { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL_MS / 1000, toleranceSeconds: ACCEPT_POLICY.clockToleranceSeconds };
    await fc.assert(
      fc.asyncProperty(brokenClaims(() => accessClaims(TARGET), policy), async (claims) => {
        const token = sealNative(signNative({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' }, JSON.stringify(claims), signing), encryption);
        // The cases are made against the system clock: both engines get the same `now`.
        await agree(token, keys, { ...OPTIONS, now: Date.now() });
      }),
      { numRuns: RUNS },
    );
  });

  it('on claims that JSON.stringify cannot write, and payloads that are no claims set', async () => {
    const header = { alg: signing.alg, kid: signing.kid, typ: 'at+jwt' };
    const valid = JSON.stringify(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }));
    for (const payload of [
      valid.replace(/"exp":\d+/, '"exp":1e999'),
      valid.replace(/"iat":\d+/, '"iat":-1e999'),
      valid.replace(/"iat":\d+/, '"iat":1e999'),
      valid.replace(/}$/, ',"exp":1}'),
      valid.replace(/^{/, '{"__proto__":{"sid":"x"},'),
      `\ufeff${valid}`,
      '[]',
      'null',
      '"claims"',
      '{',
      Buffer.from([0xc3, 0x28]).toString('latin1'),
    ]) {
      await agree(sealNative(signNative(header, payload, signing), encryption), keys);
    }
  });
});

describe('the claims checks at the exact second (ES256, X25519)', () => {
  let keys: KeyManager;
  let signing: ServerKey;
  let encryption: ServerKey;
  beforeAll(async () => {
    ({ signing, encryption, keys } = await defaultKeys());
  });
  const T = ACCEPT_POLICY.clockToleranceSeconds;
  const AGE = TTL_MS / 1000;
  const bearer = (claims: Record<string, unknown>) => sealNative(signNative({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' }, JSON.stringify(accessClaims(TARGET, claims)), signing), encryption);

  it.each<[string, Record<string, unknown>, string]>([
    ['exp a second past the tolerance', { iat: NOW_S - 100, exp: NOW_S - T }, 'verify: ERR_JWT_EXPIRED'],
    ['exp at the last accepted second', { iat: NOW_S - 100, exp: NOW_S - T + 1 }, 'ACCEPTED'],
    ['exp a fraction past the expiry', { iat: NOW_S - 100, exp: NOW_S - T + 0.5 }, 'ACCEPTED'],
    ['exp a fraction before the expiry', { iat: NOW_S - 100, exp: NOW_S - T - 0.5 }, 'verify: ERR_JWT_EXPIRED'],
    ['nbf at the tolerance', { nbf: NOW_S + T }, 'ACCEPTED'],
    ['nbf a second past it', { nbf: NOW_S + T + 1 }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['nbf a fraction past it', { nbf: NOW_S + T + 0.001 }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['nbf that is a string', { nbf: String(NOW_S) }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['iat ahead by the tolerance', { iat: NOW_S + T, exp: NOW_S + T + 900 }, 'ACCEPTED'],
    ['iat ahead by a second more', { iat: NOW_S + T + 1, exp: NOW_S + T + 900 }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['iat the lifetime and the tolerance ago', { iat: NOW_S - AGE - T, exp: NOW_S + 60 }, 'ACCEPTED'],
    ['iat a second earlier', { iat: NOW_S - AGE - T - 1, exp: NOW_S + 60 }, 'verify: ERR_JWT_EXPIRED'],
    ['iat a fraction earlier', { iat: NOW_S - AGE - T - 0.25, exp: NOW_S + 60 }, 'verify: ERR_JWT_EXPIRED'],
    ['iat that is a string', { iat: String(NOW_S) }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['exp that is a string', { exp: String(NOW_S + 900) }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['exp that is null', { exp: null }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an aud array holding the audience', { aud: ['other', AUDIENCE] }, 'ACCEPTED'],
    ['an aud array holding it and a number', { aud: [42, AUDIENCE] }, 'ACCEPTED'],
    ['an aud array without it', { aud: ['other'] }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an empty aud array', { aud: [] }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an aud of another case', { aud: AUDIENCE.toUpperCase() }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an aud nested in an array', { aud: [[AUDIENCE]] }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an iss array holding the issuer', { iss: [ISSUER] }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no iss', { iss: undefined }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no jti', { jti: undefined }, 'verify: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['a sub that is a number', { sub: 1 }, 'verify: claim types'],
    ['a cnf of another form', { cnf: { jwk: {} } }, 'verify: cnf is not {jkt}'],
  ])('%s', async (_name, claims, expected) => {
    expect(reasonOf(await agree(bearer({ iat: NOW_S, exp: NOW_S + 900, ...claims }), keys))).toBe(expected);
  });

  it('reads the time it is given to the millisecond as jose does, through a Date', async () => {
    const token = bearer({ iat: NOW_S - 100, exp: NOW_S - T + 1 });
    for (const now of [NOW_S * 1000, NOW_S * 1000 + 999, NOW_S * 1000 + 999.9, (NOW_S + 1) * 1000]) await agree(token, keys, { ...OPTIONS, now });
    expect(reasonOf(await agree(token, keys, { ...OPTIONS, now: (NOW_S + 1) * 1000 }))).toBe('verify: ERR_JWT_EXPIRED');
    expect(reasonOf(await agree(token, keys, { ...OPTIONS, now: Number.NaN }))).toBe('verify: TypeError');
  });

  it('checks the maximum age against the lifetime rounded up to a second', async () => {
    const token = bearer({ iat: NOW_S - 901 - T, exp: NOW_S + 60 });
    expect(reasonOf(await agree(token, keys, { ...OPTIONS, accessTokenTtlMs: 900_001 }))).toBe('ACCEPTED');
    expect(reasonOf(await agree(token, keys, { ...OPTIONS, accessTokenTtlMs: 900_000 }))).toBe('verify: ERR_JWT_EXPIRED');
  });
});

/**
 * The server's own header rules (`accept-headers.ts`) run in both engines alike, so agreement alone
 * cannot show them: each case here pins the reason, for both.
 */
describe.each([
  ['X25519', ENCRYPTION_SPECS.x25519],
  ['P-256', ENCRYPTION_SPECS.p256],
])('the ephemeral key rules (%s)', (curve, encSpec) => {
  let keys: KeyManager;
  let encryption: ServerKey;
  let jws: string;
  beforeAll(async () => {
    const signing = await serverKeyFor(SIGNING_SPECS.ES256);
    encryption = await serverKeyFor(encSpec);
    keys = managerOf(signing, encryption);
    jws = await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), signing);
  });
  const shortened = (value: unknown) => base64url(Buffer.from(value as string, 'base64url').subarray(1));
  const members = 'decrypt: ephemeral key (epk) members';
  const coordinates = 'decrypt: ephemeral key (epk) coordinates';

  it.each<[string, SealOptions, string]>([
    ['apu and apv that differ', { apu: Buffer.from('client'), apv: Buffer.from('server') }, 'ACCEPTED'],
    ['apu alone', { apu: Buffer.from('client') }, 'ACCEPTED'],
    ['apv alone', { apv: Buffer.from('server') }, 'ACCEPTED'],
    ['apu equal to apv', { apu: Buffer.from('same'), apv: Buffer.from('same') }, 'decrypt: ERR_JWE_INVALID'],
    ['empty apu and apv', { apu: Buffer.alloc(0), apv: Buffer.alloc(0) }, 'decrypt: ERR_JWE_INVALID'],
    ['an apu outside the alphabet', { header: { apu: 'a+b/' } }, 'decrypt: party info (apu) not base64url'],
    ['an apu that is no string', { header: { apu: 42 } }, 'decrypt: party info (apu) not base64url'],
    ['an apv with unused bits set', { header: { apv: 'AB' } }, 'decrypt: party info (apv) not base64url'],
    ['an apv that is no string', { header: { apv: ['AA'] } }, 'decrypt: party info (apv) not base64url'],
    ['no epk', { epk: () => undefined }, 'decrypt: ephemeral key (epk) missing or not an object'],
    ['an epk that is a string', { epk: () => 'AAAA' }, 'decrypt: ephemeral key (epk) missing or not an object'],
    ['an epk that is an array', { epk: (epk) => [epk] }, 'decrypt: ephemeral key (epk) missing or not an object'],
    ['an epk with d', { epk: (epk) => ({ ...epk, d: epk.x }) }, members],
    ['an epk with kid', { epk: (epk) => ({ ...epk, kid: 'k' }) }, members],
    ['an epk without x', { epk: ({ x: _x, ...rest }) => rest }, members],
    ['an epk with kid in place of x', { epk: ({ x: _x, ...rest }) => ({ ...rest, kid: 'k' }) }, members],
    ['an epk of another kty', { epk: (epk) => ({ ...epk, kty: epk.kty === 'EC' ? 'OKP' : 'EC' }) }, `decrypt: ephemeral key (epk) is not ${curve}`],
    ['an epk of another curve', { epk: (epk) => ({ ...epk, crv: epk.crv === 'P-256' ? 'P-384' : 'X448' }) }, `decrypt: ephemeral key (epk) is not ${curve}`],
    ['an epk with a short x', { epk: (epk) => ({ ...epk, x: shortened(epk.x) }) }, coordinates],
    ['an epk with a numeric x', { epk: (epk) => ({ ...epk, x: 7 }) }, coordinates],
    ['an epk with an x padded', { epk: (epk) => ({ ...epk, x: `${epk.x as string}=` }) }, coordinates],
    ...(curve === 'P-256' ? ([['an epk with a short y', { epk: (epk) => ({ ...epk, y: shortened(epk.y) }) }, coordinates]] as [string, SealOptions, string][]) : []),
  ])('%s', async (_name, options, expected) => {
    expect(reasonOf(await agree(sealNative(jws, encryption, options), keys))).toBe(expected);
  });
});

describe('the rules without key agreement (RSA-OAEP-256)', () => {
  it.each([['epk', { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) }], ['apu', 'AAAA'], ['apv', 'AAAA']])('refuse %s in both engines', async (member, value) => {
    const [signing, encryption] = [await serverKeyFor(SIGNING_SPECS.ES256), await serverKeyFor(ENCRYPTION_SPECS.rsa)];
    const jws = await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), signing);
    const outcome = await agree(sealNative(jws, encryption, { header: { [member]: value } }), managerOf(signing, encryption));
    expect(reasonOf(outcome)).toBe('decrypt: ephemeral key or party info without key agreement');
  });
});

/** jose's own `crit` and `enc` rules, which the native path writes out: the reasons must be jose's. */
describe('jose’s crit rules, both layers (X25519, ES256)', () => {
  let keys: KeyManager;
  let signing: ServerKey;
  let encryption: ServerKey;
  let jws: string;
  beforeAll(async () => {
    ({ signing, encryption, keys } = await defaultKeys());
    jws = await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), signing);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['crit naming an empty string', { crit: [''] }, 'decrypt: ERR_JWE_INVALID'],
    ['crit naming a number', { crit: [42] }, 'decrypt: ERR_JWE_INVALID'],
    ['crit naming a name, then a number', { crit: ['exp', 42], exp: 1 }, 'decrypt: ERR_JWE_INVALID'],
    ['crit naming a name', { crit: ['exp'], exp: 1 }, 'decrypt: ERR_JOSE_NOT_SUPPORTED'],
    ['crit naming b64', { crit: ['b64'], b64: true }, 'decrypt: ERR_JOSE_NOT_SUPPORTED'],
    ['an empty enc', { enc: '' }, 'decrypt: ERR_JWE_INVALID'],
    ['an empty alg', { alg: '' }, 'decrypt: ERR_JWE_INVALID'],
    ['a numeric enc', { enc: 256 }, 'decrypt: ERR_JWE_INVALID'],
  ])('JWE header with %s', async (_name, header, expected) => {
    expect(reasonOf(await agree(sealNative(jws, encryption, { header }), keys))).toBe(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['crit naming b64 without b64', { crit: ['b64'] }, 'verify: ERR_JWS_INVALID'],
    ['crit naming b64 with a b64 that is a string', { crit: ['b64'], b64: 'false' }, 'verify: ERR_JWS_INVALID'],
    ['crit naming an empty string', { crit: [''] }, 'verify: ERR_JWS_INVALID'],
    ['crit naming b64 and a number', { crit: ['b64', 7], b64: true }, 'verify: ERR_JWS_INVALID'],
    ['crit naming an unknown name', { crit: ['x'], x: 1 }, 'verify: ERR_JOSE_NOT_SUPPORTED'],
    ['crit naming b64, b64 false', { crit: ['b64'], b64: false }, 'verify: JWS header member crit'],
  ])('JWS header with %s', async (_name, edit, expected) => {
    const header = { alg: signing.alg, kid: signing.kid, typ: 'at+jwt', ...edit };
    const token = sealNative(signNative(header, JSON.stringify(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 })), signing), encryption);
    expect(reasonOf(await agree(token, keys))).toBe(expected);
  });
});

describe('the inner header rules', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['x5u', { x5u: 'https://x.example' }, 'verify: JWS header member x5u'],
    ['crit naming b64, b64 true (jose lets it through to the rule)', { crit: ['b64'], b64: true }, 'verify: JWS header member crit'],
    ['b64 alone', { b64: true }, 'verify: JWS header member b64'],
    ['cty', { cty: 'JWT' }, 'verify: JWS header member cty'],
    ['no kid', { kid: undefined }, 'verify: unknown signing kid'],
  ])('refuse %s in both engines', async (_name, edit, expected) => {
    const [signing, encryption] = [await serverKeyFor(SIGNING_SPECS.ES256), await serverKeyFor(ENCRYPTION_SPECS.x25519)];
    const header = JSON.parse(JSON.stringify({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt', ...edit })) as Record<string, unknown>;
    const claims = JSON.stringify(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }));
    expect(reasonOf(await agree(sealNative(signNative(header, claims, signing), encryption), managerOf(signing, encryption)))).toBe(expected);
  });
});

describe('a key of another kind under a kid the manager knows (a manager that cannot occur, kept refused)', () => {
  it('an inner token signed by an Ed25519 key under its kid, claiming ES256: refused by both, by native at the signature', async () => {
    const [signing, other, encryption] = [await serverKeyFor(SIGNING_SPECS.ES256), await serverKeyFor(SIGNING_SPECS.EdDSA), await serverKeyFor(ENCRYPTION_SPECS.x25519)];
    const keys = {
      signing,
      encryption,
      find: (role: string, kid: string | undefined) => (role === 'encryption' ? encryption : kid === other.kid ? other : kid === signing.kid ? signing : undefined),
    } as unknown as KeyManager;
    const header = { alg: 'ES256', kid: other.kid, typ: 'at+jwt' };
    const jws = signNative(header, JSON.stringify(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 })), other);
    const bearer = sealNative(jws, encryption);
    await expect(acceptWithJose(bearer, keys, OPTIONS)).rejects.toBeInstanceOf(TokenRejectedError);
    await expect(acceptAccessToken(bearer, keys, OPTIONS)).rejects.toMatchObject({ reason: 'verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('a bearer sealed with ECDH-ES+A256KW to a P-256 key under its kid, claiming ECDH-ES: refused by both, by native before any agreement', async () => {
    const [signing, encryption, other] = [await serverKeyFor(SIGNING_SPECS.ES256), await serverKeyFor(ENCRYPTION_SPECS.x25519), await serverKeyFor(ENCRYPTION_SPECS.p256)];
    const keys = {
      signing,
      encryption,
      find: (role: string, kid: string | undefined) => (role === 'signing' ? signing : kid === other.kid ? other : kid === undefined || kid === encryption.kid ? encryption : undefined),
    } as unknown as KeyManager;
    const jws = await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), signing);
    const bearer = sealNative(jws, other, { header: { alg: 'ECDH-ES' } });
    await expect(acceptWithJose(bearer, keys, OPTIONS)).rejects.toBeInstanceOf(TokenRejectedError);
    await expect(acceptAccessToken(bearer, keys, OPTIONS)).rejects.toMatchObject({ reason: 'decrypt: ERR_JOSE_ALG_NOT_ALLOWED' });
  });
});

describe('keys after a rotation (X25519, ES256)', () => {
  it('a bearer sealed to the previous encryption key and signed by the previous signing key: both accept it under their kids, and refuse it once they are gone', async () => {
    const [signing, encryption] = [await serverKeyFor(SIGNING_SPECS.ES256), await serverKeyFor(ENCRYPTION_SPECS.x25519)];
    const [oldSigning, oldEncryption] = [await toServerKey(generatePrivateKey(SIGNING_SPECS.ES256), SIGNING_SPECS.ES256), await toServerKey(generatePrivateKey(ENCRYPTION_SPECS.x25519), ENCRYPTION_SPECS.x25519)];
    const previous = { signing: oldSigning, encryption: oldEncryption };
    let retiredAccepted = true;
    const keys = {
      signing,
      encryption,
      find: (role: 'signing' | 'encryption', kid: string | undefined) => {
        const current = role === 'signing' ? signing : encryption;
        if (kid === undefined || kid === current.kid) return current;
        return retiredAccepted && kid === previous[role].kid ? previous[role] : undefined;
      },
    } as unknown as KeyManager;
    const bearer = sealNative(await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), oldSigning), oldEncryption);
    expect(await agree(bearer, keys)).toEqual({ accepted: expect.objectContaining({ sid: 'session-1' }) });
    expect(reasonOf(await agree(sealNative(await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), oldSigning), oldEncryption, { header: { kid: undefined } }), keys))).toBe('decrypt: ERR_JWE_DECRYPTION_FAILED');
    retiredAccepted = false;
    expect(reasonOf(await agree(bearer, keys))).toBe('decrypt: unknown encryption kid');
    retiredAccepted = true;
    // The signature of the inner token was remembered under the old key; it is still checked against
    // that key being accepted on every request.
    const inner = await signInner(accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 }), oldSigning);
    expect(await agree(sealNative(inner, encryption), keys)).toEqual({ accepted: expect.objectContaining({ sid: 'session-1' }) });
    retiredAccepted = false;
    expect(reasonOf(await agree(sealNative(inner, encryption), keys))).toBe('verify: unknown signing kid');
  });
});

describe('checkClaims', () => {
  it('returns the claims it was given when they pass', () => {
    const claims = accessClaims(TARGET, { iat: NOW_S, exp: NOW_S + 900 });
    expect(checkClaims({ typ: 'at+jwt' }, claims, OPTIONS)).toBe(claims);
  });
});

describe('concatKdf', () => {
  it('is RFC 7518 appendix C (ECDH-ES, A128GCM from Alice and Bob) with the key length of A256GCM', () => {
    // The appendix's Z, apu "Alice" and apv "Bob"; its 128-bit key is not this 256-bit one, so the
    // figure compared is the SHA-256 of the same OtherInfo written out by hand.
    const z = Buffer.from([158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196]);
    const otherInfo = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('A256GCM'), Buffer.from([0, 0, 0, 5]), Buffer.from('Alice'), Buffer.from([0, 0, 0, 3]), Buffer.from('Bob'), Buffer.from([0, 0, 1, 0])]);
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, otherInfo])).digest();
    expect(concatKdf(z, 'A256GCM', Buffer.from('Alice'), Buffer.from('Bob'))).toEqual(expected);
  });
});

describe('SignatureMemo', () => {
  const key = (name: string) => ({ kid: name }) as unknown as ServerKey;

  it('remembers strings per key object, nothing for another key', () => {
    const memo = new SignatureMemo();
    const [a, b] = [key('a'), key('b')];
    expect(memo.has(a, 'x.y.z')).toBe(false);
    memo.add(a, 'x.y.z');
    expect(memo.has(a, 'x.y.z')).toBe(true);
    expect(memo.has(b, 'x.y.z')).toBe(false);
    expect(memo.has(a, 'x.y.Z')).toBe(false);
  });

  it('forgets the oldest strings past its entry limit', () => {
    const memo = new SignatureMemo(2, 1000);
    const k = key('k');
    for (const s of ['one', 'two', 'three']) memo.add(k, s);
    expect(['one', 'two', 'three'].map((s) => memo.has(k, s))).toEqual([false, true, true]);
  });

  it('forgets the oldest strings past its character limit, and never keeps one longer than the limit', () => {
    const memo = new SignatureMemo(100, 10);
    const k = key('k');
    memo.add(k, 'aaaa');
    memo.add(k, 'bbbb');
    memo.add(k, 'cccc');
    expect(['aaaa', 'bbbb', 'cccc'].map((s) => memo.has(k, s))).toEqual([false, true, true]);
    memo.add(k, 'dd');
    expect(['bbbb', 'cccc', 'dd'].map((s) => memo.has(k, s))).toEqual([true, true, true]);
    memo.add(k, 'e'.repeat(11));
    expect(memo.has(k, 'e'.repeat(11))).toBe(false);
    expect(memo.has(k, 'dd')).toBe(true);
    // One of exactly the limit is kept, in place of everything else.
    memo.add(k, 'f'.repeat(10));
    expect(['dd', 'f'.repeat(10)].map((s) => memo.has(k, s))).toEqual([false, true]);
  });
});

describe('the JWS signature table (signatureFor, signatureValidFor), shared by issuing, accepting and DPoP proofs', () => {
  it.each(Object.values(SIGNING_SPECS))('signs under $alg as WebCrypto verifies, and checks as WebCrypto signs', async (spec) => {
    const key = await serverKeyFor(spec);
    const { privateKey, publicKey } = nodeKeysOf(key);
    const input = Buffer.from('header.payload', 'ascii');
    const signature = signatureFor(spec.alg, privateKey, input);
    const webCrypto: Record<string, EcdsaParams | RsaPssParams | Algorithm> = { ES256: { name: 'ECDSA', hash: 'SHA-256' }, EdDSA: { name: 'Ed25519' }, PS256: { name: 'RSA-PSS', saltLength: 32 } };
    const algorithm = webCrypto[spec.alg] as EcdsaParams | RsaPssParams | Algorithm;
    expect(await crypto.subtle.verify(algorithm, key.publicKey, new Uint8Array(signature), new Uint8Array(input))).toBe(true);
    const theirs = Buffer.from(await crypto.subtle.sign(algorithm, key.privateKey, new Uint8Array(input)));
    expect(signatureValidFor(spec.alg, publicKey, input, theirs)).toBe(true);
    expect(signatureValidFor(spec.alg, publicKey, Buffer.from('header.payloaD', 'ascii'), theirs)).toBe(false);
    // Under another algorithm's rules, the same bytes are no signature.
    for (const other of Object.keys(SIGNING_SPECS).filter((alg) => alg !== spec.alg)) expect(signatureValidFor(other, publicKey, input, theirs)).toBe(false);
  });

  it('holds ES256 and EdDSA signatures to 64 bytes, r‖s for ES256 (a DER signature is refused)', async () => {
    const key = await serverKeyFor(SIGNING_SPECS.ES256);
    const { privateKey, publicKey } = nodeKeysOf(key);
    const input = Buffer.from('header.payload', 'ascii');
    const der = sign('sha256', input, privateKey);
    expect(verify('sha256', input, publicKey, der)).toBe(true);
    expect(signatureValidFor('ES256', publicKey, input, der)).toBe(false);
    expect(signatureValidFor('ES256', publicKey, input, Buffer.concat([signatureFor('ES256', privateKey, input), Buffer.alloc(1)]))).toBe(false);
  });

  it('knows no other algorithm, inherited names included', async () => {
    const { privateKey, publicKey } = nodeKeysOf(await serverKeyFor(SIGNING_SPECS.ES256));
    const input = Buffer.from('x', 'ascii');
    for (const alg of ['HS256', 'RS256', 'none', 'es256', 'constructor', '__proto__', 'toString', '']) {
      expect(() => signatureFor(alg, privateKey, input)).toThrow(`no signing algorithm ${alg}`);
      expect(signatureValidFor(alg, publicKey, input, Buffer.alloc(64))).toBe(false);
    }
  });
});
