import {
  createCipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  randomBytes,
  randomUUID,
  type JsonWebKey,
} from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { CompactEncrypt, SignJWT, type JWK } from 'jose';
import { generateDetached } from '../../src/keys/node-keys.js';

/** What a forged inner token is about: the server's `iss`/`aud` and a user's session. */
export interface ClaimsTarget {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly sessionId: string;
}

/** A key that can sign a JWS: the server's (`runtime.keys.signing`) or an attacker's. */
export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly alg: string;
  readonly kid: string;
}

/** A key a JWE can be sealed to: the server's encryption key or any other public key. */
export interface SealingKey {
  readonly publicKey: CryptoKey;
  readonly alg: string;
  readonly kid: string;
}

export const base64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/**
 * The claims of a valid access token for a session, with overrides. An override set to `undefined`
 * removes the claim.
 */
export function accessClaims(target: ClaimsTarget, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: target.issuer,
    sub: target.subject,
    aud: target.audience,
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    sid: target.sessionId,
    ...overrides,
  };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return claims;
}

/**
 * Signs claims as a compact JWS with jose. The header defaults to `{alg, kid, typ: 'at+jwt'}`; an
 * override set to `undefined` removes the member.
 */
export function signInner(claims: Record<string, unknown>, key: SigningKey, header: Record<string, unknown> = {}): Promise<string> {
  const protectedHeader = JSON.parse(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })) as { alg: string };
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

/** Builds a compact JWS by hand, for what jose refuses to make (`alg: none`, HMAC over a public key). */
export function handmadeJws(header: Record<string, unknown>, claims: Record<string, unknown>, sign: (input: string) => Uint8Array | string): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign(input))}`;
}

/** Signs a compact ES256 JWS by hand with WebCrypto, for headers jose will not sign (an unknown `crit`). */
export async function es256ByHand(header: Record<string, unknown>, claims: Record<string, unknown>, privateKey: CryptoKey): Promise<string> {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/**
 * Seals a plaintext to a key with jose, as a client seals a bearer token: `{alg, enc: A256GCM, cty: JWT,
 * kid}` by default; an override set to `undefined` removes the member.
 */
export function sealTo(plaintext: string, key: SealingKey, header: Record<string, unknown> = {}): Promise<string> {
  const protectedHeader = JSON.parse(JSON.stringify({ alg: key.alg, enc: 'A256GCM', cty: 'JWT', kid: key.kid, ...header })) as {
    alg: string;
    enc: string;
  };
  return new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader(protectedHeader).encrypt(key.publicKey);
}

/** RFC 7518 §4.6.2 Concat KDF with SHA-256, one round (enough for 256-bit keys), apu/apv empty unless given. */
export function concatKdf(sharedSecret: Buffer, algorithmId: string, keyBits: number, apu: Buffer = Buffer.alloc(0), apv: Buffer = Buffer.alloc(0)): Buffer {
  const lengthPrefixed = (data: Buffer) => Buffer.concat([uint32(data.length), data]);
  return createHash('sha256')
    .update(uint32(1))
    .update(sharedSecret)
    .update(lengthPrefixed(Buffer.from(algorithmId, 'ascii')))
    .update(lengthPrefixed(apu))
    .update(lengthPrefixed(apv))
    .update(uint32(keyBits))
    .digest()
    .subarray(0, keyBits / 8);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/**
 * Builds a compact ECDH-ES (X25519) + A256GCM JWE by hand with node:crypto, so headers jose would not
 * write (such as `zip: DEF` over a really deflated plaintext) still make a JWE whose tag verifies.
 *
 * @param recipient - The recipient's public X25519 JWK (the server's `enc` key from its JWKS).
 * @param options.deflate - Deflate the plaintext and set `zip: DEF`.
 */
export function handmadeEcdhEsJwe(
  plaintext: string,
  recipient: JWK,
  options: { header?: Record<string, unknown>; deflate?: boolean } = {},
): string {
  const ephemeral = generateDetached('x25519');
  const epk = ephemeral.publicJwk;
  const sharedSecret = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: createPublicKey({ key: { kty: recipient.kty, crv: recipient.crv, x: recipient.x } as JsonWebKey, format: 'jwk' }),
  });
  const header = {
    alg: 'ECDH-ES',
    enc: 'A256GCM',
    cty: 'JWT',
    kid: recipient.kid,
    epk: { kty: epk.kty, crv: epk.crv, x: epk.x },
    ...(options.deflate ? { zip: 'DEF' } : {}),
    ...options.header,
  };
  const encodedHeader = base64url(JSON.stringify(header));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', concatKdf(sharedSecret, 'A256GCM', 256), iv);
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const body = options.deflate ? deflateRawSync(Buffer.from(plaintext)) : Buffer.from(plaintext);
  const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
  return [encodedHeader, '', base64url(iv), base64url(ciphertext), base64url(cipher.getAuthTag())].join('.');
}

/**
 * A compact JWE with the given protected header and random bytes in every other segment: enough to
 * reach (and be refused by) the header checks, without anyone holding a key for it.
 */
export function opaqueJwe(header: Record<string, unknown>, encryptedKeyBytes = 40): string {
  const random = (n: number) => base64url(randomBytes(n));
  return [base64url(JSON.stringify(header)), encryptedKeyBytes ? random(encryptedKeyBytes) : '', random(12), random(64), random(16)].join('.');
}
