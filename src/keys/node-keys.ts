import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SERVER_RSA_BITS, type KeySpec } from './algorithms.js';

/**
 * Generates a fresh private key of the given kind with Node's crypto.
 *
 * @param spec - The kind of key.
 * @returns The private key; its public half is `createPublicKey(privateKey)`.
 */
export function generatePrivateKey(spec: KeySpec): KeyObject {
  switch (spec.nodeType) {
    case 'ec':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: SERVER_RSA_BITS, publicExponent: 0x10001 }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'x25519':
      return generateKeyPairSync('x25519').privateKey;
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
