import { exportJWK } from 'jose';
import { DpopProofRejectedError, TokenRejectedError } from '../../src/errors.js';
import { accessTokenHash, normalizeHtu, proofId, replayExpiresAt, verifyDpopProof, type DpopRequest } from '../../src/tokens/dpop.js';
import { DPOP_POLICY } from '../../src/tokens/policy.js';
import { athOf, makeProof, makeProofKey, rsaProof, symmetricProof, unsignedProof, type ProofClaims, type ProofKey } from '../helpers/dpop.js';

/** The server's clock, frozen: every `iat` below is relative to it. */
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_SECONDS = NOW / 1000;
const HTU = 'https://auth.example/api/me';
const TOKEN = 'header..iv.ciphertext.tag';
const request: DpopRequest = { htm: 'GET', htu: HTU, ath: accessTokenHash(TOKEN), now: NOW };
const claims = (overrides: Partial<ProofClaims> = {}): ProofClaims => ({ htm: 'GET', htu: HTU, token: TOKEN, iat: NOW_SECONDS, ...overrides });

let es256: ProofKey;
let ed25519: ProofKey;
beforeAll(async () => {
  [es256, ed25519] = await Promise.all([makeProofKey('ES256'), makeProofKey('EdDSA')]);
});

/** The reason a proof is refused, asserting it is refused as a DPoP proof. */
async function refusal(proof: unknown, against: DpopRequest = request): Promise<string> {
  const error = await verifyDpopProof(proof, against).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DpopProofRejectedError);
  expect(error).toBeInstanceOf(TokenRejectedError);
  return (error as Error).message;
}

