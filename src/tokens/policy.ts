import { CONTENT_ENCRYPTION } from '../keys/algorithms.js';

/**
 * Everything the accept pipeline checks, as data beside the code that uses it. Key management and
 * signing algorithms come from the server's own keys (one each), so the allowlists are single entries.
 */
export const ACCEPT_POLICY = Object.freeze({
  /** Tokens longer than this are refused before any decoding. */
  maxTokenLength: 8 * 1024,
  /** A compact JWE: five base64url segments (the encrypted key may be empty for ECDH-ES). */
  compactJwe: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
  /** A compact JWS with a non-empty payload and signature: three base64url segments. */
  compactJws: /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
  contentEncryptionAlgorithms: [CONTENT_ENCRYPTION] as string[],
  /** jose inflates `zip: DEF` plaintexts unless told not to; `0` refuses every compressed JWE. */
  maxDecompressedLength: 0,
  /**
   * The only members a bearer's JWE header may carry. Anything else (`jku`, `jwk`, `x5u`, `x5c`,
   * `crit`, `p2s`, `zip`, ...) is refused before any cryptography, so no header can point the server
   * at a key or change how it decrypts.
   */
  jweHeaderMembers: new Set(['alg', 'enc', 'cty', 'kid', 'typ', 'epk', 'apu', 'apv']) as ReadonlySet<string>,
  /**
   * The ephemeral public key (`epk`) of each key agreement algorithm: exactly these members, of the
   * server key's own type and curve, each coordinate 32 bytes in canonical base64url. Key management
   * without agreement (RSA-OAEP-256) takes no `epk`, `apu` or `apv` at all.
   */
  ephemeralKeys: Object.freeze({
    'ECDH-ES': { kty: 'OKP', crv: 'X25519', coordinates: ['x'] },
    'ECDH-ES+A256KW': { kty: 'EC', crv: 'P-256', coordinates: ['x', 'y'] },
  }) as Readonly<Record<string, { kty: string; crv: string; coordinates: readonly string[] }>>,
  /** The only members the inner JWS header may carry: what the server itself writes. No `crit`, no `b64`. */
  jwsHeaderMembers: new Set(['alg', 'kid', 'typ']) as ReadonlySet<string>,
  /** The outer `cty`: the plaintext must be a JWT. */
  contentType: 'JWT',
  /** The inner `typ` (RFC 9068). */
  tokenType: 'at+jwt',
  requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'sid'] as string[],
  /** The `jkt` of a bound token's `cnf`: an RFC 7638 SHA-256 thumbprint, base64url. */
  thumbprint: /^[A-Za-z0-9_-]{43}$/,
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds (at most 60). */
  clockToleranceSeconds: 30,
});

/** The signed claims of an access token. */
export interface AccessClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly sid: string;
  /** Present on a DPoP-bound token: the RFC 7638 thumbprint of the proof key (RFC 9449 §6). */
  readonly cnf?: { readonly jkt: string };
}

/**
 * Everything a DPoP proof (RFC 9449 §4.3) is checked against, as data beside `tokens/dpop.ts`.
 * Each signing algorithm names the only key kind it may be used with.
 */
export const DPOP_POLICY = Object.freeze({
  /** Proofs longer than this are refused before any decoding. */
  maxProofLength: 4 * 1024,
  /** A compact JWS with a non-empty payload and signature (the same shape as the inner token). */
  compactJws: ACCEPT_POLICY.compactJws,
  /** The proof's `typ` header. */
  proofType: 'dpop+jwt',
  /** The allowed `alg`s, each with the one key type and curve it needs (`algs` of the challenge). */
  keys: Object.freeze({
    ES256: { kty: 'EC', crv: 'P-256', coordinates: ['x', 'y'] },
    EdDSA: { kty: 'OKP', crv: 'Ed25519', coordinates: ['x'] },
  }) as Readonly<Record<string, { kty: string; crv: string; coordinates: readonly string[] }>>,
  /** Bytes of each coordinate (`x`, `y`) of an allowed key. */
  coordinateBytes: 32,
  /** The only members a proof's header may carry: no `kid`, `jku`, `x5c`, `crit`, `b64`... */
  headerMembers: new Set(['typ', 'alg', 'jwk']) as ReadonlySet<string>,
  /**
   * The only members the header's `jwk` may carry; anything else, a private `d` above all, is refused.
   * The thumbprint and the imported key use the required members alone.
   */
  jwkMembers: new Set(['kty', 'crv', 'x', 'y', 'alg', 'use', 'kid', 'key_ops', 'ext']) as ReadonlySet<string>,
  requiredClaims: ['htm', 'htu', 'iat', 'jti'] as string[],
  /** How far `iat` may be from the server's clock, in seconds, in either direction. */
  iatWindowSeconds: 60,
  /** The longest `jti` kept for replay detection. */
  maxJtiLength: 256,
  /**
   * How long past its `iat` window a `jti` is remembered, in seconds, so that an instance whose clock
   * runs behind still finds it.
   */
  replayMarginSeconds: 60,
});

/** The `algs` parameter of a `DPoP` challenge: the proof algorithms accepted. */
export const DPOP_ALGORITHMS: readonly string[] = Object.freeze(Object.keys(DPOP_POLICY.keys));

/**
 * Whether every segment of a compact serialisation is base64url as RFC 7515 §2 writes it: no
 * padding and no bits set past the last byte. Decoders are lenient there, so without this check
 * one token (or DPoP proof) has many spellings that all open to the same bytes.
 *
 * @example canonical('eyJhbGciOiJFUzI1NiJ9.e30.c2ln'); // true
 */
export function canonical(compact: string): boolean {
  return compact.split('.').every(isCanonicalBase64url);
}

/**
 * Whether one value is canonical unpadded base64url (RFC 7515 §2), the empty string included: it
 * decodes and encodes back to itself (no character outside the alphabet, no padding, no unused bit).
 */
export function isCanonicalBase64url(value: unknown): value is string {
  return typeof value === 'string' && Buffer.from(value, 'base64url').toString('base64url') === value;
}
