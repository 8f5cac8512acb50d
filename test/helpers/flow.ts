import request from 'supertest';
import type { Express } from 'express';
import type { JWK } from 'jose';
import { makeClientKey, openAccessToken, sealToServer, type ClientKeyKind, type ClientKeyPair } from './client.js';
import { makeProof, type ProofKey } from './dpop.js';

/** What a login gave a test client. */
export interface LoggedIn {
  readonly client: ClientKeyPair;
  readonly body: Record<string, unknown>;
  readonly accessToken: string;
  readonly jws: string;
  /** The access token sealed to the server: what goes in `Authorization: Bearer`. */
  readonly bearer: string;
  readonly refreshToken: string | undefined;
  readonly cookie: string | undefined;
  readonly jwks: { keys: JWK[] };
}

/** How a test logs in: the client key, the refresh transport, and a DPoP proof key to bind the session to. */
export interface LoginOptions {
  readonly kind?: ClientKeyKind;
  readonly transport?: 'cookie' | 'body';
  readonly client?: ClientKeyPair;
  /** Sends a `DPoP` proof by `key` for `origin` + `/auth/login` (the server's ISSUER, say). */
  readonly dpop?: { readonly key: ProofKey; readonly origin: string };
}

/** Logs in over HTTP with a fresh client key, opens the token and seals it back to the server. */
export async function login(app: Express, username: string, password: string, options: LoginOptions = {}): Promise<LoggedIn> {
  const client = options.client ?? (await makeClientKey(options.kind));
  const proof = options.dpop && (await makeProof(options.dpop.key, { htm: 'POST', htu: `${options.dpop.origin}/auth/login` }));
  const res = await request(app)
    .post('/auth/login')
    .set(proof ? { DPoP: proof } : {})
    .send({ username, password, client_key: client.publicJwk, refresh_transport: options.transport ?? 'body' })
    .expect(200);
  const jwks = (await request(app).get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] };
  const jws = await openAccessToken(res.body.access_token, client);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return {
    client,
    body: res.body,
    accessToken: res.body.access_token,
    jws,
    bearer: await sealToServer(jws, jwks),
    refreshToken: res.body.refresh_token,
    cookie: setCookie.find((c) => c.startsWith('refresh_token=')),
    jwks,
  };
}

/** Seals a freshly issued access token (from a token response) for the bearer header. */
export async function bearerFor(app: Express, accessToken: string, client: ClientKeyPair): Promise<string> {
  const jwks = (await request(app).get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] };
  return sealToServer(await openAccessToken(accessToken, client), jwks);
}
