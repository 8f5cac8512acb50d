import { createPrivateKey, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { KeySpec } from './algorithms.js';
import { describeMismatch } from './node-keys.js';

/** A key file could not be used; `message` is one line naming the file and the problem. */
export class KeyLoadError extends Error {
  override readonly name = 'KeyLoadError';
  /** Stable code for logs and tests. */
  readonly code = 'key_load_failed';
}

/** The PEM cipher for private keys at rest. */
const PEM_CIPHER = 'aes-256-cbc';

/**
 * Serialises a private key as a passphrase-protected PKCS#8 PEM.
 *
 * @param key - The private key.
 * @param passphrase - The passphrase the PEM is encrypted with.
 */
export function toEncryptedPem(key: KeyObject, passphrase: string): string {
  return key.export({ format: 'pem', type: 'pkcs8', cipher: PEM_CIPHER, passphrase }) as string;
}

/**
 * Writes a passphrase-protected PEM with mode 0600.
 *
 * @param overwrite - Replace an existing file; without it an existing file is an error.
 * @throws {KeyLoadError} when the file exists and `overwrite` is false.
 */
export async function writePem(file: string, pem: string, overwrite: boolean): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await fs.writeFile(file, pem, { mode: 0o600, flag: overwrite ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyLoadError(`${file} already exists; use --force to overwrite it`);
    }
    throw error;
  }
  await fs.chmod(file, 0o600);
}

/**
 * Reads and decrypts a passphrase-protected PKCS#8 PEM and checks it holds the expected kind of key.
 *
 * @throws {KeyLoadError} with one line for a missing or unreadable file, a file that is not an
 * encrypted PKCS#8 PEM, a wrong passphrase, or a key of the wrong type.
 */
export async function readPem(file: string, passphrase: string, spec: KeySpec): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new KeyLoadError(`key file ${file} is missing; create it with "npx jwe-auth keys generate"`);
    }
    throw new KeyLoadError(`key file ${file} cannot be read (${String(code)})`);
  }
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new KeyLoadError(`key file ${file} is not a passphrase-protected PKCS#8 PEM`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    throw new KeyLoadError(`key file ${file} cannot be decrypted: wrong PRIVATE_KEY_PASSPHRASE or damaged file`);
  }
  const mismatch = describeMismatch(key, spec);
  if (mismatch !== null) {
    throw new KeyLoadError(`key file ${file} holds ${mismatch}, but a ${spec.label} key is needed for ${spec.alg}`);
  }
  return key;
}
