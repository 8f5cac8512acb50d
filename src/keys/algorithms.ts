import type { EncryptionKeyType, SigningAlg } from '../config/index.js';

/** What a key of one kind is: how Node generates it, how its type reads back, and the JOSE `alg` it serves. */
export interface KeySpec {
  readonly alg: string;
  readonly use: 'sig' | 'enc';
  /** Node's `asymmetricKeyType` of the key. */
  readonly nodeType: 'ec' | 'ed25519' | 'rsa' | 'x25519';
  /** For EC keys, the JWK curve. */
  readonly crv?: 'P-256';
  /** A human name used in error messages. */
  readonly label: string;
}

/** RSA keys the server generates are this large; accepted client keys start at 2048 bits. */
export const SERVER_RSA_BITS = 3072;

/** The signing key kinds, by `SIGNING_ALG`. */
export const SIGNING_SPECS: Readonly<Record<SigningAlg, KeySpec>> = {
  ES256: { alg: 'ES256', use: 'sig', nodeType: 'ec', crv: 'P-256', label: 'EC P-256' },
  EdDSA: { alg: 'EdDSA', use: 'sig', nodeType: 'ed25519', label: 'Ed25519' },
  PS256: { alg: 'PS256', use: 'sig', nodeType: 'rsa', label: 'RSA' },
};

/** The encryption key kinds, by `ENCRYPTION_KEY_TYPE`. */
export const ENCRYPTION_SPECS: Readonly<Record<EncryptionKeyType, KeySpec>> = {
  x25519: { alg: 'ECDH-ES', use: 'enc', nodeType: 'x25519', label: 'X25519' },
  p256: { alg: 'ECDH-ES+A256KW', use: 'enc', nodeType: 'ec', crv: 'P-256', label: 'EC P-256' },
  rsa: { alg: 'RSA-OAEP-256', use: 'enc', nodeType: 'rsa', label: 'RSA' },
};

/** The only content encryption the server produces or accepts. */
export const CONTENT_ENCRYPTION = 'A256GCM';
