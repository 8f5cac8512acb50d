import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  compactDecrypt,
  CompactEncrypt,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from 'jose';

/** A server signing key as the fake publishes it. */
interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

/** What a test can change about the tokens the fake issues. */
export interface IssueOverrides {
  typ?: string;
  issuer?: string;
  /** Sign with a key the JWKS does not publish. */
  unpublishedKey?: boolean;
  /** Encrypt to this public JWK instead of the session's client key. */
  encryptTo?: JWK;
}

const CLIENT_ALGS: Record<string, string> = { OKP: 'ECDH-ES', EC: 'ECDH-ES+A256KW', RSA: 'RSA-OAEP-256' };

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

const error = (status: number, code: string, headers: Record<string, string> = {}) =>
  json(status, { error: code, error_description: code }, headers);

/**
 * An in-memory stand-in for the auth server behind a fake `fetch`, with real jose cryptography, so
 * unit tests can steer what the client sees (refused tokens, slow refreshes, rotated keys) and
 * count every request. Integration tests use the real server instead.
 */
export async function createFakeServer(options: { ttlSeconds?: number; refreshDelayMs?: number } = {}) {
  const baseUrl = 'http://auth.test';
  const issuer = baseUrl;
  const audience = 'jwe-auth-server';
  const encryption = await generateKeyPair('ECDH-ES', { crv: 'X25519', extractable: true });
  const encryptionJwk: JWK = { ...(await exportJWK(encryption.publicKey)), kid: 'enc-1', alg: 'ECDH-ES', use: 'enc' };
  let signing = await signingKey('sig-1');
  const published: JWK[] = [signing.jwk];
  const sessions = new Map<string, { clientJwk: JWK; refreshToken: string; revoked: boolean }>();
  const issuedJtis: string[] = [];
  const refusedJtis = new Set<string>();
  const counts = new Map<string, number>();
  const bearers: string[] = [];
  const state = {
    overrides: {} as IssueOverrides,
    refreshDelayMs: options.refreshDelayMs ?? 0,
    /** Answer every request with this response (for error mapping tests). */
    forced: null as null | (() => Response),
  };

  async function issue(sid: string): Promise<string> {
    const session = sessions.get(sid)!;
    const overrides = state.overrides;
    const key = overrides.unpublishedKey ? await signingKey('sig-unpublished') : signing;
    const now = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    issuedJtis.push(jti);
    const jws = await new SignJWT({ sid })
      .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid as string, typ: overrides.typ ?? 'at+jwt' })
      .setIssuer(overrides.issuer ?? issuer)
      .setAudience(audience)
      .setSubject('user-1')
      .setIssuedAt(now)
      .setExpirationTime(now + (options.ttlSeconds ?? 900))
      .setJti(jti)
      .sign(key.privateKey);
    const to = overrides.encryptTo ?? session.clientJwk;
    const alg = CLIENT_ALGS[to.kty as string] as string;
    return new CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ alg, enc: 'A256GCM', cty: 'JWT', kid: await calculateJwkThumbprint(to) })
      .encrypt(await importJWK(to, alg));
  }

  async function grant(sid: string) {
    const session = sessions.get(sid)!;
    session.refreshToken = randomUUID();
    return json(200, {
      access_token: await issue(sid),
      token_type: 'Bearer',
      expires_in: options.ttlSeconds ?? 900,
      session_id: sid,
      refresh_expires_in: 3600,
      refresh_token: session.refreshToken,
    });
  }

  /** The claims of a bearer, or null when the fake refuses it as the real server would. */
  async function authenticate(header: string | null) {
    const bearer = header?.replace(/^Bearer /, '');
    if (!bearer) return null;
    bearers.push(bearer);
    const { plaintext } = await compactDecrypt(bearer, encryption.privateKey);
    const claims = decodeJwt(new TextDecoder().decode(plaintext));
    const session = sessions.get(claims.sid as string);
    return !session || session.revoked || refusedJtis.has(claims.jti as string) ? null : claims;
  }

  async function route(method: string, url: URL, init: RequestInit): Promise<Response> {
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    const headers = new Headers(init.headers);
    switch (`${method} ${url.pathname}`) {
      case 'GET /.well-known/jwks.json':
        return json(200, { keys: [...published, encryptionJwk] });
      case 'POST /auth/login': {
        if (body.password !== 'right') return error(401, 'invalid_credentials');
        const sid = randomUUID();
        sessions.set(sid, { clientJwk: body.client_key as JWK, refreshToken: '', revoked: false });
        return grant(sid);
      }
      case 'POST /auth/refresh': {
        const entry = [...sessions.entries()].find(([, s]) => s.refreshToken === body.refresh_token && !s.revoked);
        const response = entry ? await grant(entry[0]) : error(401, 'invalid_grant');
        // The answer is decided first and delivered late: a slow network, not a slow server.
        await new Promise((resolve) => setTimeout(resolve, state.refreshDelayMs));
        return response;
      }
      case 'GET /api/me': {
        const claims = await authenticate(headers.get('authorization'));
        return claims ? json(200, { sub: claims.sub, username: 'alice', session_id: claims.sid }) : error(401, 'invalid_token');
      }
      case 'POST /auth/logout': {
        const claims = await authenticate(headers.get('authorization'));
        if (!claims) return error(401, 'invalid_token');
        sessions.get(claims.sid as string)!.revoked = true;
        return new Response(null, { status: 204 });
      }
      default:
        return error(404, 'not_found');
    }
  }

  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = init.method ?? 'GET';
    const key = `${method} ${url.pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (url.hostname === 'unreachable.test') throw new TypeError('fetch failed');
    return state.forced ? state.forced() : route(method, url, init);
  };

  return {
    baseUrl,
    issuer,
    audience,
    fetch: fetch as typeof globalThis.fetch,
    state,
    /** Every bearer token presented to a protected route, in order. */
    bearers,
    /** How many times `METHOD /path` was requested. */
    count: (key: string) => counts.get(key) ?? 0,
    /** Makes the server refuse every access token issued so far (as after an early expiry). */
    refuseIssuedTokens(): void {
      for (const jti of issuedJtis) refusedJtis.add(jti);
    },
    /** Ends every session, as logout-all-devices would. */
    revokeAll(): void {
      for (const session of sessions.values()) session.revoked = true;
    },
    /** Signs new tokens with a new key, published beside the old one. */
    async rotateSigningKey(): Promise<void> {
      signing = await signingKey(`sig-${published.length + 1}`);
      published.unshift(signing.jwk);
    },
  };
}
