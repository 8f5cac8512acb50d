import {
  calculateJwkThumbprint,
  compactDecrypt,
  CompactEncrypt,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';

/** The client key kinds the contract accepts, with the JWE `alg` the server uses for each. */
export const CLIENT_KEY_KINDS = {
  x25519: { generate: 'ECDH-ES', options: { crv: 'X25519' }, alg: 'ECDH-ES' },
  p256: { generate: 'ECDH-ES+A256KW', options: { crv: 'P-256' }, alg: 'ECDH-ES+A256KW' },
  rsa: { generate: 'RSA-OAEP-256', options: { modulusLength: 2048 }, alg: 'RSA-OAEP-256' },
} as const;
export type ClientKeyKind = keyof typeof CLIENT_KEY_KINDS;

/** A client key pair as a client written from the contract would hold it. */
export interface ClientKeyPair {
  readonly kind: ClientKeyKind;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly kid: string;
}

/** Generates a client key pair of a kind. */
export async function makeClientKey(kind: ClientKeyKind = 'x25519'): Promise<ClientKeyPair> {
  const spec = CLIENT_KEY_KINDS[kind];
  const { privateKey, publicKey } = await generateKeyPair(spec.generate, { ...spec.options, extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { kind, privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk) };
}

/** Opens an access token: decrypts the JWE with the client key and returns the inner JWS. */
export async function openAccessToken(token: string, client: ClientKeyPair): Promise<string> {
  const { plaintext } = await compactDecrypt(token, client.privateKey);
  return new TextDecoder().decode(plaintext);
}

/** Verifies the inner JWS against the server's JWKS as a client would. */
export async function verifyInner(jws: string, jwks: { keys: JWK[] }): Promise<JWTPayload> {
  const { payload } = await jwtVerify(jws, createLocalJWKSet(jwks), { typ: 'at+jwt' });
  return payload;
}

/** Seals any plaintext to the server's encryption key from its JWKS (the bearer the server accepts). */
export async function sealToServer(
  plaintext: string,
  jwks: { keys: JWK[] },
  header: Record<string, unknown> = {},
): Promise<string> {
  const jwk = jwks.keys.find((k) => k.use === 'enc') as JWK;
  const key = await importJWK(jwk, jwk.alg);
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader({ alg: jwk.alg as string, enc: 'A256GCM', cty: 'JWT', kid: jwk.kid, ...header })
    .encrypt(key);
}

/** The protected header of a compact JWE or JWS. */
export const headerOf = decodeProtectedHeader;
