import { TokenRejectedError } from '../errors.js';
import type { KeyManager } from '../keys/manager.js';
import type { ServerKey } from '../keys/server-key.js';
import { ACCEPT_POLICY, isCanonicalBase64url } from './policy.js';

/**
 * The header rules of the accept pipeline that are the server's own policy rather than JOSE's, shared
 * by both ways of opening a bearer (node:crypto in `accept-native.ts`, jose in `accept.ts`) so that
 * the two refuse the same headers for the same reasons, before any cryptography.
 */

function refuse(reason: string): never {
  throw new TokenRejectedError(reason);
}

/** A JSON object as `JSON.parse` makes it: not `null`, not an array. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A 32-byte coordinate: 43 characters of canonical base64url. */
function isCoordinate(value: unknown): boolean {
  return isCanonicalBase64url(value) && value.length === 43;
}

/**
 * The server key a bearer's JWE header is sealed to, after the header rules: only allowed members,
 * `cty: JWT`, a `kid` the server holds (none means the current key), and the key agreement members
 * of exactly the shape that key's algorithm needs.
 *
 * @throws {TokenRejectedError} naming the rule that refused the header.
 */
export function jweKeyFor(header: Record<string, unknown>, keys: Pick<KeyManager, 'find'>): ServerKey {
  for (const name of Object.keys(header)) if (!ACCEPT_POLICY.jweHeaderMembers.has(name)) refuse(`JWE header member ${name}`);
  if (header.cty !== ACCEPT_POLICY.contentType) refuse('outer cty is not JWT');
  const key = keys.find('encryption', header.kid as string | undefined) ?? refuse('unknown encryption kid');
  checkAgreementMembers(header, key.alg);
  return key;
}

/**
 * `epk`, `apu` and `apv` as the key management algorithm needs them: for ECDH-ES (with or without key
 * wrapping) an `epk` of exactly the policy's members, type and curve, with coordinates of the curve's
 * size, and party info in canonical base64url; for anything else, none of the three.
 */
function checkAgreementMembers(header: Record<string, unknown>, alg: string): void {
  const ephemeral = ACCEPT_POLICY.ephemeralKeys[alg];
  if (!ephemeral) {
    if (header.epk !== undefined || header.apu !== undefined || header.apv !== undefined) refuse('ephemeral key or party info without key agreement');
    return;
  }
  const epk = header.epk;
  if (!isJsonObject(epk)) refuse('ephemeral key (epk) missing or not an object');
  const names = Object.keys(epk);
  const allowed = ['kty', 'crv', ...ephemeral.coordinates];
  if (names.length !== allowed.length || !names.every((name) => allowed.includes(name))) refuse('ephemeral key (epk) members');
  if (epk.kty !== ephemeral.kty || epk.crv !== ephemeral.crv) refuse(`ephemeral key (epk) is not ${ephemeral.crv}`);
  if (!ephemeral.coordinates.every((name) => isCoordinate(epk[name]))) refuse('ephemeral key (epk) coordinates');
  if (header.apu !== undefined && !isCanonicalBase64url(header.apu)) refuse('party info (apu) not base64url');
  if (header.apv !== undefined && !isCanonicalBase64url(header.apv)) refuse('party info (apv) not base64url');
}

/**
 * The server key an inner JWS header names: only the members the server writes (`alg`, `kid`, `typ`;
 * so no `crit` and no `b64`) and a `kid` the server holds, which must be present.
 *
 * @throws {TokenRejectedError} naming the rule that refused the header.
 */
export function jwsKeyFor(header: Record<string, unknown>, keys: Pick<KeyManager, 'find'>): ServerKey {
  for (const name of Object.keys(header)) if (!ACCEPT_POLICY.jwsHeaderMembers.has(name)) refuse(`JWS header member ${name}`);
  const key = keys.find('signing', header.kid as string | undefined);
  return key && header.kid !== undefined ? key : refuse('unknown signing kid');
}
