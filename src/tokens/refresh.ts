import { createHash, randomBytes } from 'node:crypto';

/** Refresh tokens are 256 random bits, base64url (43 characters). */
const REFRESH_TOKEN_BYTES = 32;
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Makes a new opaque refresh token and the hash the store keeps of it. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
  return { token, hash: hashRefreshToken(token) as string };
}

/**
 * The SHA-256 (hex) under which the store knows a refresh token; `null` when the text cannot be
 * a refresh token at all.
 */
export function hashRefreshToken(token: string): string | null {
  return REFRESH_TOKEN.test(token) ? createHash('sha256').update(token).digest('hex') : null;
}
