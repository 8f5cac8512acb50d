import { compactDecrypt, jwtVerify, type CompactJWEHeaderParameters, type DecryptOptions, type JWSHeaderParameters } from 'jose';
import { TokenRejectedError } from '../errors.js';
import type { KeyManager } from '../keys/manager.js';
import { jweKeyFor, jwsKeyFor } from './accept-headers.js';
import { decryptNative, verifyNative } from './accept-native.js';
import { ACCEPT_POLICY, canonical, type AccessClaims } from './policy.js';

/** Who the server is: the `iss` and `aud` every accepted token must carry, and the access token lifetime. */
export interface AcceptOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly accessTokenTtlMs: number;
  /** The time to check `exp` and `iat` against (epoch ms); default the system clock. */
  readonly now?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuse(reason: string): never {
  throw new TokenRejectedError(reason);
}

/**
 * What jose may do when it decrypts a bearer: only the key management algorithm of the server's
 * encryption key, only A256GCM, and no decompression. Exported so that the public test vectors run
 * through the very options the pipeline uses.
 *
 * @example const { plaintext } = await compactDecrypt(jwe, keys.encryption.privateKey, decryptOptions(keys));
 */
export function decryptOptions(keys: Pick<KeyManager, 'encryption'>): DecryptOptions {
  return {
    keyManagementAlgorithms: [keys.encryption.alg],
    contentEncryptionAlgorithms: ACCEPT_POLICY.contentEncryptionAlgorithms,
    maxDecompressedLength: ACCEPT_POLICY.maxDecompressedLength,
  };
}

/** One way of opening the two layers of a bearer: node:crypto (the default) or jose (the reference). */
interface Engine {
  decrypt(token: string, keys: KeyManager): string | Promise<string>;
  verify(jws: string, keys: KeyManager, options: AcceptOptions): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** node:crypto, synchronous, with the key objects made once per server key (`accept-native.ts`). */
const NATIVE: Engine = { decrypt: decryptNative, verify: verifyNative };

/** jose's `compactDecrypt` and `jwtVerify` (WebCrypto), with the same header policy in their key resolvers. */
const JOSE: Engine = {
  async decrypt(token, keys) {
    const { plaintext } = await compactDecrypt(
      token,
      // Called with the protected header (the whole header of a compact JWE) after jose's alg/enc
      // allowlists and before any key agreement or decryption, so a refused header costs no
      // cryptography. `zip` is not an allowed member, so a compressed plaintext is never inflated.
      (header: CompactJWEHeaderParameters) => jweKeyFor(header as Record<string, unknown>, keys).privateKey,
      decryptOptions(keys),
    );
    return utf8.decode(plaintext);
  },
  async verify(jws, keys, options) {
    const { payload } = await jwtVerify(jws, (header: JWSHeaderParameters) => jwsKeyFor(header as Record<string, unknown>, keys).publicKey, {
      algorithms: [keys.signing.alg],
      typ: ACCEPT_POLICY.tokenType,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ACCEPT_POLICY.requiredClaims,
      maxTokenAge: Math.ceil(options.accessTokenTtlMs / 1000),
      clockTolerance: ACCEPT_POLICY.clockToleranceSeconds,
      ...(options.now === undefined ? {} : { currentDate: new Date(options.now) }),
    });
    return payload as Record<string, unknown>;
  },
};

/**
 * Opens and verifies a bearer token sealed to the server: format, size and canonical base64url first;
 * then the JWE header (jose's rules for `crit`, `zip`, `alg` and `enc` with single-entry allowlists,
 * then the server's member allowlist, `cty: JWT`, the `kid` and the ephemeral key's shape) before any
 * key agreement; the content decrypted with AES-256-GCM; a compact JWS inside, its header (`alg`, a
 * known `kid`, nothing the server does not write), its signature, then the claims as `jwtVerify`
 * checks them (`typ: at+jwt`, issuer, audience, required claims, times and maximum age). The
 * cryptography is node:crypto's, synchronous, with the same checks and refusal codes as jose's
 * (kept as {@link acceptWithJose}, the reference the tests hold it to). Session and user checks come
 * after, in the caller.
 *
 * @returns The verified claims.
 * @throws {TokenRejectedError} for every reason a token is refused; the reason is for logs only,
 * clients see one uniform 401.
 */
export function acceptAccessToken(token: string, keys: KeyManager, options: AcceptOptions): Promise<AccessClaims> {
  return accept(NATIVE, token, keys, options);
}

/**
 * {@link acceptAccessToken} with jose (WebCrypto) doing the cryptography: the implementation the
 * native one replaced, kept as the reference the differential tests compare it with. Same policy,
 * same refusal reasons; several times slower on Node 20.
 */
export function acceptWithJose(token: string, keys: KeyManager, options: AcceptOptions): Promise<AccessClaims> {
  return accept(JOSE, token, keys, options);
}

async function accept(engine: Engine, token: string, keys: KeyManager, options: AcceptOptions): Promise<AccessClaims> {
  const policy = ACCEPT_POLICY;
  if (token.length > policy.maxTokenLength) refuse('token too long');
  if (!policy.compactJwe.test(token)) refuse('not a compact JWE');
  if (!canonical(token)) refuse('JWE not canonical base64url');
  let jws: string;
  try {
    jws = await engine.decrypt(token, keys);
  } catch (error) {
    return refuse(`decrypt: ${describe(error)}`);
  }
  if (!policy.compactJws.test(jws)) refuse('plaintext is not a compact JWS');
  if (!canonical(jws)) refuse('JWS not canonical base64url');
  try {
    const payload = await engine.verify(jws, keys, options);
    const { sub, sid, jti, cnf } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') refuse('claim types');
    if (cnf !== undefined && !isConfirmation(cnf)) refuse('cnf is not {jkt}');
    return payload as unknown as AccessClaims;
  } catch (error) {
    return refuse(`verify: ${describe(error)}`);
  }
}

/** A `cnf` claim of the one form this server issues: `{jkt: <SHA-256 thumbprint>}`. */
function isConfirmation(cnf: unknown): boolean {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return false;
  const { jkt, ...others } = cnf as Record<string, unknown>;
  return typeof jkt === 'string' && ACCEPT_POLICY.thumbprint.test(jkt) && Object.keys(others).length === 0;
}

function describe(error: unknown): string {
  if (error instanceof TokenRejectedError) return error.reason;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
}
