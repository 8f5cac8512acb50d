import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { DpopProofRejectedError, TokenRejectedError } from '../errors.js';
import { jwkThumbprint } from '../keys/server-key.js';
import { checkCrit, fail, jsonObjectOf, normalizeTyp, signatureValidFor } from './jose-native.js';
import { canonical, DPOP_POLICY } from './policy.js';

/** The request a DPoP proof must describe, and the server's clock. */
export interface DpopRequest {
  /** The request's HTTP method, such as `GET`; the proof's `htm` must equal it. */
  readonly htm: string;
  /**
   * The URL or URLs the request may have been addressed to (query and fragment ignored). The
   * proof's `htu` must equal one of them after RFC 3986 normalisation.
   */
  readonly htu: string | readonly string[];
  /** On a protected request: base64url(SHA-256(the sealed token sent)); the proof's `ath` must equal it. */
  readonly ath?: string;
  /** The server's clock, epoch milliseconds; `iat` must lie within 60 s of it either way. */
  readonly now: number;
}

/** What a verified proof tells the caller. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key. */
  readonly jkt: string;
  /** The proof's `jti`, to be remembered until {@link replayExpiresAt}. */
  readonly jti: string;
  /** The proof's `iat`, in seconds. */
  readonly iat: number;
}

function refuse(reason: string): never {
  throw new DpopProofRejectedError(reason);
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/**
 * The characters of an RFC 3986 URI. The WHATWG parser behind `URL` strips surrounding spaces and
 * control characters, drops tabs and newlines anywhere and reads `\` as `/`, so without this check
 * a proof's `htu` would have many spellings that all name one URL.
 */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

/**
 * The `ath` of a token (RFC 9449 §4.2): base64url(SHA-256(ASCII of the exact string sent)).
 *
 * @example const ath = accessTokenHash(sealedToken);
 */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * An `htu` or a request URL in the form proofs are compared in (RFC 9449 §4.3, RFC 3986 §6.2.2 and
 * §6.2.3): scheme and host lower-cased, the default port dropped, dot segments removed, percent
 * escapes of unreserved characters decoded and the others upper-cased, query and fragment dropped.
 *
 * @returns The normalised URL, or `null` for anything that is not an absolute `http(s)` URL without
 * user information.
 * @example normalizeHtu('HTTPS://Example.COM:443/a/%7euser?x#y'); // 'https://example.com/a/~user'
 */
export function normalizeHtu(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') return null;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`;
  });
  return `${url.origin}${path}`;
}

/**
 * The public key a proof header carries, checked against the policy before any cryptography: every
 * header member allowed, an allowed `alg`, a `jwk` of that `alg`'s kind with public members only and
 * well-formed coordinates.
 *
 * @returns The JWK of the key's required members alone (what RFC 7638 hashes and what is imported:
 * no member beyond them can reach the import, so the key is public by construction).
 * @throws {DpopProofRejectedError} naming the first member refused.
 */
export function proofJwk(header: Record<string, unknown>): JWK {
  const policy = DPOP_POLICY;
  for (const name of Object.keys(header)) if (!policy.headerMembers.has(name)) refuse(`header member ${name}`);
  const spec = typeof header.alg === 'string' && Object.hasOwn(policy.keys, header.alg) ? policy.keys[header.alg] : undefined;
  if (!spec) return refuse('alg not allowed');
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return refuse('no jwk');
  if (jwk.kty !== spec.kty || jwk.crv !== spec.crv) refuse('jwk kind does not match alg');
  for (const name of Object.keys(jwk)) if (!policy.jwkMembers.has(name)) refuse(`jwk member ${name} (private or unknown)`);
  for (const name of spec.coordinates) {
    const coordinate = jwk[name];
    if (typeof coordinate !== 'string' || !B64URL.test(coordinate) || Buffer.from(coordinate, 'base64url').length !== policy.coordinateBytes) {
      refuse(`jwk ${name} malformed`);
    }
  }
  return Object.fromEntries(['kty', 'crv', ...spec.coordinates].map((name) => [name, jwk[name]])) as JWK;
}

/** A proof key once imported: the node:crypto key and its RFC 7638 thumbprint. */
interface ImportedProofKey {
  readonly key: KeyObject;
  readonly jkt: string;
}

