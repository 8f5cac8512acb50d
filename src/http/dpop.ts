import type { Request } from 'express';
import type { ProofPresentation } from '../sessions/proofs.js';
import { DPOP_ALGORITHMS } from '../tokens/policy.js';

/** The `algs` parameter of every `DPoP` challenge: the proof algorithms accepted (RFC 9449 §7.1). */
export const DPOP_ALGS_PARAMETER = `algs="${DPOP_ALGORITHMS.join(' ')}"`;

/**
 * The `DPoP` challenge of a protected route's 401 for a request made with the `DPoP` scheme
 * (RFC 9449 §7.1): `error` is `invalid_dpop_proof` for a bad or missing proof, `invalid_token` for
 * a bad token, and `algs` lists the proof algorithms accepted.
 *
 * @example res.set('WWW-Authenticate', dpopChallenge('invalid_token'));
 */
export function dpopChallenge(error: 'invalid_dpop_proof' | 'invalid_token'): string {
  return `DPoP error="${error}", ${DPOP_ALGS_PARAMETER}`;
}

/**
 * The URLs a request may have been addressed to, without query or fragment, which a proof's `htu`
 * must name (RFC 9449 §4.3):
 * - the URL the request arrived at: scheme and host as Express reads them (`X-Forwarded-Proto` and
 *   `X-Forwarded-Host` count only behind `TRUST_PROXY` hops), and the path as received;
 * - `ISSUER` followed by that path: the public URL when a proxy terminates TLS or rewrites the host
 *   without saying so.
 *
 * @example requestUrls(req, config.issuer); // ['http://127.0.0.1:3000/api/me', 'https://auth.example/api/me']
 */
export function requestUrls(req: Request, issuer: string): string[] {
  const publicUrl = (path: string) => `${issuer.replace(/\/+$/, '')}${path}`;
  let own: URL;
  try {
    own = new URL(req.originalUrl, `${req.protocol}://${req.host}`);
  } catch {
    // No Host header, or one that is not a host: only the issuer's URL can match.
    return [publicUrl(new URL(req.originalUrl, 'http://path.invalid').pathname)];
  }
  return [`${own.origin}${own.pathname}`, publicUrl(own.pathname)];
}

/**
 * The request's DPoP proof with what it must describe. Several `DPoP` headers arrive joined with
 * `, ` and so are refused as not one compact JWS.
 *
 * @example await sessions.login(username, password, clientKey, userAgent, proofPresentation(req, config.issuer));
 */
export function proofPresentation(req: Request, issuer: string): ProofPresentation {
  return { proof: req.get('dpop'), htm: req.method, htu: requestUrls(req, issuer) };
}
