import { constants, createDecipheriv, createPublicKey, diffieHellman, type KeyObject, privateDecrypt, randomBytes } from 'node:crypto';
import { TokenRejectedError } from '../errors.js';
import { CONTENT_ENCRYPTION } from '../keys/algorithms.js';
import type { KeyManager } from '../keys/manager.js';
import type { ServerKey } from '../keys/server-key.js';
import { jweKeyFor, jwsKeyFor } from './accept-headers.js';
import { AES_KW_IV, CEK_BYTES, checkCrit, concatKdf, fail, IV_BYTES, jsonObjectOf, nodeKeysOf, normalizeTyp, signatureValidFor, strictUtf8 } from './jose-native.js';
import { ACCEPT_POLICY } from './policy.js';

/**
 * Both layers of a bearer opened with node:crypto, synchronously: the same checks, in the same order
 * and with the same refusal codes as jose's `compactDecrypt` and `jwtVerify` with the options the
 * accept pipeline gives them (docs/protocol.md, "How the server opens a bearer"). No primitive is
 * written here: X25519/P-256 agreement, SHA-256, AES-KW, RSA-OAEP, AES-GCM and the signatures are
 * OpenSSL's, through node:crypto. The server's keys are turned into KeyObjects once per key.
 */

/** The AES-GCM tag the server accepts (RFC 7518 §5.3): 128 bits. */
const TAG_BYTES = 16;

/**
 * Opens a compact JWE sealed to the server (already checked for size, shape and canonical base64url):
 * the header rules jose applies (`crit`, `zip`, `alg`/`enc` present and allowed), the server's header
 * policy ({@link jweKeyFor}) before any key agreement, then {@link openSealed}.
 *
 * @returns The plaintext, decoded as strict UTF-8.
 * @throws {TokenRejectedError} with jose's code or the policy's reason.
 */
export function decryptNative(token: string, keys: Pick<KeyManager, 'encryption' | 'find'>): string {
  const header = jsonObjectOf(token.slice(0, token.indexOf('.')), 'ERR_JWE_INVALID');
  checkCrit(header, [], 'ERR_JWE_INVALID');
  if (header.zip !== undefined && header.zip !== 'DEF') fail('ERR_JOSE_NOT_SUPPORTED');
  if (typeof header.alg !== 'string' || header.alg === '' || typeof header.enc !== 'string' || header.enc === '') fail('ERR_JWE_INVALID');
  if (header.alg !== keys.encryption.alg || header.enc !== CONTENT_ENCRYPTION) fail('ERR_JOSE_ALG_NOT_ALLOWED');
  const key = jweKeyFor(header, keys);
  // A key the manager holds under that kid is of the server's kind; should it not be, its own algorithm
  // would decide how to open the token, not the header's: refuse instead.
  if (key.alg !== header.alg) fail('ERR_JOSE_ALG_NOT_ALLOWED');
  return strictUtf8.decode(openSealed(token, header, key));
}

/**
 * The cryptography of a compact JWE whose header already passed: key agreement or unwrapping with
 * the server key, then AES-256-GCM with the encoded protected header as AAD. As jose does, a key
 * management step that fails cryptographically goes on with a random content key, so it fails where a
 * wrong tag fails, as `ERR_JWE_DECRYPTION_FAILED`; a malformed member is `ERR_JWE_INVALID`.
 *
 * @param header - The parsed protected header (its `alg` is the server key's).
 * @param key - The server key it is sealed to.
 * @returns The plaintext bytes.
 */
export function openSealed(token: string, header: Record<string, unknown>, key: ServerKey): Buffer {
  const [encodedHeader, encodedKey, encodedIv, encodedCiphertext, encodedTag] = token.split('.') as [string, string, string, string, string];
  const cek = contentKey(key, header, Buffer.from(encodedKey, 'base64url'), encodedKey === '') ?? randomBytes(CEK_BYTES);
  const iv = Buffer.from(encodedIv, 'base64url');
  const tag = Buffer.from(encodedTag, 'base64url');
  if (tag.length !== TAG_BYTES || iv.length !== IV_BYTES) fail('ERR_JWE_INVALID');
  const decipher = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(encodedCiphertext, 'base64url')), decipher.final()]);
  } catch {
    return fail('ERR_JWE_DECRYPTION_FAILED');
  }
}

