import { createPrivateKey, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { JWK } from 'jose';
import type { Config } from '../config/index.js';
import { generatePrivateKey } from './node-keys.js';
import { readPem } from './pem.js';
import { KEY_ROLES, keyFile, previousKeyAcceptedUntil, specFor, type KeyRole } from './key-files.js';
import { toServerKey, type ServerKey } from './server-key.js';

/** A key that is no longer current but still accepted until `acceptUntil` (epoch ms). */
interface RetiredKey {
  readonly key: ServerKey;
  readonly acceptUntil: number;
}

interface KeyGeneration {
  readonly current: Record<KeyRole, ServerKey>;
  readonly retired: readonly RetiredKey[];
  /** File modification times the generation was loaded from, to notice a rotation. */
  readonly stamp: string;
}

/**
 * Fresh (not preserved) private keys as JWKs, with the epoch they open: what a cluster's primary
 * makes once and hands to every worker over IPC, so that all workers sign, decrypt and honour
 * sessions alike. Secret: never logged, never written to disk.
 */
export interface FreshKeys {
  readonly epoch: string;
  readonly jwks: Readonly<Record<KeyRole, JWK>>;
}

/** Sessions of a server that preserves them across restarts all share this epoch. */
const PRESERVED_EPOCH = 'preserved';

/**
 * Makes fresh private keys of the configured kinds, as {@link FreshKeys}.
 *
 * @example const fresh = generateFreshKeys(config); worker.send({ keys: fresh });
 */
export function generateFreshKeys(config: Pick<Config, 'signingAlg' | 'encryptionKeyType'>): FreshKeys {
  const jwks = Object.fromEntries(KEY_ROLES.map((role) => [role, generatePrivateKey(specFor(config, role)).export({ format: 'jwk' }) as JWK]));
  return { epoch: randomUUID(), jwks: jwks as Record<KeyRole, JWK> };
}

type KeyConfig = Pick<
  Config,
  'preserveSessions' | 'keysDir' | 'privateKeyPassphrase' | 'signingAlg' | 'encryptionKeyType' | 'accessTokenTtl' | 'keyReloadInterval'
>;

/**
 * Holds the server's signing and encryption keys. Without `PRESERVE_SESSIONS_ON_REBOOT` it makes
 * fresh keys in memory; with it, it loads the passphrase-protected PEMs from `KEYS_DIR` and, on
 * {@link KeyManager.reload}, notices a rotation made by `jwe-auth keys rotate`.
 *
 * @example
 * const keys = await KeyManager.create(config);
 * app.get('/.well-known/jwks.json', (req, res) => res.json(keys.jwks()));
 */
export class KeyManager {
  #generation: KeyGeneration;
  #version = 1;
  #jwks: { keys: JWK[] };

  private constructor(
    private readonly config: KeyConfig,
    generation: KeyGeneration,
    /**
     * The sessions this server honours: `'preserved'` when keys are preserved, else one
     * id per set of fresh keys, so no session of an earlier boot survives a restart.
     */
    readonly epoch: string,
  ) {
    this.#generation = generation;
    this.#jwks = buildJwks(generation, Date.now());
  }

  /**
   * Generates or loads the keys as the configuration says.
   *
   * @param fresh - Without preservation, use these keys (made by {@link generateFreshKeys}, usually
   * in a cluster's primary) instead of making new ones.
   * @throws {import('./pem.js').KeyLoadError} with one line when a key file is missing, unreadable,
   * of the wrong type, or the passphrase is wrong.
   */
  static async create(config: KeyConfig, fresh?: FreshKeys): Promise<KeyManager> {
    if (config.preserveSessions) return new KeyManager(config, await loadGeneration(config), PRESERVED_EPOCH);
    const keys = fresh ?? generateFreshKeys(config);
    return new KeyManager(config, await freshGeneration(config, keys), keys.epoch);
  }

  /** Changes whenever the keys change (a reload after a rotation); caches of verified tokens key on it. */
  get version(): string {
    return String(this.#version);
  }

  /** The key access tokens are signed with. */
  get signing(): ServerKey {
    return this.#generation.current.signing;
  }

  /** The key clients encrypt bearer tokens to. */
  get encryption(): ServerKey {
    return this.#generation.current.encryption;
  }

  /**
   * Finds an accepted key of a role by `kid`: the current one or a retired one still in its window.
   * Without a `kid`, the current key.
   */
  find(role: KeyRole, kid: string | undefined, now = Date.now()): ServerKey | undefined {
    const current = this.#generation.current[role];
    if (kid === undefined || kid === current.kid) return current;
    const retired = this.#generation.retired.find((r) => r.key.kid === kid && r.key.use === current.use);
    return retired && retired.acceptUntil > now ? retired.key : undefined;
  }

  /**
   * The public JWK Set: the current signing and encryption keys first, then retired keys still
   * accepted. Never private members. Clients seal to the first `use: enc` key.
   */
  jwks(now = Date.now()): { keys: JWK[] } {
    if (this.#generation.retired.some((r) => r.acceptUntil <= now)) this.#jwks = buildJwks(this.#generation, now);
    return this.#jwks;
  }

  /**
   * Reloads the PEMs when they changed on disk (a rotation). A failed reload keeps the keys in use.
   *
   * @returns `true` when new keys were loaded.
   */
  async reload(): Promise<boolean> {
    if (!this.config.preserveSessions) return false;
    if ((await stampOf(this.config.keysDir)) === this.#generation.stamp) return false;
    this.#generation = await loadGeneration(this.config);
    this.#version++;
    this.#jwks = buildJwks(this.#generation, Date.now());
    return true;
  }
}

function buildJwks(generation: KeyGeneration, now: number): { keys: JWK[] } {
  const live = generation.retired.filter((r) => r.acceptUntil > now).map((r) => r.key.publicJwk);
  return Object.freeze({
    keys: [generation.current.signing.publicJwk, generation.current.encryption.publicJwk, ...live].map((k) => ({ ...k })),
  });
}

async function freshGeneration(config: KeyConfig, fresh: FreshKeys): Promise<KeyGeneration> {
  const [signing, encryption] = await Promise.all(
    KEY_ROLES.map((role) => toServerKey(createPrivateKey({ key: fresh.jwks[role], format: 'jwk' }), specFor(config, role))),
  );
  return { current: { signing: signing!, encryption: encryption! }, retired: [], stamp: 'memory' };
}

async function loadGeneration(config: KeyConfig): Promise<KeyGeneration> {
  const passphrase = config.privateKeyPassphrase ?? '';
  const stamp = await stampOf(config.keysDir);
  const current = {} as Record<KeyRole, ServerKey>;
  const retired: RetiredKey[] = [];
  for (const role of KEY_ROLES) {
    const spec = specFor(config, role);
    current[role] = await toServerKey(await readPem(keyFile(config.keysDir, role, 'current'), passphrase, spec), spec);
    const previousFile = keyFile(config.keysDir, role, 'previous');
    const acceptUntil = await previousKeyAcceptedUntil(previousFile, config);
    if (acceptUntil !== null) {
      retired.push({ key: await toServerKey(await readPem(previousFile, passphrase, spec), spec), acceptUntil });
    }
  }
  return { current, retired, stamp };
}

async function stampOf(keysDir: string): Promise<string> {
  const parts = await Promise.all(
    KEY_ROLES.flatMap((role) => [keyFile(keysDir, role, 'current'), keyFile(keysDir, role, 'previous')]).map(
      async (file) => `${file}:${(await fs.stat(file).catch(() => null))?.mtimeMs ?? '-'}`,
    ),
  );
  return parts.join('|');
}
