import os from 'node:os';
import { Piscina } from 'piscina';
import { DEFAULT_HASH_PRIORITY, type HashPriority } from '../config/index.js';

/**
 * OWASP's argon2id parameters (Password Storage Cheat Sheet): 19 MiB of memory, 2 iterations,
 * 1 degree of parallelism.
 */
export const ARGON2_OPTIONS = Object.freeze({
  algorithm: 'argon2id',
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/** The longest password accepted, so hashing cost stays bounded. */
export const MAX_PASSWORD_LENGTH = 1024;
/** The shortest password accepted for new passwords. */
export const MIN_PASSWORD_LENGTH = 8;

/** How the hashing threads run. */
export interface PasswordHashingOptions {
  /** Threads at most (a login server bounds its hashes with `LOGIN_CONCURRENCY` anyway). */
  readonly threads?: number;
  /** The threads' priority: `idle` or a nice value from 0 (the process's own) to 19 (the lowest). */
  readonly priority?: HashPriority;
}

/** An idle hashing thread is kept this long for the next hash, then ends (starting one costs tens of ms). */
const IDLE_MS = 60_000;

let settings: Required<PasswordHashingOptions> = { threads: os.availableParallelism(), priority: DEFAULT_HASH_PRIORITY };
let pool: Piscina | undefined;

/**
 * Sets the hashing threads' number and priority; the next hash starts a pool with them. Call it
 * before the first hash (a running pool is closed first, its hashes in progress finish).
 */
export async function configurePasswordHashing(options: PasswordHashingOptions): Promise<void> {
  await closePasswordHashing();
  settings = { ...settings, ...options };
}

/** Ends the hashing threads once their hashes are done (a later hash starts them again). */
export async function closePasswordHashing(): Promise<void> {
  const running = pool;
  pool = undefined;
  await running?.close();
}

/**
 * The pool of threads that compute argon2id (`hash-worker.js`), made on first use. Idle threads do
 * not keep the process alive.
 */
function hashingPool(): Piscina {
  pool ??= new Piscina({
    filename: new URL('./hash-worker.js', import.meta.url).href,
    minThreads: 0,
    maxThreads: Math.max(1, settings.threads),
    idleTimeout: IDLE_MS,
    workerData: { priority: settings.priority },
  });
  return pool;
}

/**
 * Hashes a password with argon2id, on a hashing thread.
 *
 * @example const hash = await hashPassword('correct horse battery staple');
 */
export async function hashPassword(password: string): Promise<string> {
  const { memoryCost, timeCost, parallelism } = ARGON2_OPTIONS;
  return (await hashingPool().run({ op: 'hash', password, memoryCost, timeCost, parallelism })) as string;
}

/** Checks a password against an argon2 hash, on a hashing thread; a malformed hash counts as a mismatch. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return (await hashingPool().run({ op: 'verify', hash, password })) === true;
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, made once, to verify against when the user is unknown, so an
 * unknown user costs the same time as a wrong password.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}