/** How many proof keys stay imported at most (a client proves with one key for its session's life). */
const MAX_IMPORTED_PROOF_KEYS = 1_000;
/**
 * Proof keys already imported, by their required members (`proofJwk`): a client sends the same
 * `jwk` with every proof, and importing it again (P-256: the point checked to lie on the curve) costs
 * more than the signature check. Importing is a pure function of those members, so a key found here
 * is the key the import would make. Oldest first; the oldest goes past the limit.
 */
const importedProofKeys = new Map<string, ImportedProofKey>();

/** How many proof keys are imported and kept now (at most 1 000). */
export function proofKeysKept(): number {
  return importedProofKeys.size;
}

/** The imported key and thumbprint of a proof's `jwk` (checked by {@link proofJwk}), made once. */
function importedProofKey(jwk: JWK): ImportedProofKey {
  const id = `${jwk.kty}.${jwk.crv}.${jwk.x}.${jwk.y ?? ''}`;
  let found = importedProofKeys.get(id);
  if (found === undefined) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      return refuse('jwk does not import');
    }
    found = { key, jkt: jwkThumbprint(jwk) };
    if (importedProofKeys.size >= MAX_IMPORTED_PROOF_KEYS) importedProofKeys.delete(importedProofKeys.keys().next().value as string);
    importedProofKeys.set(id, found);
  }
  return found;
}

/** A proof whose JOSE layer holds: its claims, unchecked beyond jose's rules, and its key's thumbprint. */
export interface OpenedProof {
  readonly payload: Record<string, unknown>;
  readonly jkt: string;
}

/**
 * The JOSE layer of a proof (a compact JWS already checked for size, shape and canonical
 * base64url) with node:crypto, synchronously: the checks, order and refusal codes of jose's
 * `jwtVerify` with the key resolved by {@link proofJwk} and the options `algorithms` (the
 * policy's), `typ` `dpop+jwt`, the required claims and the current date `now`. That is: the header
 * a JSON object, jose's `crit` rules, an `alg` present and allowed, the policy's key rules, the
 * signature by that key, the claims a JSON object, `typ` (case-insensitive, `application/`
 * implied), `htm htu iat jti` present, `iat` and `nbf` numbers, `nbf` not ahead of `now`, `exp` a
 * number not behind it. `test/tokens/dpop-native.test.ts` holds it to jose on fuzzed proofs.
 *
 * @throws {DpopProofRejectedError} for the policy's reasons; {@link TokenRejectedError} with jose's
 * code for the rest.
 */
export function openProof(proof: string, now: number): OpenedProof {
  const policy = DPOP_POLICY;
  const [encodedHeader, encodedPayload, encodedSignature] = proof.split('.') as [string, string, string];
  const header = jsonObjectOf(encodedHeader, 'ERR_JWS_INVALID');
  checkCrit(header, ['b64'], 'ERR_JWS_INVALID');
  const { alg } = header;
  if (typeof alg !== 'string' || alg === '') fail('ERR_JWS_INVALID');
  if (!Object.hasOwn(policy.keys, alg)) fail('ERR_JOSE_ALG_NOT_ALLOWED');
  const { key, jkt } = importedProofKey(proofJwk(header));
  const input = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  if (!signatureValidFor(alg, key, input, Buffer.from(encodedSignature, 'base64url'))) fail('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  const payload = jsonObjectOf(encodedPayload, 'ERR_JWT_INVALID');
  const invalid = 'ERR_JWT_CLAIM_VALIDATION_FAILED';
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(policy.proofType)) fail(invalid);
  for (const name of policy.requiredClaims) if (!Object.hasOwn(payload, name)) fail(invalid);
  // jose reads the time through a Date: the same rounding.
  const seconds = Math.floor(new Date(now).getTime() / 1000);
  const { iat, nbf, exp } = payload;
  // `iat` is present (a required claim): jose checks that it is a number, not when it was.
  if (typeof iat !== 'number') fail(invalid);
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > seconds)) fail(invalid);
  if (exp !== undefined && typeof exp !== 'number') fail(invalid);
  if (exp !== undefined && (exp as number) <= seconds) fail('ERR_JWT_EXPIRED');
  return { payload, jkt };
}

