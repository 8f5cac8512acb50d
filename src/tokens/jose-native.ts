import { constants, createHash, KeyObject, sign, verify } from 'node:crypto';
import { TokenRejectedError } from '../errors.js';
import type { ServerKey } from '../keys/server-key.js';
import { isJsonObject } from './accept-headers.js';

/**
 * The JOSE pieces the server's node:crypto paths share: issuing a token (`issue.ts`), opening a
 * bearer (`accept-native.ts`) and checking a DPoP proof (`dpop.ts`). The server's keys as
 * KeyObjects, a compact serialisation's JSON segments and `crit` rules as jose reads them, the Concat
 * KDF, and one table of the JWS signature algorithms for signing and checking. No primitive is
 * written here: SHA-256 and the signatures are OpenSSL's, through node:crypto.
 */

/** What the server uses in the AES-GCM layer (RFC 7518 §5.3): a 256-bit key and a 96-bit IV. */
export const CEK_BYTES = 32;
export const IV_BYTES = 12;
/** The fixed initial value of RFC 3394 key wrap. */
export const AES_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
/** RFC 7518 §3.5: PS256 signatures use a salt as long as the SHA-256 hash. */
const PSS_SALT_BYTES = 32;
/** ES256 and EdDSA signatures: r‖s (RFC 7518 §3.4) or R‖S (RFC 8037), 64 bytes. */
const SIGNATURE_BYTES = 64;

/** jose's strict decoder: fatal on malformed UTF-8, a leading BOM dropped. */
export const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Refuses with a jose error code (or a policy reason), so reasons and refusal kinds match jose's. */
export function fail(code: string): never {
  throw new TokenRejectedError(code);
}

export interface NodeKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}
const nodeKeys = new WeakMap<ServerKey, NodeKeys>();

/** The KeyObjects of a server key, made once from its CryptoKeys (no export, no copy of the secret). */
export function nodeKeysOf(key: ServerKey): NodeKeys {
  let found = nodeKeys.get(key);
  if (!found) {
    found = { privateKey: KeyObject.from(key.privateKey), publicKey: KeyObject.from(key.publicKey) };
    nodeKeys.set(key, found);
  }
  return found;
}

/**
 * A base64url segment's JSON object, decoded as jose decodes a protected header or a claims set:
 * strict UTF-8, then `JSON.parse`, and an object (not an array, not `null`), else `invalid`.
 */
export function jsonObjectOf(segment: string, invalid: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    return fail(invalid);
  }
  return isJsonObject(parsed) ? parsed : fail(invalid);
}

/**
 * jose's `crit` rules (RFC 7515 §4.1.11): a non-empty array of non-empty names, each an extension jose
 * recognises (none for a JWE, `b64` for a JWS) and present, and a `b64` it names a boolean.
 */
export function checkCrit(header: Record<string, unknown>, recognized: readonly string[], invalid: string): void {
  const { crit } = header;
  if (crit === undefined) return;
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((name) => typeof name === 'string' && name.length > 0)) fail(invalid);
  for (const name of crit as string[]) {
    if (!recognized.includes(name)) fail('ERR_JOSE_NOT_SUPPORTED');
    if (header[name] === undefined) fail(invalid);
  }
  if (crit.includes('b64') && typeof header.b64 !== 'boolean') fail(invalid);
}

/** A 32-bit big-endian length or counter. */
function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/**
 * RFC 7518 §4.6.2 Concat KDF for a 256-bit key: one SHA-256 round over the counter 1, the shared
 * secret and OtherInfo (AlgorithmID, PartyUInfo, PartyVInfo each length-prefixed, then the key length
 * in bits), with the decoded `apu`/`apv` (empty when absent), as jose derives it.
 */
export function concatKdf(shared: Buffer, algorithmId: string, apu: Buffer = Buffer.alloc(0), apv: Buffer = Buffer.alloc(0)): Buffer {
  const algorithm = Buffer.from(algorithmId, 'ascii');
  return createHash('sha256')
    .update(uint32(1))
    .update(shared)
    .update(uint32(algorithm.length))
    .update(algorithm)
    .update(uint32(apu.length))
    .update(apu)
    .update(uint32(apv.length))
    .update(apv)
    .update(uint32(CEK_BYTES * 8))
    .digest();
}

/** How node:crypto signs and checks under one JWS algorithm, as WebCrypto does. */
interface JwsSignature {
  /** The digest `sign`/`verify` take (`null`: Ed25519 hashes inside). */
  readonly digest: 'sha256' | null;
  /** The key options beside the key: the signature's encoding or padding. */
  readonly options: { readonly dsaEncoding?: 'ieee-p1363'; readonly padding?: number; readonly saltLength?: number };
  /** The exact length of a signature, where it is fixed. */
  readonly bytes?: number;
}

/**
 * The JWS algorithms the server signs with and accepts signatures under (server tokens and DPoP
 * proofs): ES256 as r‖s (RFC 7518 §3.4), EdDSA over Ed25519 (RFC 8037), PS256 with a salt as long as
 * the hash (RFC 7518 §3.5). Issuing signs and accepting verifies from this one table.
 */
const JWS_SIGNATURES: Readonly<Record<string, JwsSignature>> = Object.freeze({
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' }, bytes: SIGNATURE_BYTES },
  EdDSA: { digest: null, options: {}, bytes: SIGNATURE_BYTES },
  PS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES } },
});

/** The table's entry for `alg`, own members only (`constructor` is no algorithm). */
const jwsSignature = (alg: string): JwsSignature | undefined => (Object.hasOwn(JWS_SIGNATURES, alg) ? JWS_SIGNATURES[alg] : undefined);

/**
 * The signature of `input` by `privateKey` under the JWS algorithm `alg`, as WebCrypto makes it.
 *
 * @throws {Error} for an algorithm outside the table.
 */
export function signatureFor(alg: string, privateKey: KeyObject, input: Buffer): Buffer {
  const spec = jwsSignature(alg);
  if (!spec) throw new Error(`no signing algorithm ${alg}`);
  return sign(spec.digest, input, { key: privateKey, ...spec.options });
}

/**
 * Whether `signature` is a signature of `input` by `publicKey` under the JWS algorithm `alg`, as
 * WebCrypto checks it (ES256 and EdDSA: exactly 64 bytes; ES256 as r‖s). Any other `alg`, and any
 * error OpenSSL raises, is `false`. The server's tokens and DPoP proofs are both checked here.
 */
export function signatureValidFor(alg: string, publicKey: KeyObject, input: Buffer, signature: Buffer): boolean {
  const spec = jwsSignature(alg);
  if (!spec || (spec.bytes !== undefined && signature.length !== spec.bytes)) return false;
  try {
    return verify(spec.digest, input, { key: publicKey, ...spec.options }, signature);
  } catch {
    return false;
  }
}

/** jose's `typ` comparison: case-insensitive, `application/` implied when there is no `/`. */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
}
