import { constants, createCipheriv, createPublicKey, diffieHellman, KeyObject, publicEncrypt, randomBytes, sign } from 'node:crypto';
import type { JWK } from 'jose';
import type { KeySpec } from '../../src/keys/algorithms.js';
import { toServerKey, type ServerKey } from '../../src/keys/server-key.js';
import { base64url, concatKdf } from './forge.js';
import { generateDetached, generatePrivateKey } from '../../src/keys/node-keys.js';

/**
 * Sealing and signing by hand with node:crypto, for every key kind the server can be configured with,
 * so that tests can write what jose will not (any header, epk, IV or tag length, encrypted key) and
 * still produce a token whose cryptography holds wherever the change allows it.
 */

const serverKeys = new Map<KeySpec, Promise<ServerKey>>();

/** A server key of `spec`'s kind, made once per test file and then reused (RSA ones take a while). */
export function serverKeyFor(spec: KeySpec): Promise<ServerKey> {
  let key = serverKeys.get(spec);
  if (!key) serverKeys.set(spec, (key = toServerKey(generatePrivateKey(spec), spec)));
  return key;
}

/** How to bend a sealing; everything else is what a client writes. */
export interface SealOptions {
  /** Members merged into the protected header after the key agreement; `undefined` removes one. */
  readonly header?: Record<string, unknown>;
  /** Replaces the `epk` written (the key agreement still uses the real ephemeral key). */
  readonly epk?: (epk: JWK) => unknown;
  /** Party info, written to the header and fed to the KDF. */
  readonly apu?: Buffer;
  readonly apv?: Buffer;
  readonly ivBytes?: number;
  /** AES-GCM tag length, 4 to 16. */
  readonly tagBytes?: number;
  /** `omit` writes an empty encrypted key where one is needed; `add` writes one where none is. */
  readonly encryptedKey?: 'omit' | 'add';
}

const AES_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

function ephemeral(key: ServerKey): { privateKey: KeyObject; epk: JWK } {
  const pair = key.publicJwk.crv === 'X25519' ? generateDetached('x25519') : generateDetached('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = pair.publicJwk;
  return { privateKey: pair.privateKey, epk: JSON.parse(JSON.stringify({ kty, crv, x, y })) as JWK };
}

/** Seals a plaintext to a server encryption key (ECDH-ES, ECDH-ES+A256KW or RSA-OAEP-256) with A256GCM. */
export function sealNative(plaintext: string | Buffer, key: ServerKey, options: SealOptions = {}): string {
  const recipient = KeyObject.from(key.publicKey);
  const members: Record<string, unknown> = { alg: key.alg, enc: 'A256GCM', cty: 'JWT', kid: key.kid };
  let cek: Buffer;
  let encryptedKey = Buffer.alloc(0);
  if (key.alg === 'RSA-OAEP-256') {
    cek = randomBytes(32);
    encryptedKey = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  } else {
    const { privateKey, epk } = ephemeral(key);
    const shared = diffieHellman({ privateKey, publicKey: recipient });
    members.epk = options.epk ? options.epk(epk) : epk;
    if (options.apu) members.apu = base64url(options.apu);
    if (options.apv) members.apv = base64url(options.apv);
    const derived = concatKdf(shared, key.alg === 'ECDH-ES' ? 'A256GCM' : key.alg, 256, options.apu, options.apv);
    if (key.alg === 'ECDH-ES') {
      cek = derived;
    } else {
      cek = randomBytes(32);
      const wrap = createCipheriv('id-aes256-wrap', derived, AES_KW_IV);
      encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
    }
  }
  if (options.encryptedKey === 'omit') encryptedKey = Buffer.alloc(0);
  if (options.encryptedKey === 'add') encryptedKey = randomBytes(40);
  const header = JSON.parse(JSON.stringify({ ...members, ...options.header })) as Record<string, unknown>;
  const encodedHeader = base64url(JSON.stringify(header));
  const iv = randomBytes(options.ivBytes ?? 12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: options.tagBytes ?? 16 });
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [encodedHeader, base64url(encryptedKey), base64url(iv), base64url(ciphertext), base64url(cipher.getAuthTag())].join('.');
}

/**
 * Signs a compact JWS by hand with a server signing key (ES256, EdDSA or PS256): any header, and a
 * payload given as text, so claims JSON cannot write (`1e999`) or repeated members can be signed.
 */
export function signNative(header: Record<string, unknown>, payload: string, key: ServerKey): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(payload)}`;
  const privateKey = KeyObject.from(key.privateKey);
  const data = Buffer.from(input, 'ascii');
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
      : key.alg === 'PS256'
        ? sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : sign(null, data, privateKey);
  return `${input}.${base64url(signature)}`;
}

/** Whether node:crypto takes a JWK as a public key (used to prove a test point is really off the curve). */
export function importable(jwk: Record<string, unknown>): boolean {
  try {
    createPublicKey({ key: jwk as never, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}