/**
 * Verifies a DPoP proof (RFC 9449 §4.3) against the request it came with. Pure: no store, no
 * replay detection (the caller remembers {@link VerifiedDpopProof.jti} until
 * {@link replayExpiresAt}), time only from `request.now`.
 *
 * Checks, in order, with the limits in `DPOP_POLICY`: one compact JWS of at most 4 KiB, in
 * canonical base64url (one proof, one spelling); only the
 * header members `typ alg jwk`; `typ` `dpop+jwt`; `alg` `ES256` (with an EC P-256 key) or `EdDSA`
 * (with an OKP Ed25519 key); a `jwk` of public members only, with 32-byte coordinates; the
 * signature by that key (`openProof`); the claims `htm`, `htu`, `iat`, `jti` present; `htm`
 * equal to the method; `htu` of URI characters only (RFC 3986), equal to one of the request URLs
 * once both are normalised ({@link normalizeHtu}); `iat` within 60 s of `now`; a `jti` of 1 to 256
 * characters; and `ath` when the request has one.
 *
 * @returns The proof key's thumbprint, the `jti` and the `iat`.
 * @throws {DpopProofRejectedError} for every reason a proof is refused, the JOSE layer's codes
 * included (as `verify: <jose's code>`); the reason is for logs only.
 * @example
 * const { jkt, jti } = await verifyDpopProof(req.get('dpop'), {
 *   htm: 'GET', htu: 'https://auth.example/api/me', ath: accessTokenHash(token), now: Date.now(),
 * });
 */
export async function verifyDpopProof(proof: unknown, request: DpopRequest): Promise<VerifiedDpopProof> {
  const policy = DPOP_POLICY;
  if (typeof proof !== 'string' || proof === '') return refuse('no proof');
  if (proof.length > policy.maxProofLength) refuse('proof too long');
  if (!policy.compactJws.test(proof)) refuse('not a compact JWS');
  if (!canonical(proof)) refuse('not canonical base64url');
  let opened: OpenedProof;
  try {
    opened = openProof(proof, request.now);
  } catch (error) {
    if (error instanceof DpopProofRejectedError) throw error;
    return refuse(`verify: ${error instanceof TokenRejectedError ? error.reason : 'error'}`);
  }
  const { htm, htu, iat, jti, ath } = opened.payload;
  if (htm !== request.htm) refuse('htm does not match');
  const expected = (typeof request.htu === 'string' ? [request.htu] : request.htu).map(normalizeHtu);
  const presented = typeof htu === 'string' && URI_CHARACTERS.test(htu) ? normalizeHtu(htu) : null;
  if (presented === null || !expected.includes(presented)) refuse('htu does not match');
  // `iat` is a number (`openProof`); JSON's 1e999 reads as Infinity, which is outside any window.
  if (!(Math.abs(request.now / 1000 - (iat as number)) <= policy.iatWindowSeconds)) refuse('iat outside the window');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > policy.maxJtiLength) refuse('jti malformed');
  if (request.ath !== undefined && ath !== request.ath) refuse(ath === undefined ? 'ath missing' : 'ath does not match');
  return { jkt: opened.jkt, jti: jti as string, iat: iat as number };
}

/**
 * Until when (epoch ms) a verified proof's `jti` must be remembered: past the end of its `iat`
 * window plus a margin for instances whose clocks disagree, after which the `iat` check alone
 * refuses it.
 *
 * @example await store.rememberProofId(proofId(proof), replayExpiresAt(proof), now);
 */
export function replayExpiresAt(proof: VerifiedDpopProof): number {
  return (proof.iat + DPOP_POLICY.iatWindowSeconds + DPOP_POLICY.replayMarginSeconds) * 1000;
}

/**
 * The id a proof is remembered under: SHA-256 of its key's thumbprint and its `jti`, so one client
 * cannot spend another's `jti`, and store keys have one length whatever the `jti` holds.
 *
 * @example const id = proofId({ jkt, jti, iat });
 */
export function proofId(proof: VerifiedDpopProof): string {
  return createHash('sha256').update(`${proof.jkt}.${proof.jti}`).digest('base64url');
}
