/**
 * The Node-only part of the client SDK: a key store on disk. Kept apart from `client/index.ts` so
 * that a browser bundle never pulls in `node:fs`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { exportJWK, importJWK, type JWK } from 'jose';
import { DPOP_PROOF_ALG, proofKeyPair } from './dpop.js';
import { CLIENT_KEY_KINDS, isClientKeyKind, withPublicParts, type ClientKeyPair, type KeyStore } from './keys.js';

/** What the key file holds. */
interface KeyFile {
  readonly kind: string;
  readonly kid: string;
  readonly privateJwk: JWK;
  /** The DPoP proof key (ES256), when the client uses DPoP. */
  readonly proofJwk?: JWK;
  /** Its thumbprint. */
  readonly jkt?: string;
}

/** Owner read/write only: the file holds a private key. */
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

/**
 * A Node {@link KeyStore} writing the private keys as JWKs into one JSON file, mode 0600 (written
 * to a temporary file and renamed into place, so a crash never leaves half a key). The same file
 * loads the same keys, and so the same `kid` and DPoP `jkt`, on the next run; the DPoP proof key is
 * imported non-extractable.
 *
 * @example
 * const client = new AuthClient({ baseUrl, keyStore: new FileKeyStore('.auth/client-key.json') });
 */
export class FileKeyStore implements KeyStore {
  readonly needsExtractableKeys = true;

  /**
   * @param file - Path of the key file; its directory is created (mode 0700) when missing.
   * @example new FileKeyStore(path.join(os.homedir(), '.config', 'my-app', 'client-key.json'));
   */
  constructor(readonly file: string) {}

  async load(): Promise<ClientKeyPair | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const stored = JSON.parse(text) as Partial<KeyFile>;
    if (!isClientKeyKind(stored.kind) || typeof stored.privateJwk !== 'object' || stored.privateJwk === null) {
      throw new Error(`${this.file} is not a client key file`);
    }
    const privateKey = (await importJWK(stored.privateJwk, CLIENT_KEY_KINDS[stored.kind].alg, { extractable: true })) as CryptoKey;
    const pair = await withPublicParts(stored.kind, privateKey, stored.privateJwk);
    if (pair.kid !== stored.kid) throw new Error(`${this.file}: the key does not match its kid`);
    if (stored.proofJwk === undefined) return pair;
    const proofKey = await proofKeyPair((await importJWK(stored.proofJwk, DPOP_PROOF_ALG, { extractable: false })) as CryptoKey, stored.proofJwk);
    if (proofKey.jkt !== stored.jkt) throw new Error(`${this.file}: the DPoP key does not match its jkt`);
    return { ...pair, proofKey };
  }

  async save(pair: ClientKeyPair): Promise<void> {
    const proof = pair.proofKey ? { proofJwk: await exportJWK(pair.proofKey.privateKey), jkt: pair.proofKey.jkt } : {};
    const record: KeyFile = { kind: pair.kind, kid: pair.kid, privateJwk: await exportJWK(pair.privateKey), ...proof };
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: DIRECTORY_MODE });
    const temporary = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.writeFile(temporary, `${JSON.stringify(record)}\n`, { mode: FILE_MODE, flag: 'wx' });
      await fs.rename(temporary, this.file);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }

  async clear(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}
