import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/**
 * DPoP proofs (RFC 9449) on the client side: the key that proves possession, and one fresh proof
 * per request. Browser-safe (WebCrypto only).
 */

/** The proof algorithm the SDK signs with (the server also accepts `EdDSA`). */
export const DPOP_PROOF_ALG = 'ES256';

/**
 * The key pair that makes DPoP proofs. The private key signs proofs and is non-extractable where
 * the key store allows it; the server binds the session to `jkt`.
 *
 * @example const { jkt }: ProofKeyPair = await generateProofKey();
 */
export interface ProofKeyPair {
  readonly privateKey: CryptoKey;
  /** The public JWK (`kty`, `crv`, `x`, `y`) sent in every proof's header. */
  readonly publicJwk: JWK;
  /** RFC 7638 (SHA-256) thumbprint of `publicJwk`: the `cnf.jkt` of bound tokens. */
  readonly jkt: string;
}

/**
 * Generates an ES256 (P-256) proof key pair with WebCrypto. The private key is non-extractable
 * unless asked otherwise (a file-backed store needs to write it).
 *
 * @example const key = await generateProofKey();
 */
export async function generateProofKey(options: { extractable?: boolean } = {}): Promise<ProofKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(DPOP_PROOF_ALG, { extractable: options.extractable ?? false });
  return proofKeyPair(privateKey, await exportJWK(publicKey));
}

/**
 * Completes a proof key pair from its private key and a JWK of its public members.
 *
 * @example const pair = await proofKeyPair(privateKey, storedJwk);
 */
export async function proofKeyPair(privateKey: CryptoKey, jwk: JWK): Promise<ProofKeyPair> {
  const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

/** The methods `fetch` sends upper-cased whatever their case; any other goes as written (RFC 9110 §9.1). */
const NORMALISED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** What a proof describes. */
export interface ProofTarget {
  /** The request's HTTP method (`GET`, `POST`...), as given to `fetch`. */
  readonly method: string;
  /** The request URL; its query and fragment are left out of `htu`. */
  readonly url: string | URL;
  /** On a protected request: the exact token sent in `Authorization: DPoP`, hashed into `ath`. */
  readonly accessToken?: string;
  /** Epoch ms used for `iat`; default: now. */
  readonly now?: number;
}

/**
 * `base64url(SHA-256(token))`: the `ath` claim binding a proof to one token (RFC 9449 §4.2).
 *
 * @example const ath = await accessTokenHash(sealed);
 */
export async function accessTokenHash(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));
}

/**
 * Makes a fresh DPoP proof for one request: header `{typ: dpop+jwt, alg: ES256, jwk}`, claims
 * `htm`, `htu` (the URL without query or fragment), `iat`, a random `jti`, and `ath` when a token
 * goes with it. Make one per request: the server refuses a `jti` it has seen.
 *
 * @example
 * const proof = await createDpopProof(key, { method: 'GET', url: 'https://auth.example/api/me', accessToken: sealed });
 * await fetch(url, { headers: { Authorization: `DPoP ${sealed}`, DPoP: proof } });
 */
export async function createDpopProof(key: ProofKeyPair, target: ProofTarget): Promise<string> {
  const url = new URL(target.url);
  const claims: Record<string, string> = {
    htm: NORMALISED_METHODS.has(target.method.toUpperCase()) ? target.method.toUpperCase() : target.method,
    htu: `${url.origin}${url.pathname}`,
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
  };
  if (target.accessToken !== undefined) claims.ath = await accessTokenHash(target.accessToken);
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: DPOP_PROOF_ALG, jwk: key.publicJwk })
    .setIssuedAt(Math.floor((target.now ?? Date.now()) / 1000))
    .sign(key.privateKey);
}
