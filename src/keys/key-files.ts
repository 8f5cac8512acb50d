import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { ENCRYPTION_SPECS, SIGNING_SPECS, type KeySpec } from './algorithms.js';
import { generatePrivateKey } from './node-keys.js';
import { KeyLoadError, readPem, toEncryptedPem, writePem } from './pem.js';

/** The two roles a server key plays. */
export type KeyRole = 'signing' | 'encryption';
/** Both roles, in the order key files are read, written and published. */
export const KEY_ROLES: readonly KeyRole[] = ['signing', 'encryption'];

/** How long clients may cache the JWKS (`Cache-Control: max-age`), in seconds. */
export const JWKS_MAX_AGE_SECONDS = 300;
/** The clock tolerance of the accept pipeline, as a margin on every window. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * Until when (epoch ms) a key retired at `retiredAtMs` is still published and accepted. A running
 * server may go on signing with it until its next reload (`KEY_RELOAD_INTERVAL`), clients may go on
 * sealing to it while their cached JWKS lives (`JWKS_MAX_AGE_SECONDS`), and each such token lives
 * `ACCESS_TOKEN_TTL`; a clock margin comes on top.
 */
export function retiredUntil(retiredAtMs: number, config: Pick<Config, 'accessTokenTtl' | 'keyReloadInterval'>): number {
  return retiredAtMs + Math.max(config.keyReloadInterval, JWKS_MAX_AGE_SECONDS * 1000) + config.accessTokenTtl + CLOCK_MARGIN_MS;
}

/**
 * Until when (epoch ms) the previous key in `file` is still published and accepted, dated by the
 * file's modification time (which a rotation sets to its own time); `null` when there is no such file.
 */
export async function previousKeyAcceptedUntil(
  file: string,
  config: Pick<Config, 'accessTokenTtl' | 'keyReloadInterval'>,
): Promise<number | null> {
  const stat = await fs.stat(file).catch(() => null);
  return stat ? retiredUntil(stat.mtimeMs, config) : null;
}

/** Where the current and the previous key of a role live inside `KEYS_DIR`. */
export function keyFile(keysDir: string, role: KeyRole, generation: 'current' | 'previous'): string {
  return path.join(keysDir, generation === 'current' ? `${role}.pem` : `${role}.previous.pem`);
}

/** The key kind a role needs under this configuration. */
export function specFor(config: Pick<Config, 'signingAlg' | 'encryptionKeyType'>, role: KeyRole): KeySpec {
  return role === 'signing' ? SIGNING_SPECS[config.signingAlg] : ENCRYPTION_SPECS[config.encryptionKeyType];
}

function requirePassphrase(config: Pick<Config, 'privateKeyPassphrase'>): string {
  if (!config.privateKeyPassphrase) throw new KeyLoadError('PRIVATE_KEY_PASSPHRASE is not set');
  return config.privateKeyPassphrase;
}

/**
 * Writes a new signing and encryption key as passphrase-protected PEMs (mode 0600).
 *
 * @param force - Overwrite existing files; without it an existing file stops the command.
 * @returns The paths written.
 */
export async function generateKeyFiles(
  config: Pick<Config, 'keysDir' | 'privateKeyPassphrase' | 'signingAlg' | 'encryptionKeyType'>,
  force: boolean,
): Promise<string[]> {
  const passphrase = requirePassphrase(config);
  if (!force) {
    for (const role of KEY_ROLES) {
      const file = keyFile(config.keysDir, role, 'current');
      if (await exists(file)) throw new KeyLoadError(`${file} already exists; use --force to overwrite it`);
    }
  }
  const written: string[] = [];
  for (const role of KEY_ROLES) {
    const file = keyFile(config.keysDir, role, 'current');
    await writePem(file, toEncryptedPem(generatePrivateKey(specFor(config, role)), passphrase), force);
    written.push(file);
  }
  return written;
}

/**
 * Makes new keys current. The current keys become the previous ones (stamped with the time of the
 * rotation) and stay published and accepted until every token they made has expired.
 *
 * Only one previous generation is kept, so a rotation is refused while the previous keys are still
 * accepted: replacing them then would cut off tokens that have not expired yet.
 *
 * @param now - Epoch ms; defaults to now.
 * @returns The paths of the new current keys.
 * @throws {KeyLoadError} when the current keys cannot be read with the passphrase, or the previous
 * keys are still within their acceptance window.
 */
export async function rotateKeyFiles(
  config: Pick<Config, 'keysDir' | 'privateKeyPassphrase' | 'signingAlg' | 'encryptionKeyType' | 'accessTokenTtl' | 'keyReloadInterval'>,
  now: number = Date.now(),
): Promise<string[]> {
  const passphrase = requirePassphrase(config);
  for (const role of KEY_ROLES) await readPem(keyFile(config.keysDir, role, 'current'), passphrase, specFor(config, role));
  for (const role of KEY_ROLES) {
    const previous = keyFile(config.keysDir, role, 'previous');
    const until = (await previousKeyAcceptedUntil(previous, config)) ?? 0;
    if (until > now) {
      throw new KeyLoadError(
        `${previous} is still accepted until ${new Date(until).toISOString()}; rotating again before then would cut off the tokens it made`,
      );
    }
  }
  const stamp = new Date(now);
  const written: string[] = [];
  for (const role of KEY_ROLES) {
    const current = keyFile(config.keysDir, role, 'current');
    const previous = keyFile(config.keysDir, role, 'previous');
    const fresh = `${current}.new`;
    const retiring = `${previous}.new`;
    // Renames replace atomically, so a server reloading meanwhile always finds a current key.
    await writePem(fresh, toEncryptedPem(generatePrivateKey(specFor(config, role)), passphrase), true);
    await fs.copyFile(current, retiring);
    await fs.chmod(retiring, 0o600);
    await fs.utimes(retiring, stamp, stamp);
    await fs.rename(retiring, previous);
    await fs.rename(fresh, current);
    written.push(current);
  }
  return written;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch {
    return false;
  }
}
