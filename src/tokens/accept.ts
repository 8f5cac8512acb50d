import { compactDecrypt, jwtVerify, type CompactJWEHeaderParameters, type DecryptOptions, type JWSHeaderParameters } from 'jose';
import { TokenRejectedError } from '../errors.js';
import type { KeyManager } from '../keys/manager.js';
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

/**
 * Opens and verifies a bearer token sealed to the server: format, size and canonical base64url first, then
 * `compactDecrypt` with single-entry allowlists (no PBES2) and the header checked before any
 * decryption (no `zip`, `cty: JWT`), then a compact JWS inside, then `jwtVerify` with the server's
 * signing algorithm, `typ: at+jwt`, issuer, audience, required claims and a maximum age. Session
 * and user checks come after, in the caller.
 *
 * @returns The verified claims.
 * @throws {TokenRejectedError} for every reason a token is refused, jose's errors included; the
 * reason is for logs only, clients see one uniform 401.
 */
export async function acceptAccessToken(token: string, keys: KeyManager, options: AcceptOptions): Promise<AccessClaims> {
  const policy = ACCEPT_POLICY;
  if (token.length > policy.maxTokenLength) refuse('token too long');
  if (!policy.compactJwe.test(token)) refuse('not a compact JWE');
  if (!canonical(token)) refuse('JWE not canonical base64url');
  let jws: string;
  try {
    const { plaintext } = await compactDecrypt(
      token,
      // Called with the protected header (the whole header of a compact JWE) after jose's alg/enc
      // allowlists and before any key agreement or decryption, so a refused header costs no
      // cryptography. `zip` is not an allowed member, so a compressed plaintext is never inflated.
      (header: CompactJWEHeaderParameters) => {
        for (const name of Object.keys(header)) if (!policy.jweHeaderMembers.has(name)) refuse(`JWE header member ${name}`);
        if (header.cty !== policy.contentType) refuse('outer cty is not JWT');
        const key = keys.find('encryption', header.kid);
        return key ? key.privateKey : refuse('unknown encryption kid');
      },
      decryptOptions(keys),
    );
    jws = utf8.decode(plaintext);
  } catch (error) {
    return refuse(`decrypt: ${describe(error)}`);
  }
  if (!policy.compactJws.test(jws)) refuse('plaintext is not a compact JWS');
  if (!canonical(jws)) refuse('JWS not canonical base64url');
  try {
    const { payload } = await jwtVerify(
      jws,
      (header: JWSHeaderParameters) => {
        const key = keys.find('signing', header.kid);
        return key && header.kid !== undefined ? key.publicKey : refuse('unknown signing kid');
      },
      {
        algorithms: [keys.signing.alg],
        typ: policy.tokenType,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: policy.requiredClaims,
        maxTokenAge: Math.ceil(options.accessTokenTtlMs / 1000),
        clockTolerance: policy.clockToleranceSeconds,
        ...(options.now === undefined ? {} : { currentDate: new Date(options.now) }),
      },
    );
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
