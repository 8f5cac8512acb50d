import { randomUUID } from 'node:crypto';
import { CompactEncrypt, SignJWT } from 'jose';
import { CONTENT_ENCRYPTION } from '../keys/algorithms.js';
import type { ServerKey } from '../keys/server-key.js';
import type { ClientKey } from './client-key.js';
import { ACCEPT_POLICY } from './policy.js';

/** What an access token says and how long it lives. */
export interface IssueInput {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly sessionId: string;
  readonly ttlMs: number;
  readonly signingKey: ServerKey;
  readonly clientKey: ClientKey;
  /** The DPoP proof key's thumbprint for a bound session: the token carries `cnf: {jkt}` (RFC 9449 §6.1). */
  readonly dpopJkt?: string | null;
  /** Epoch ms; defaults to now. */
  readonly now?: number;
}

/** An issued access token with what the response reports about it. */
export interface IssuedToken {
  /** The JWE compact string encrypted to the client key. */
  readonly token: string;
  readonly jti: string;
  /** Seconds until `exp`. */
  readonly expiresIn: number;
}

const encoder = new TextEncoder();

/**
 * Issues a nested access token: a JWS (`typ: at+jwt`) signed with the server's key, encrypted as a
 * JWE (`cty: JWT`, `enc: A256GCM`, `kid` = the client key's thumbprint) to the client's public key.
 * A DPoP-bound token also carries `cnf: {jkt}`.
 *
 * @example const { token } = await issueAccessToken({ issuer, audience, subject, sessionId, ttlMs, signingKey, clientKey });
 */
export async function issueAccessToken(input: IssueInput): Promise<IssuedToken> {
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
  const token = await new CompactEncrypt(encoder.encode(jws))
    .setProtectedHeader({ alg: input.clientKey.alg, enc: CONTENT_ENCRYPTION, cty: ACCEPT_POLICY.contentType, kid: input.clientKey.kid })
    .encrypt(input.clientKey.key);
  return { token, jti, expiresIn };
}