describe('verifyDpopProof', () => {
  it.each(['ES256', 'EdDSA'] as const)('accepts a %s proof and returns its thumbprint, jti and iat', async (alg) => {
    const key = alg === 'ES256' ? es256 : ed25519;
    const proof = await makeProof(key, claims({ jti: 'proof-1' }));
    await expect(verifyDpopProof(proof, request)).resolves.toEqual({ jkt: key.jkt, jti: 'proof-1', iat: NOW_SECONDS });
  });

  it('accepts iat exactly 60 s behind or ahead of the server clock, and refuses one second more', async () => {
    for (const offset of [-60, 60]) await expect(verifyDpopProof(await makeProof(es256, claims({ iat: NOW_SECONDS + offset })), request)).resolves.toBeDefined();
    expect(await refusal(await makeProof(es256, claims({ iat: NOW_SECONDS - 61 })))).toBe('iat outside the window');
    expect(await refusal(await makeProof(es256, claims({ iat: NOW_SECONDS + 61 })))).toBe('iat outside the window');
    expect(await refusal(await makeProof(es256, claims({ claims: { iat: String(NOW_SECONDS) } })))).toMatch(/^verify: /);
  });

  it('accepts the htu of any of the request URLs, normalised, with query and fragment ignored', async () => {
    const proof = await makeProof(es256, claims({ htu: 'HTTPS://Auth.Example:443/api/%6De?x=1#top' }));
    await expect(verifyDpopProof(proof, { ...request, htu: ['http://localhost:3000/api/me', HTU] })).resolves.toBeDefined();
  });

  it('refuses an htu with characters no URI has, which a URL parser would strip or rewrite into the right URL', async () => {
    const spellings = [`${HTU} `, ` ${HTU}`, `${HTU}\n`, 'https://auth.exa\tmple/api/me', 'https:\\\\auth.example\\api\\me', 'https://auth.example/api/m\u00e9'];
    for (const htu of spellings) expect({ htu, refusal: await refusal(await makeProof(es256, claims({ htu }))) }).toEqual({ htu, refusal: 'htu does not match' });
  });

  it('refuses an htu that is not a string, even one that reads as the right URL', async () => {
    expect(await refusal(await makeProof(es256, claims({ claims: { htu: [HTU] } })))).toBe('htu does not match');
    expect(await refusal(await makeProof(es256, claims({ claims: { htu: { href: HTU } } })))).toBe('htu does not match');
  });

  it('never matches an htu that is not a URL, even against a request URL that is not one either', async () => {
    const proof = await makeProof(es256, claims({ htu: 'not a url' }));
    expect(await refusal(proof, { ...request, htu: ['not a url', HTU] })).toBe('htu does not match');
  });

  it('refuses another method, another path, another host, another scheme or port, and a malformed htu', async () => {
    expect(await refusal(await makeProof(es256, claims({ htm: 'POST' })))).toBe('htm does not match');
    expect(await refusal(await makeProof(es256, claims({ htm: 'get' })))).toBe('htm does not match');
    for (const htu of ['https://auth.example/api/you', 'https://evil.example/api/me', 'http://auth.example/api/me', 'https://auth.example:8443/api/me', 'api/me', 'https://user@auth.example/api/me']) {
      expect(await refusal(await makeProof(es256, claims({ htu })))).toBe('htu does not match');
    }
    expect(await refusal(await makeProof(es256, claims({ claims: { htu: 42 } })))).toBe('htu does not match');
  });

  it('refuses a missing or wrong ath where one is expected, and ignores ath where none is', async () => {
    expect(await refusal(await makeProof(es256, claims({ token: undefined })))).toBe('ath missing');
    expect(await refusal(await makeProof(es256, claims({ token: `${TOKEN}x` })))).toBe('ath does not match');
    const atLogin = { htm: 'POST', htu: 'https://auth.example/auth/login', now: NOW };
    await expect(verifyDpopProof(await makeProof(es256, { ...claims(), ...atLogin, iat: NOW_SECONDS }), atLogin)).resolves.toBeDefined();
  });

  it('refuses a proof without htm, htu, iat or jti, and a jti that is no string, empty or too long', async () => {
    for (const name of ['htm', 'htu', 'iat', 'jti']) {
      expect(await refusal(await makeProof(es256, claims({ claims: { [name]: undefined } })))).toBe('verify: ERR_JWT_CLAIM_VALIDATION_FAILED');
    }
    expect(await refusal(await makeProof(es256, claims({ jti: '' })))).toBe('jti malformed');
    // jose checks that a jti is present, not that it is a string.
    expect(await refusal(await makeProof(es256, claims({ claims: { jti: 12345 } })))).toBe('jti malformed');
    expect(await refusal(await makeProof(es256, claims({ jti: 'j'.repeat(DPOP_POLICY.maxJtiLength + 1) })))).toBe('jti malformed');
    await expect(verifyDpopProof(await makeProof(es256, claims({ jti: 'j'.repeat(DPOP_POLICY.maxJtiLength) })), request)).resolves.toBeDefined();
  });

  it('refuses a wrong or missing typ', async () => {
    expect(await refusal(await makeProof(es256, claims({ header: { typ: 'JWT' } })))).toBe('verify: ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await refusal(await makeProof(es256, claims({ header: { typ: undefined } })))).toBe('verify: ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('refuses alg none, HS256 and RSA keys of any size', async () => {
    expect(await refusal(unsignedProof(es256, claims()))).toBe('not a compact JWS');
    expect(await refusal(`${unsignedProof(es256, claims())}c2ln`)).toBe('verify: ERR_JOSE_ALG_NOT_ALLOWED');
    expect(await refusal(await symmetricProof(claims()))).toBe('verify: ERR_JOSE_ALG_NOT_ALLOWED');
    expect(await refusal(rsaProof(1024, claims()))).toBe('verify: ERR_JOSE_ALG_NOT_ALLOWED');
    expect(await refusal(rsaProof(2048, claims({ header: { alg: 'ES256' } })))).toBe('jwk kind does not match alg');
  });

  it('refuses a jwk with private or unknown members, of another kind than its alg, or malformed', async () => {
    const privateJwk = await exportJWK(es256.privateKey);
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: privateJwk } })))).toBe('jwk member d (private or unknown)');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: { ...es256.publicJwk, x5c: ['AAAA'] } } })))).toBe('jwk member x5c (private or unknown)');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: ed25519.publicJwk } })))).toBe('jwk kind does not match alg');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: { ...es256.publicJwk, crv: 'P-384' } } })))).toBe('jwk kind does not match alg');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: { ...es256.publicJwk, y: 'AAAA' } } })))).toBe('jwk y malformed');
    // Numbers whose digits are base64url: refused as coordinates, not by a decoder's exception.
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: { ...es256.publicJwk, x: 1234 } } })))).toBe('jwk x malformed');
    expect(await refusal(await makeProof(ed25519, claims({ header: { jwk: { ...ed25519.publicJwk, x: 5678 } } })))).toBe('jwk x malformed');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: { ...es256.publicJwk, y: `${es256.publicJwk.y as string}=` } } })))).toBe('jwk y malformed');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: undefined } })))).toBe('no jwk');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: 'key' } })))).toBe('no jwk');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: null } })))).toBe('no jwk');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: [es256.publicJwk] } })))).toBe('no jwk');
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: { ...es256.publicJwk, kty: 'OKP' } } })))).toBe('jwk kind does not match alg');
    // A point that is not on the curve does not import.
    const offCurve = { ...es256.publicJwk, y: Buffer.alloc(32, 1).toString('base64url') };
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: offCurve } })))).toBe('jwk does not import');
  });

  it('refuses header members beyond typ, alg and jwk', async () => {
    for (const member of ['kid', 'jku', 'x5u', 'x5t', 'cty']) {
      expect(await refusal(await makeProof(es256, claims({ header: { [member]: 'x' } })))).toBe(`header member ${member}`);
    }
  });

  it('refuses a proof signed by another key than its jwk, and one whose signature was altered', async () => {
    expect(await refusal(await makeProof(es256, claims({ header: { jwk: (await makeProofKey()).publicJwk } })))).toBe('verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const proof = await makeProof(es256, claims());
    const flipped = `${proof.slice(0, -2)}${proof.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await refusal(flipped)).toBe('verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses what is not a proof at all before any cryptography', async () => {
    expect(await refusal(undefined)).toBe('no proof');
    expect(await refusal('')).toBe('no proof');
    expect(await refusal(['a.b.c'])).toBe('no proof');
    expect(await refusal('a.b')).toBe('not a compact JWS');
    expect(await refusal('a.b.c, a.b.c')).toBe('not a compact JWS');
    expect(await refusal(`${'a'.repeat(DPOP_POLICY.maxProofLength)}.b.c`)).toBe('proof too long');
    expect(await refusal(`${'a'.repeat(DPOP_POLICY.maxProofLength - 4)}.b.c`)).not.toBe('proof too long');
  });

  it('refuses a proof spelled in non-canonical base64url, which would open to the same bytes', async () => {
    const proof = await makeProof(es256, claims());
    const [header, payload, signature] = proof.split('.') as [string, string, string];
    // The last character of a 64-byte signature carries 4 unused bits: setting one keeps the bytes.
    const last = signature.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    const respelled = `${header}.${payload}.${signature.slice(0, -1)}${sibling}`;
    expect(Buffer.from(respelled.split('.')[2] as string, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    expect(await refusal(respelled)).toBe('not canonical base64url');
  });

  it('refuses an expired proof by its exp, when it has one', async () => {
    expect(await refusal(await makeProof(es256, claims({ claims: { exp: NOW_SECONDS - 1 } })))).toBe('verify: ERR_JWT_EXPIRED');
  });
});

describe('the helpers around the verifier', () => {
  it('hashes the exact token for ath', () => {
    expect(accessTokenHash(TOKEN)).toBe(athOf(TOKEN));
    expect(accessTokenHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });

  it('normalises htu per RFC 3986 and refuses what is not an absolute http(s) URL', () => {
    expect(normalizeHtu('HTTPS://Example.COM:443/a/./b/../%7euser/%2f?x#y')).toBe('https://example.com/a/~user/%2F');
    expect(normalizeHtu('http://example.com:80')).toBe('http://example.com/');
    expect(normalizeHtu('http://example.com:8080/x')).toBe('http://example.com:8080/x');
    for (const bad of ['ftp://example.com/', 'javascript:alert(1)', '/relative', 'https://u:p@example.com/', 'https://:p@example.com/', 'https://u@example.com/', 'not a url']) {
      expect(normalizeHtu(bad)).toBeNull();
    }
  });

  it('remembers a jti past the end of its iat window, under an id bound to the key', () => {
    const proof = { jkt: es256.jkt, jti: 'j', iat: NOW_SECONDS };
    expect(replayExpiresAt(proof)).toBe(NOW + (DPOP_POLICY.iatWindowSeconds + DPOP_POLICY.replayMarginSeconds) * 1000);
    expect(proofId(proof)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(proofId(proof)).not.toBe(proofId({ ...proof, jkt: ed25519.jkt }));
    expect(proofId(proof)).not.toBe(proofId({ ...proof, jti: 'k' }));
  });
});
