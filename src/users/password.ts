import argon2 from 'argon2';

/**
 * OWASP's argon2id parameters (Password Storage Cheat Sheet): 19 MiB of memory, 2 iterations,
 * 1 degree of parallelism. argon2 computes on libuv's thread pool, off the event loop.
 */
export const ARGON2_OPTIONS = Object.freeze({
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/** The longest password accepted, so hashing cost stays bounded. */
export const MAX_PASSWORD_LENGTH = 1024;
/** The shortest password accepted for new passwords. */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Hashes a password with argon2id.
 *
 * @example const hash = await hashPassword('correct horse battery staple');
 */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

/** Checks a password against an argon2 hash; a malformed hash counts as a mismatch. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
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
