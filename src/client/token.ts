import {
  compactDecrypt,
  CompactEncrypt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type CompactJWEHeaderParameters,
  type JWTHeaderParameters,
} from 'jose';
import { AuthClientError } from './errors.js';
import type { JwksCache } from './jwks.js';
import { CLIENT_KEY_KINDS, type ClientKeyPair } from './keys.js';

/**
 * What the client checks on every access token, and how it seals one back, as data beside the code
 * that uses it.
 *
 * @example CLIENT_TOKEN_POLICY.tokenType; // 'at+jwt'
 */
export const CLIENT_TOKEN_POLICY = Object.freeze({
  maxTokenLength: 16 * 1024,
  contentEncryption: 'A256GCM',
  /** The outer JWE must say it carries a JWT. */
  contentType: 'JWT',
  /** The inner JWS type (RFC 9068). */
  tokenType: 'at+jwt',
  /** Signing algorithms the server can use (`SIGNING_ALG`); jose 6 also names Ed25519 on its own. */
  signingAlgorithms: ['ES256', 'EdDSA', 'Ed25519', 'PS256'] as string[],
  /** Key management algorithms the server's encryption key can have (`ENCRYPTION_KEY_TYPE`). */
  sealingAlgorithms: ['ECDH-ES', 'ECDH-ES+A256KW', 'RSA-OAEP-256'] as string[],
  requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'sid'] as string[],
  /** Clock skew between client and server tolerated on `exp`, in seconds. */
  clockToleranceSeconds: 60,
});

/**
 * The signed claims of an access token.
 *
 * @example const { sub, sid, exp }: AccessTokenClaims = client.token!.claims;
 */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | string[];
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** The session id. */
  readonly sid: string;
  /** On a DPoP-bound token: the thumbprint of the proof key it is bound to. */
  readonly cnf?: { readonly jkt: string };
}

/**
 * An access token the client opened and verified: the three layers and what they say.
 *
 * @example
 * const token: VerifiedAccessToken = await client.login('alice', password);
 * console.log(token.outerHeader.alg, token.innerHeader.kid, token.claims.sub);
 */
export interface VerifiedAccessToken {
  /** The JWE compact string as the server sent it. */
  readonly accessToken: string;
  /** `DPoP` when the token is bound to the client's proof key (`claims.cnf.jkt`), else `Bearer`. */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** Layer 1: the outer JWE's protected header. It was decrypted with the client's private key. */
  readonly outerHeader: CompactJWEHeaderParameters;
  /** Layer 2: the inner JWS's protected header. Its signature was verified with the server key `kid`. */
  readonly innerHeader: JWTHeaderParameters;
  /** Layer 3: the signed claims (typ, issuer and audience checked as configured). */
  readonly claims: AccessTokenClaims;
  /** The inner JWS compact string; sealed to the server for each request. */
  readonly jws: string;
  /** When the token expires, by this client's clock: receipt time plus `expires_in` (immune to clock skew). */
  readonly expiresAt: number;
}

/**
 * What the caller expects in `iss` and `aud`; unset means not checked.
 *
 * @example const expected: ExpectedClaims = { issuer: 'https://auth.example', audience: 'jwe-auth-server' };
 */
