import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AuthError } from '../errors.js';
import { jwkThumbprint, publicMembers } from '../keys/server-key.js';
import { canSealTo } from './issue.js';

/** A validated client public key, imported once for this request (node:crypto, as `sealTo` uses it). */
export interface ClientKey {
  /** The public members only, as stored with the session. */
  readonly jwk: JWK;
  /** RFC 7638 thumbprint; the `kid` of every access token encrypted to this key. */
  readonly kid: string;
  /** The key management algorithm access tokens use for this key. */
  readonly alg: 'ECDH-ES' | 'ECDH-ES+A256KW' | 'RSA-OAEP-256';
  readonly key: KeyObject;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const B64URL = /^[A-Za-z0-9_-]+$/;
/** Accepted client key kinds and limits, as data. */
export const CLIENT_KEY_POLICY = Object.freeze({
  okpCurves: { X25519: 'ECDH-ES' } as Record<string, ClientKey['alg']>,
  ecCurves: { 'P-256': 'ECDH-ES+A256KW' } as Record<string, ClientKey['alg']>,
  rsaAlg: 'RSA-OAEP-256' as const,
  rsaMinBits: 2048,
  rsaMaxBits: 8192,
  rsaExponent: 'AQAB',
  coordinateBytes: 32,
});

const reject = (why: string): never => {
  throw new AuthError('invalid_client_key', `client_key ${why}`);
};

function byteLength(member: unknown, name: string): number {
  if (typeof member !== 'string' || !B64URL.test(member)) reject(`member "${name}" must be base64url`);
  return Buffer.from(member as string, 'base64url').length;
}

function rsaBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (bytes[i] as number).toString(2).length;
}

function algorithmFor(jwk: Record<string, unknown>): ClientKey['alg'] {
  const policy = CLIENT_KEY_POLICY;
  if (jwk.kty === 'OKP' || jwk.kty === 'EC') {
    const curves = jwk.kty === 'OKP' ? policy.okpCurves : policy.ecCurves;
    // Own members only: `constructor` or `__proto__` is no curve.
    const alg = typeof jwk.crv === 'string' && Object.hasOwn(curves, jwk.crv) ? curves[jwk.crv] : undefined;
    if (!alg) return reject(`curve must be ${jwk.kty === 'OKP' ? 'X25519' : 'P-256'}`);
    if (byteLength(jwk.x, 'x') !== policy.coordinateBytes) reject('has a malformed "x"');
    if (jwk.kty === 'EC' && byteLength(jwk.y, 'y') !== policy.coordinateBytes) reject('has a malformed "y"');
    return alg;
  }
  if (jwk.kty === 'RSA') {
    byteLength(jwk.n, 'n');
    const bits = rsaBits(jwk.n as string);
    if (bits < policy.rsaMinBits || bits > policy.rsaMaxBits) reject(`RSA modulus must be ${policy.rsaMinBits} to ${policy.rsaMaxBits} bits`);
    if (jwk.e !== policy.rsaExponent) reject('RSA exponent must be 65537');
    if (((Buffer.from(jwk.n as string, 'base64url').at(-1) ?? 0) & 1) === 0) reject('RSA modulus must be odd');
    return policy.rsaAlg;
  }
  return reject('kty must be OKP, EC or RSA');
}

/** What a key may be used for to sign (RFC 7517 §4.3): a key limited to these is no encryption key. */
const SIGNING_OPERATIONS: readonly unknown[] = ['sign', 'verify'];

/**
 * Whether a `key_ops` member lets the key be sealed to, as `use` must be `enc`: an array of strings
 * that names no signing operation. An empty array is taken: WebCrypto exports an ECDH public key so
 * (a public key has no usages of its own there), and browsers send such keys.
 */
function keyOpsAllowSealing(keyOps: unknown): boolean {
  return Array.isArray(keyOps) && keyOps.every((op) => typeof op === 'string' && !SIGNING_OPERATIONS.includes(op));
}

/** The key kind node:crypto must report for each algorithm: anything else is refused. */
const NODE_TYPE: Readonly<Record<ClientKey['alg'], string>> = { 'ECDH-ES': 'x25519', 'ECDH-ES+A256KW': 'ec', 'RSA-OAEP-256': 'rsa' };

/** The public JWK as a node:crypto KeyObject of the kind `alg` takes (a P-256 point off the curve is refused here). */
function importPublic(jwk: JWK, alg: ClientKey['alg']): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return reject('is not a valid key');
  }
  if (key.asymmetricKeyType !== NODE_TYPE[alg]) reject('is not a valid key');
  return key;
}

/**
 * Validates a client's public JWK and imports it once: public X25519 (ECDH-ES), P-256
 * (ECDH-ES+A256KW) or RSA of 2048 to 8192 bits with e = 65537 (RSA-OAEP-256). Private members,
 * symmetric keys, other curves, P-256 points off the curve, X25519 points of small order and weak
 * RSA keys are refused. Synchronous: node:crypto imports, probes and hashes it (the async signature
 * is kept for callers).
 *
 * @throws {AuthError} `invalid_client_key` with the reason.
 * @example const clientKey = await parseClientKey(req.body.client_key);
 */
export async function parseClientKey(input: unknown): Promise<ClientKey> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return reject('must be a JWK object');
  const jwk = input as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) reject('must be a public key (private or symmetric members found)');
  const alg = algorithmFor(jwk);
  if (jwk.alg !== undefined && jwk.alg !== alg) reject(`"alg" must be ${alg} for this key type`);
  if (jwk.use !== undefined && jwk.use !== 'enc') reject('"use" must be "enc"');
  if (jwk.key_ops !== undefined && !keyOpsAllowSealing(jwk.key_ops)) reject('"key_ops" must not limit the key to signing');
  const pub = publicMembers(jwk as JWK);
  const key = importPublic(pub, alg);
  if (!canSealTo(key, alg)) reject('cannot be encrypted to (a point of small order or an unusable modulus)');
  return { jwk: pub, kid: jwkThumbprint(pub), alg, key };
}

/**
 * Imports a client key stored with a session. It was validated in full at login (members, trial
 * key agreement or encryption, thumbprint), so a refresh only re-reads its algorithm and imports it,
 * reusing the stored thumbprint instead of computing it and probing the key again.
 *
 * @param jwk - The public JWK stored with the session.
 * @param kid - Its thumbprint, stored with the session.
 * @throws {AuthError} `invalid_client_key` if the stored key cannot be imported.
 * @example const clientKey = await importStoredClientKey(session.clientJwk, session.clientKid);
 */
export async function importStoredClientKey(jwk: JWK, kid: string): Promise<ClientKey> {
  const alg = algorithmFor(jwk as Record<string, unknown>);
  return { jwk, kid, alg, key: importPublic(jwk, alg) };
}
