import { constants, createCipheriv, diffieHellman, publicEncrypt, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { CONTENT_ENCRYPTION } from '../keys/algorithms.js';
import { generateDetached, type DetachedKeyPair } from '../keys/node-keys.js';
import type { ServerKey } from '../keys/server-key.js';
import { AES_KW_IV, CEK_BYTES, concatKdf, IV_BYTES, nodeKeysOf, signatureFor } from './jose-native.js';
import type { ClientKey } from './client-key.js';
import { ACCEPT_POLICY } from './policy.js';

/** What an access token says and how long it lives. */
export interface IssueInput {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly sessionId: string;
  readonly ttlMs: number;
  readonly signingKey: ServerKey;
  readonly clientKey: ClientKey;
  /** The DPoP proof key's thumbprint for a bound session: the token carries `cnf: {jkt}` (RFC 9449 §6.1). */
  readonly dpopJkt?: string | null;
  /** Epoch ms; defaults to now. */
  readonly now?: number;
}

/** An issued access token with what the response reports about it. */
export interface IssuedToken {
  /** The JWE compact string encrypted to the client key. */
  readonly token: string;
  readonly jti: string;
  /** Seconds until `exp`. */
  readonly expiresIn: number;
}

/**
 * Issues a nested access token: a JWS (`typ: at+jwt`) signed with the server's key, encrypted as a
 * JWE (`cty: JWT`, `enc: A256GCM`, `kid` = the client key's thumbprint) to the client's public key.
 * A DPoP-bound token also carries `cnf: {jkt}`.
 *
 * Built with node:crypto, synchronously (no thread pool round trip per step, as WebCrypto takes): the
 * same headers, claims and member order as jose's `SignJWT` and `CompactEncrypt`, the construction it
 * replaced, which `test/tokens/issue.test.ts` keeps as its reference. Every primitive is OpenSSL's: the signature, the
 * ephemeral X25519/P-256 agreement, Concat KDF's SHA-256, AES-KW, RSA-OAEP-256 and AES-256-GCM.
 *
 * @example const { token } = await issueAccessToken({ issuer, audience, subject, sessionId, ttlMs, signingKey, clientKey });
 */
export async function issueAccessToken(input: IssueInput): Promise<IssuedToken> {
  const iat = Math.floor((input.now ?? Date.now()) / 1000);
  const expiresIn = Math.max(1, Math.floor(input.ttlMs / 1000));
  const jti = randomUUID();
  const claims = input.dpopJkt ? { sid: input.sessionId, cnf: { jkt: input.dpopJkt } } : { sid: input.sessionId };
  const header = json({ alg: input.signingKey.alg, kid: input.signingKey.kid, typ: ACCEPT_POLICY.tokenType });
  const payload = json({ ...claims, iss: input.issuer, sub: input.subject, aud: input.audience, iat, exp: iat + expiresIn, jti });
  const signingInput = `${header}.${payload}`;
  const jws = `${signingInput}.${signatureFor(input.signingKey.alg, nodeKeysOf(input.signingKey).privateKey, Buffer.from(signingInput, 'ascii')).toString('base64url')}`;
  return { token: sealTo(input.clientKey, jws), jti, expiresIn };
}

/** A JSON object as a base64url segment. */
function json(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * `jws` as a compact JWE to the client's key: the content key agreed (ECDH-ES), wrapped after an
 * agreement (ECDH-ES+A256KW) or encrypted (RSA-OAEP-256), then AES-256-GCM over the JWS with the
 * protected header as additional data.
 */
export function sealTo(clientKey: Pick<ClientKey, 'alg' | 'key' | 'kid'>, jws: string): string {
  const recipient = clientKey.key;
  let cek: Buffer;
  let encryptedKey: Buffer = Buffer.alloc(0);
  let epk: Record<string, unknown> | undefined;
  if (clientKey.alg === 'RSA-OAEP-256') {
    cek = randomBytes(CEK_BYTES);
    encryptedKey = encryptCek(recipient, cek);
  } else {
    const ephemeral = ephemeralFor(clientKey.alg);
    const derived = concatKdf(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }), clientKey.alg === 'ECDH-ES' ? CONTENT_ENCRYPTION : clientKey.alg);
    const { x, y, crv, kty } = ephemeral.publicJwk;
    // jose's member order: x, crv, kty, then y for an EC key.
    epk = kty === 'EC' ? { x, crv, kty, y } : { x, crv, kty };
    if (clientKey.alg === 'ECDH-ES') {
      cek = derived;
    } else {
      cek = randomBytes(CEK_BYTES);
      const wrap = createCipheriv('id-aes256-wrap', derived, AES_KW_IV);
      encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
    }
  }
  const protectedHeader = json({ alg: clientKey.alg, enc: CONTENT_ENCRYPTION, cty: ACCEPT_POLICY.contentType, kid: clientKey.kid, ...(epk && { epk }) });
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(protectedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(jws, 'utf8'), cipher.final()]);
  return [protectedHeader, encryptedKey.toString('base64url'), iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** RSA-OAEP-256 of a content key to `recipient`: the only step of a sealing to an RSA key that depends on the key. */
function encryptCek(recipient: KeyObject, cek: Buffer): Buffer {
  return publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
}

/**
 * A fresh ephemeral key pair on the curve of an ECDH algorithm. Not `generateKeyPairSync(...)` then
 * `publicKey.export({ format: 'jwk' })`: that deadlocks Node 20 now and then (generateDetached says why).
 */
function ephemeralFor(alg: 'ECDH-ES' | 'ECDH-ES+A256KW'): DetachedKeyPair {
  return alg === 'ECDH-ES' ? generateDetached('x25519') : generateDetached('ec', { namedCurve: 'P-256' });
}

/** One private key per curve, made on first use, that {@link canSealTo} agrees with client keys (the results are thrown away). */
const probeKeys = new Map<ClientKey['alg'], KeyObject>();

/**
 * Whether {@link sealTo} can seal to `key`: the one step of a sealing that depends on the recipient,
 * run once. Imports accept some keys that cannot encrypt: X25519 points of small order (every shared
 * secret zero, which OpenSSL refuses) and RSA moduli it cannot use. For ECDH the agreement is made
 * with a private key kept for probing, not a fresh ephemeral one: a point of small order fails the
 * agreement with any X25519 scalar (each is a multiple of the cofactor), and a P-256 point is checked
 * on import. The client-key check at login calls it, so such a key is refused 400 there instead of
 * failing the access token's sealing later (a 500).
 */
export function canSealTo(key: KeyObject, alg: ClientKey['alg']): boolean {
  try {
    if (alg === 'RSA-OAEP-256') {
      encryptCek(key, Buffer.alloc(CEK_BYTES));
    } else {
      let probe = probeKeys.get(alg);
      if (!probe) probeKeys.set(alg, (probe = ephemeralFor(alg).privateKey));
      diffieHellman({ privateKey: probe, publicKey: key });
    }
    return true;
  } catch {
    return false;
  }
}