export interface ExpectedClaims {
  readonly issuer?: string;
  readonly audience?: string;
  /** The time to check `exp` and `iat` against (epoch ms); default the system clock. */
  readonly now?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(message: string, cause?: unknown): never {
  throw new AuthClientError('token_verification_failed', message, { cause });
}

/**
 * Opens an access token: decrypts the outer JWE with the client's private key (only the key
 * management algorithm of the key's kind, only A256GCM, no compression) and checks that it is
 * addressed to this key and carries a compact JWS.
 *
 * @throws {AuthClientError} `token_verification_failed`.
 * @example const { jws, outerHeader } = await openAccessToken(body.access_token, pair);
 */
export async function openAccessToken(token: string, pair: ClientKeyPair): Promise<{ jws: string; outerHeader: CompactJWEHeaderParameters }> {
  const policy = CLIENT_TOKEN_POLICY;
  if (typeof token !== 'string' || token.length > policy.maxTokenLength) fail('The access token is missing or too long');
  let decrypted: Awaited<ReturnType<typeof compactDecrypt>>;
  try {
    decrypted = await compactDecrypt(token, pair.privateKey, {
      keyManagementAlgorithms: [CLIENT_KEY_KINDS[pair.kind].alg],
      contentEncryptionAlgorithms: [policy.contentEncryption],
      maxDecompressedLength: 0,
    });
  } catch (error) {
    return fail('The access token could not be decrypted with this client key', error);
  }
  const { plaintext, protectedHeader } = decrypted;
  if (protectedHeader.kid !== pair.kid) fail('The access token was not encrypted to this client key');
  if (protectedHeader.cty !== policy.contentType) fail('The access token does not carry a JWT');
  let jws: string;
  try {
    jws = utf8.decode(plaintext);
  } catch (error) {
    return fail('The access token does not carry a JWT', error);
  }
  if (jws.split('.').length !== 3) fail('The access token does not carry a compact JWS');
  return { jws, outerHeader: protectedHeader };
}

/**
 * Verifies the inner JWS against the server's JWKS (refetched once if its `kid` is unknown):
 * signature, algorithm allowlist, `typ: at+jwt`, required claims, expiry, and `iss`/`aud` when
 * expected values are given.
 *
 * @throws {AuthClientError} `token_verification_failed`.
 * @example const { claims } = await verifyInnerToken(jws, jwks, { issuer: 'https://auth.example' });
 */
export async function verifyInnerToken(
  jws: string,
  jwks: JwksCache,
  expected: ExpectedClaims = {},
): Promise<{ innerHeader: JWTHeaderParameters; claims: AccessTokenClaims }> {
  const policy = CLIENT_TOKEN_POLICY;
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch (error) {
    return fail('The inner token has no readable header', error);
  }
  const resolve = await jwks.resolverFor(kid);
  if (!resolve) fail(`The server publishes no signing key "${String(kid)}"`);
  try {
    const { payload, protectedHeader } = await jwtVerify(jws, resolve, {
      algorithms: policy.signingAlgorithms,
      typ: policy.tokenType,
      requiredClaims: policy.requiredClaims,
      clockTolerance: policy.clockToleranceSeconds,
      ...(expected.issuer === undefined ? {} : { issuer: expected.issuer }),
      ...(expected.audience === undefined ? {} : { audience: expected.audience }),
      ...(expected.now === undefined ? {} : { currentDate: new Date(expected.now) }),
    });
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') {
      fail('The inner token has malformed claims');
    }
    return { innerHeader: protectedHeader, claims: payload as unknown as AccessTokenClaims };
  } catch (error) {
    if (error instanceof AuthClientError) throw error;
    const code = (error as { code?: unknown }).code;
    return fail(`The inner token failed verification${typeof code === 'string' ? ` (${code})` : ''}`, error);
  }
}

/**
 * Seals the inner JWS to the server's current encryption key: the compact JWE that goes after
 * `Bearer`. Anyone can make one; only the signature inside makes it worth anything.
 *
 * @throws {AuthClientError} `unexpected_response` when the JWKS has no usable encryption key.
 * @example const bearer = await sealForServer(token.jws, jwks);
 */
export async function sealForServer(jws: string, jwks: JwksCache): Promise<string> {
  const policy = CLIENT_TOKEN_POLICY;
  const jwk = await jwks.encryptionKey();
  if (!jwk || typeof jwk.alg !== 'string' || !policy.sealingAlgorithms.includes(jwk.alg) || typeof jwk.kid !== 'string') {
    throw new AuthClientError('unexpected_response', 'The server publishes no usable encryption key');
  }
  const key = await importJWK(jwk, jwk.alg);
  return new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: jwk.alg, enc: policy.contentEncryption, cty: policy.contentType, kid: jwk.kid })
    .encrypt(key);
}