/** The content key, or `undefined` when the key management failed cryptographically. */
function contentKey(key: ServerKey, header: Record<string, unknown>, encryptedKey: Buffer, noEncryptedKey: boolean): Buffer | undefined {
  const { privateKey } = nodeKeysOf(key);
  if (key.alg === 'RSA-OAEP-256') {
    return checkedLength(() => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encryptedKey));
  }
  const direct = key.alg === 'ECDH-ES';
  // ECDH-ES agrees on the content key itself: an encrypted key is malformed. With key wrapping, an
  // empty one is only a key that will not unwrap.
  if (direct && !noEncryptedKey) fail('ERR_JWE_INVALID');
  const ephemeral = ACCEPT_POLICY.ephemeralKeys[key.alg];
  if (!ephemeral) return fail('ERR_JOSE_NOT_SUPPORTED');
  const epk = header.epk as Record<string, unknown>;
  let publicKey: KeyObject;
  try {
    // Built from the policy's kty and crv and the checked coordinates only; an off-curve P-256 point
    // is refused here, as WebCrypto refuses it on import.
    const jwk = Object.fromEntries([['kty', ephemeral.kty], ['crv', ephemeral.crv], ...ephemeral.coordinates.map((name) => [name, epk[name]])]);
    publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return undefined;
  }
  const apu = partyInfo(header.apu);
  const apv = partyInfo(header.apv);
  if (apu !== undefined && apv !== undefined && apu.equals(apv)) fail('ERR_JWE_INVALID');
  let shared: Buffer;
  try {
    // OpenSSL refuses a small-order X25519 point (an all-zero secret), as WebCrypto does.
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return undefined;
  }
  const derived = concatKdf(shared, direct ? CONTENT_ENCRYPTION : key.alg, apu, apv);
  if (direct) return derived;
  return checkedLength(() => {
    const decipher = createDecipheriv('id-aes256-wrap', derived, AES_KW_IV);
    return Buffer.concat([decipher.update(encryptedKey), decipher.final()]);
  });
}

/** A content key from a step that may throw, kept only when it is as long as A256GCM needs. */
function checkedLength(unwrap: () => Buffer): Buffer | undefined {
  try {
    const cek = unwrap();
    return cek.length === CEK_BYTES ? cek : undefined;
  } catch {
    return undefined;
  }
}

function partyInfo(value: unknown): Buffer | undefined {
  return value === undefined ? undefined : Buffer.from(value as string, 'base64url');
}

/** How many verified inner tokens are remembered per signing key, at most. */
const MAX_SIGNATURES = 10_000;
/** How many characters of verified inner tokens are remembered per signing key, at most. */
const MAX_SIGNATURE_CHARACTERS = 8 * 1024 * 1024;

/**
 * Inner tokens (compact JWS, exact strings) whose signature verified under a server key. A client
 * seals the one access token it holds afresh for each request; remembering that its signature holds
 * under this very key object skips the signature check of a re-sealing, and nothing else: the header
 * rules (and so whether the key is still accepted) and every claim, times included, are checked each
 * time. A reload makes new key objects, so it starts afresh. Only strings the server's key signed get
 * in, so the memory is bounded by the tokens the server issued, and by the limits above.
 */
export class SignatureMemo {
  readonly #byKey = new WeakMap<ServerKey, { entries: Set<string>; characters: number }>();

  /**
   * @param maxEntries - How many strings are remembered per key at most.
   * @param maxCharacters - How many characters are remembered per key at most.
   */
  constructor(
    private readonly maxEntries = MAX_SIGNATURES,
    private readonly maxCharacters = MAX_SIGNATURE_CHARACTERS,
  ) {}

  /** Whether `jws` was verified under `key`. */
  has(key: ServerKey, jws: string): boolean {
    return this.#byKey.get(key)?.entries.has(jws) === true;
  }

