import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SERVER_RSA_BITS, type KeySpec } from './algorithms.js';

/** A key pair made by {@link generateDetached}. */
export interface DetachedKeyPair {
  readonly privateKey: KeyObject;
  /** The public half as a JWK (`kty`, `crv`, `x`, `y` or `n`, `e`). */
  readonly publicJwk: JsonWebKey;
}

/**
 * `generateKeyPairSync` with both halves encoded as JWKs by the generation itself, the private key
 * then imported from its JWK into a KeyObject of its own. Node 20 can deadlock on a KeyObject straight
 * from `generateKeyPairSync`: a call that holds the key's lock while it allocates (`export({ format:
 * 'jwk' })`) may trigger a garbage collection that finalizes the finished generation job, whose
 * destructor takes the same lock, and the process hangs for ever (test/tokens/issue-stress.test.ts).
 * A key imported from its encoding shares nothing with the job. (A PKCS#8 round trip would do as
 * well, but OpenSSL 3 decodes one in about 350 µs; a JWK imports in a few.)
 */
export function generateDetached(type: 'ec' | 'rsa' | 'ed25519' | 'x25519' | 'x448', options: { namedCurve?: string; modulusLength?: number; publicExponent?: number } = {}): DetachedKeyPair {
  const generate = generateKeyPairSync as unknown as (kind: string, settings: object) => { privateKey: JsonWebKey; publicKey: JsonWebKey };
  const { privateKey, publicKey } = generate(type, { ...options, publicKeyEncoding: { format: 'jwk' }, privateKeyEncoding: { format: 'jwk' } });
  return { privateKey: createPrivateKey({ key: privateKey, format: 'jwk' }), publicJwk: publicKey };
}

/**
 * Generates a fresh private key of the given kind with Node's crypto.
 *
 * @param spec - The kind of key.
 * @returns The private key; its public half is `createPublicKey(privateKey)`.
 */
export function generatePrivateKey(spec: KeySpec): KeyObject {
  switch (spec.nodeType) {
    case 'ec':
      return generateDetached('ec', { namedCurve: 'P-256' }).privateKey;
    case 'rsa':
      return generateDetached('rsa', { modulusLength: SERVER_RSA_BITS, publicExponent: 0x10001 }).privateKey;
    case 'ed25519':
      return generateDetached('ed25519').privateKey;
    case 'x25519':
      return generateDetached('x25519').privateKey;
  }
}

/**
 * Tells whether a private key is of the kind a spec asks for.
 *
 * @returns `null` when it fits, else a description of what the key is.
 */
export function describeMismatch(key: KeyObject, spec: KeySpec): string | null {
  const type = key.asymmetricKeyType ?? key.type;
  if (type !== spec.nodeType) return type === 'ec' ? `an EC ${String(key.asymmetricKeyDetails?.namedCurve)} key` : `an ${type} key`;
  if (spec.nodeType === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return `an EC ${String(key.asymmetricKeyDetails?.namedCurve)} key`;
  }
  if (spec.nodeType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    return `an RSA key of ${String(key.asymmetricKeyDetails?.modulusLength)} bits`;
  }
  return null;
}
