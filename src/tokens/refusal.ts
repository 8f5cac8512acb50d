/**
 * The kinds a refused access token is counted under (`jwe_auth_tokens_refused_total{reason}`): a
 * short, fixed list, since the refusal reasons themselves carry details (a header member's name, a
 * library's code) that a client chooses. First match wins; anything else is `other`.
 */
export const REFUSAL_KINDS: ReadonlyArray<readonly [pattern: RegExp, kind: string]> = [
  [/unknown (encryption|signing) kid/, 'unknown_key'],
  [/too long|not a compact JW[ES]|not canonical/, 'malformed'],
  [/JW[ES] header member|outer cty|ephemeral key|party info|ERR_JOSE_ALG_NOT_ALLOWED|ERR_JOSE_NOT_SUPPORTED|ERR_JWE_INVALID|ERR_JWS_INVALID/, 'header'],
  [/ERR_JWE_DECRYPTION_FAILED/, 'decryption'],
  [/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/, 'signature'],
  [/ERR_JWT_EXPIRED/, 'expired'],
  [/ERR_JWT_CLAIM_VALIDATION_FAILED|ERR_JWT_INVALID|claim types/, 'claims'],
  [/session/, 'session'],
  [/user/, 'user'],
];

/**
 * The kind of a token refusal reason, from {@link REFUSAL_KINDS}, for metrics labels.
 *
 * @example refusalKind('decrypt: JWE header member x-evil'); // 'header'
 */
export function refusalKind(reason: string): string {
  return REFUSAL_KINDS.find(([pattern]) => pattern.test(reason))?.[1] ?? 'other';
}
