import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type { KeySpec } from './algorithms.js';

/** A server key pair imported once into WebCrypto key objects, ready for jose. */
export interface ServerKey {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  /** The JOSE algorithm the key serves (`ES256`, `ECDH-ES`, ...). */
  readonly alg: string;
  /** `sig` for the signing key, `enc` for the encryption key. */
  readonly use: 'sig' | 'enc';
  /** Never leaves the process. */
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public members only, with `kid`, `use` and `alg`. */
  readonly publicJwk: Readonly<JWK>;
}

/** The public members of each key type (RFC 7518 §6); anything else is dropped. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly (keyof JWK)[]>> = {
  OKP: ['kty', 'crv', 'x'],
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
};

/** Copies the public members of a JWK for its key type, dropping everything private or unknown. */
export function publicMembers(jwk: JWK): JWK {
  const out: JWK = {};
  for (const name of PUBLIC_MEMBERS[String(jwk.kty)] ?? []) if (jwk[name] !== undefined) (out as Record<string, unknown>)[name] = jwk[name];
  return out;
}

/** RFC 7638's required members of each key type: its public members, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly (keyof JWK)[]>> = Object.fromEntries(
  Object.entries(PUBLIC_MEMBERS).map(([kty, names]) => [kty, [...names].sort()]),
);

/**
 * The RFC 7638 SHA-256 thumbprint of a public JWK: its required members in lexicographic order, as
 * JSON without whitespace, hashed, base64url. Synchronous, with node:crypto (jose's
 * `calculateJwkThumbprint` is asynchronous WebCrypto: a thread-pool round trip each time). The server
 * names its own keys, a login's client key and a DPoP proof's key with it; the tests hold it to jose's
 * on every key type and to RFC 7638's own example.
 *
 * @throws {TypeError} for another key type or a required member that is not a string.
 */
export function jwkThumbprint(jwk: JWK): string {
  const names = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!names) throw new TypeError(`no thumbprint for kty ${String(jwk.kty)}`);
  const required: Record<string, string> = {};
  for (const name of names) {
    const value = jwk[name];
    if (typeof value !== 'string') throw new TypeError(`the JWK member ${name} must be a string`);
    required[name] = value;
  }
  return createHash('sha256').update(JSON.stringify(required), 'utf8').digest('base64url');
}

/**
 * Turns a Node private key into a {@link ServerKey}: thumbprint, public JWK and key objects
 * bound to the spec's algorithm, imported once here and reused for every token.
 *
 * @param privateKey - A private key of the spec's kind (checked by the caller).
 * @param spec - What the key is for.
 */
export async function toServerKey(privateKey: KeyObject, spec: KeySpec): Promise<ServerKey> {
  const privateJwk = privateKey.export({ format: 'jwk' }) as JWK;
  const publicJwk = publicMembers(createPublicKey(privateKey).export({ format: 'jwk' }) as JWK);
  const kid = jwkThumbprint(publicJwk);
  const [priv, pub] = await Promise.all([
    importJWK({ ...privateJwk, alg: spec.alg }, spec.alg),
    importJWK({ ...publicJwk, alg: spec.alg }, spec.alg),
  ]);
  return Object.freeze({
    kid,
    alg: spec.alg,
    use: spec.use,
    privateKey: priv as CryptoKey,
    publicKey: pub as CryptoKey,
    publicJwk: Object.freeze({ ...publicJwk, kid, use: spec.use, alg: spec.alg }),
  });
}
