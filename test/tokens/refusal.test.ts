import { refusalKind } from '../../src/tokens/refusal.js';

/** Every reason `tokens/accept.ts` and the session service give maps to one of a few kinds. */
it.each([
  ['token too long', 'malformed'],
  ['not a compact JWE', 'malformed'],
  ['plaintext is not a compact JWS', 'malformed'],
  ['JWE not canonical base64url', 'malformed'],
  ['decrypt: JWE header member x-anything-a-client-chose', 'header'],
  ['decrypt: outer cty is not JWT', 'header'],
  ['verify: JWS header member crit', 'header'],
  ['decrypt: ephemeral key (epk) members', 'header'],
  ['decrypt: ephemeral key or party info without key agreement', 'header'],
  ['decrypt: party info (apv) not base64url', 'header'],
  ['decrypt: ERR_JWE_INVALID', 'header'],
  ['decrypt: ERR_JOSE_ALG_NOT_ALLOWED', 'header'],
  ['decrypt: unknown encryption kid', 'unknown_key'],
  ['verify: unknown signing kid', 'unknown_key'],
  ['decrypt: ERR_JWE_DECRYPTION_FAILED', 'decryption'],
  ['verify: ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature'],
  ['verify: ERR_JWT_EXPIRED', 'expired'],
  ['verify: ERR_JWT_CLAIM_VALIDATION_FAILED', 'claims'],
  ['claim types', 'claims'],
  ['session not live', 'session'],
  ['user missing or disabled', 'user'],
  ['user deleted', 'user'],
  ['something new', 'other'],
])('%s is counted as %s', (reason, kind) => {
  expect(refusalKind(reason)).toBe(kind);
});