  /** Remembers that `jws` verified under `key`, evicting the oldest strings past the limits. */
  add(key: ServerKey, jws: string): void {
    if (jws.length > this.maxCharacters) return;
    let memo = this.#byKey.get(key);
    if (!memo) this.#byKey.set(key, (memo = { entries: new Set(), characters: 0 }));
    // A Set iterates in insertion order: the oldest first.
    for (const oldest of memo.entries) {
      if (memo.entries.size < this.maxEntries && memo.characters + jws.length <= this.maxCharacters) break;
      memo.entries.delete(oldest);
      memo.characters -= oldest.length;
    }
    memo.entries.add(jws);
    memo.characters += jws.length;
  }
}

/** The memo the accept pipeline uses. */
const verifiedSignatures = new SignatureMemo();

/** What {@link verifyNative} checks the claims against: the options the pipeline gives `jwtVerify`. */
export interface ClaimsOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly accessTokenTtlMs: number;
  readonly now?: number;
}

/**
 * Verifies the inner compact JWS (already checked for shape and canonical base64url): header rules
 * (jose's `crit` rules, `alg` exactly the server's, {@link jwsKeyFor}), the signature (unless this exact string verified
 * under this key before: {@link SignatureMemo}), then the claims as `jwtVerify` checks them.
 *
 * @returns The claims set.
 * @throws {TokenRejectedError} with jose's code or the policy's reason.
 */
export function verifyNative(jws: string, keys: Pick<KeyManager, 'signing' | 'find'>, options: ClaimsOptions): Record<string, unknown> {
  const [encodedHeader, encodedPayload, encodedSignature] = jws.split('.') as [string, string, string];
  const header = jsonObjectOf(encodedHeader, 'ERR_JWS_INVALID');
  checkCrit(header, ['b64'], 'ERR_JWS_INVALID');
  if (typeof header.alg !== 'string' || header.alg === '') fail('ERR_JWS_INVALID');
  if (header.alg !== keys.signing.alg) fail('ERR_JOSE_ALG_NOT_ALLOWED');
  const key = jwsKeyFor(header, keys);
  if (key.alg !== header.alg) fail('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  if (!verifiedSignatures.has(key, jws)) {
    const input = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
    if (!signatureValidFor(key.alg, nodeKeysOf(key).publicKey, input, Buffer.from(encodedSignature, 'base64url'))) fail('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    verifiedSignatures.add(key, jws);
  }
  return checkClaims(header, jsonObjectOf(encodedPayload, 'ERR_JWT_INVALID'), options);
}

/**
 * The claims checks of jose's `jwtVerify` with the pipeline's options, in its order: `typ`, presence of
 * the required claims (with `iat`, `aud`, `iss`), `iss`, `aud` (a string, or an array holding it),
 * then `iat` and `nbf` and `exp` numbers, `nbf` and `exp` with the clock tolerance, and the age from
 * `iat` against the token lifetime (rounded up to seconds), `iat` not ahead beyond the tolerance.
 */
export function checkClaims(header: Record<string, unknown>, claims: Record<string, unknown>, options: ClaimsOptions): Record<string, unknown> {
  const invalid = 'ERR_JWT_CLAIM_VALIDATION_FAILED';
  const expired = 'ERR_JWT_EXPIRED';
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(ACCEPT_POLICY.tokenType)) fail(invalid);
  for (const name of ACCEPT_POLICY.requiredClaims) if (!Object.hasOwn(claims, name)) fail(invalid);
  if (claims.iss !== options.issuer) fail(invalid);
  const { aud } = claims;
  if (aud !== options.audience && !(Array.isArray(aud) && aud.includes(options.audience))) fail(invalid);
  const tolerance = ACCEPT_POLICY.clockToleranceSeconds;
  // jose reads the time through a Date: the same rounding, and a time no Date holds is no time.
  const now = Math.floor(new Date(options.now ?? Date.now()).getTime() / 1000);
  if (!Number.isFinite(now)) fail('TypeError');
  const { iat, nbf, exp } = claims;
  if (typeof iat !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) fail(invalid);
  if (nbf !== undefined && (nbf as number) > now + tolerance) fail(invalid);
  if (exp !== undefined && typeof exp !== 'number') fail(invalid);
  if (exp !== undefined && (exp as number) <= now - tolerance) fail(expired);
  const age = now - iat;
  if (age - tolerance > Math.ceil(options.accessTokenTtlMs / 1000)) fail(expired);
  if (age < -tolerance) fail(invalid);
  return claims;
}
