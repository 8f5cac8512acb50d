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
  /** The outer `cty`: the plaintext must be a JWT. */
  contentType: 'JWT',
  /** The inner `typ` (RFC 9068). */
  tokenType: 'at+jwt',
  requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'sid'] as string[],
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
}
