/**
 * What a client of the server does, written with jose alone: make a key pair, open an access token,
 * verify the inner JWS against the JWKS, and seal it to the server for the bearer header.
 */
import {
  calculateJwkThumbprint,
  compactDecrypt,
  CompactEncrypt,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type CompactJWEHeaderParameters,
  type JWK,
  type JWTPayload,
  type JWTHeaderParameters,
} from 'jose';

/** The server's published keys. */
export interface Jwks {
  keys: JWK[];
}

/** A client key pair: the private half never leaves the client. */
export interface ClientKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint; the server uses it as the `kid` of tokens encrypted to this key. */
  readonly thumbprint: string;
}

/** Generates an X25519 key pair for ECDH-ES, the simplest client key the server accepts. */
export async function makeClientKey(): Promise<ClientKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, thumbprint: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

/** Decrypts an access token (the outer JWE) with the client's private key; the plaintext is the inner JWS. */
export async function openAccessToken(token: string, client: ClientKeyPair): Promise<{ jws: string; header: CompactJWEHeaderParameters }> {
  const { plaintext, protectedHeader } = await compactDecrypt(token, client.privateKey, {
    keyManagementAlgorithms: ['ECDH-ES'],
    contentEncryptionAlgorithms: ['A256GCM'],
  });
  return { jws: new TextDecoder().decode(plaintext), header: protectedHeader };
}

/** Verifies the inner JWS as a client should: key from the JWKS, `typ: at+jwt`, issuer and audience. */
export async function verifyInner(
  jws: string,
  jwks: Jwks,
  expected: { issuer: string; audience: string },
): Promise<{ payload: JWTPayload; header: JWTHeaderParameters }> {
  const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(jwks), {
    typ: 'at+jwt',
    issuer: expected.issuer,
    audience: expected.audience,
  });
  return { payload, header: protectedHeader };
}

/** The server's current encryption key from its JWKS (`use: enc`). */
export function serverEncryptionKey(jwks: Jwks): JWK {
  const jwk = jwks.keys.find((k) => k.use === 'enc');
  if (!jwk || typeof jwk.alg !== 'string') throw new Error('the JWKS has no encryption key with an alg');
  return jwk;
}

/**
 * Seals the inner JWS to the server's encryption key: the string that goes after `Bearer`.
 *
 * @returns The compact JWE and the protected header it was made with.
 */
export async function sealToServer(jws: string, jwks: Jwks): Promise<{ bearer: string; header: Record<string, string> }> {
  const jwk = serverEncryptionKey(jwks);
  const header = { alg: jwk.alg as string, enc: 'A256GCM', cty: 'JWT', kid: jwk.kid as string };
  const key = await importJWK(jwk, jwk.alg);
  const bearer = await new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader(header).encrypt(key);
  return { bearer, header };
}
