import { randomUUID } from 'node:crypto';
import { CompactEncrypt, SignJWT } from 'jose';
import { CONTENT_ENCRYPTION } from '../../src/keys/algorithms.js';
import type { IssuedToken, IssueInput } from '../../src/tokens/issue.js';
import { ACCEPT_POLICY } from '../../src/tokens/policy.js';

/**
 * The access token built with jose (`SignJWT`, `CompactEncrypt`): the construction the server's
 * node:crypto `issueAccessToken` replaced, kept here as the reference `test/tokens/issue.test.ts`
 * holds it to (the same headers, claims and member order).
 */
export async function issueWithJose(input: IssueInput): Promise<IssuedToken> {
  const iat = Math.floor((input.now ?? Date.now()) / 1000);
  const expiresIn = Math.max(1, Math.floor(input.ttlMs / 1000));
  const jti = randomUUID();
  const claims = input.dpopJkt ? { sid: input.sessionId, cnf: { jkt: input.dpopJkt } } : { sid: input.sessionId };
  const jws = await new SignJWT(claims)
    .setProtectedHeader({ alg: input.signingKey.alg, kid: input.signingKey.kid, typ: ACCEPT_POLICY.tokenType })
    .setIssuer(input.issuer)
    .setSubject(input.subject)
    .setAudience(input.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + expiresIn)
    .setJti(jti)
    .sign(input.signingKey.privateKey);
  const token = await new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: input.clientKey.alg, enc: CONTENT_ENCRYPTION, cty: ACCEPT_POLICY.contentType, kid: input.clientKey.kid })
    .encrypt(input.clientKey.key);
  return { token, jti, expiresIn };
}
