#!/usr/bin/env node
/**
 * A standalone client for jwe-auth-server, written only from the outside contract
 * (CONTRACT.md): it uses `jose` and `fetch`, nothing from the server's code.
 *
 * Full flow (the default):
 *
 *   CLIENT_PASSWORD=... node examples/contract-client.mjs <baseUrl> <username> <x25519|p256|rsa>
 *
 *   1. generates a client key pair of that kind;
 *   2. POST /auth/login with refresh_transport "body";
 *   3. checks the outer JWE header (alg for the kind, enc A256GCM, cty JWT, kid = RFC 7638
 *      thumbprint of the client key) and decrypts it;
 *   4. checks the inner JWS header (typ at+jwt) and verifies it against GET /.well-known/jwks.json;
 *   5. seals the JWS to the server's encryption key from the JWKS and calls GET /api/me and
 *      GET /auth/verify with it.
 *
 * It prints ONE JSON line: statuses, headers, claims, the /api/me and /auth/verify bodies, the sealed
 * bearer, the inner JWS and the refresh token (so a caller can replay them). Any failed check prints
 * `{"ok": false, "error": ...}` and exits 1.
 *
 * With DPOP=1 the session is bound to a DPoP proof key (RFC 9449): an ES256 key pair is made, the
 * login carries a `DPoP` proof, the token response must say `token_type: "DPoP"` and the inner JWS
 * `cnf.jkt` = the key's thumbprint, and every request goes as `Authorization: DPoP <sealed>` with a
 * fresh proof (`htm`, `htu`, `iat`, `jti`, `ath`). It also checks that the bound token is refused as
 * `Bearer` and without a proof, each with its challenge.
 *
 * Replay modes (no login; `<username>` and `<kind>` may be omitted):
 *
 *   REPLAY_BEARER=<sealed JWE>  GET /api/me with that bearer; prints the status and body. With
 *                               DPOP_KEY=<private JWK JSON> (see EXPORT_CLIENT_KEY) it goes as
 *                               `Authorization: DPoP` with a fresh proof by that key.
 *   REPLAY_JWS=<compact JWS>    seals the JWS to the server's current encryption key (fresh JWKS),
 *                               then GET /api/me; prints the status and body.
 *   REPLAY_REFRESH=<token>      POST /auth/refresh with JSON {refresh_token}; prints the status and
 *                               body. With CLIENT_KEY=<private JWK JSON> (see EXPORT_CLIENT_KEY) a 200
 *                               answer is opened, verified, sealed and used on GET /api/me. With
 *                               DPOP_KEY too, the refresh and the call carry proofs by that key.
 *
 * In replay modes a non-200 HTTP answer is a result, not a failure: the exit code is 0 whenever the
 * server answered and every check that applies to the answer passed.
 *
 * Other environment:
 *   CLIENT_PASSWORD     the password (login mode; required)
 *   DPOP=1              bind the session to a DPoP proof key (login mode)
 *   EXPORT_CLIENT_KEY=1 also print the client private key (JWK) as `client_key`, for REPLAY_REFRESH,
 *                       and with DPOP=1 the proof private key as `dpop_key`, for DPOP_KEY
 *   EXPECT_ISSUER, EXPECT_AUDIENCE   when set, the access token's iss/aud must equal them
 */
import {
  calculateJwkThumbprint,
  compactDecrypt,
  CompactEncrypt,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { createHash, randomUUID } from 'node:crypto';

/** The client key kinds of the contract and the JWE `alg` the server must use for each. */
const KINDS = {
  x25519: { alg: 'ECDH-ES', options: { crv: 'X25519' } },
  p256: { alg: 'ECDH-ES+A256KW', options: { crv: 'P-256' } },
  rsa: { alg: 'RSA-OAEP-256', options: { modulusLength: 2048 } },
};

/** JWK members that only a private key carries. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

class CheckError extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckError(message);
}

const text = (bytes) => new TextDecoder().decode(bytes);
const isCompactJws = (s) => typeof s === 'string' && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(s);

function usage() {
  return 'usage: CLIENT_PASSWORD=... node examples/contract-client.mjs <baseUrl> <username> <x25519|p256|rsa>';
}

/** A DPoP proof (RFC 9449 §4.2) for one request: htu without query or fragment, ath when a token goes with it. */
async function dpopProof(proofKey, method, url, token) {
  const target = new URL(url);
  const claims = { htm: method, htu: `${target.origin}${target.pathname}`, jti: randomUUID() };
  if (token !== undefined) claims.ath = createHash('sha256').update(token).digest('base64url');
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: proofKey.publicJwk })
    .setIssuedAt()
    .sign(proofKey.privateKey);
}

/**
 * One HTTP call. `bearer` goes as `Authorization: Bearer`, or, with `proofKey`, as
 * `Authorization: DPoP` with a fresh proof; `proofKey` alone (login, refresh) adds a proof without ath.
 */
async function call(baseUrl, method, path, { bearer, json, proofKey } = {}) {
  const headers = { accept: 'application/json' };
  if (bearer !== undefined) headers.authorization = `${proofKey ? 'DPoP' : 'Bearer'} ${bearer}`;
  if (proofKey !== undefined) headers.dpop = await dpopProof(proofKey, method, new URL(path, baseUrl), bearer);
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const raw = await res.text();
  let body = null;
  if (raw !== '') {
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
  }
  return { status: res.status, headers: res.headers, body };
}

/** Errors are `{error, error_description}` JSON; a 401 from a protected route carries a challenge of the scheme used. */
function checkError(res, protectedRoute, scheme = 'Bearer') {
  check(res.body && typeof res.body === 'object' && typeof res.body.error === 'string', `${res.status} answer is not a JSON error: ${JSON.stringify(res.body)}`);
  if (protectedRoute && res.status === 401) {
    check(new RegExp(`^${scheme}\\b`, 'i').test(res.headers.get('www-authenticate') ?? ''), `401 without a WWW-Authenticate: ${scheme} challenge`);
  }
}

async function fetchJwks(baseUrl) {
  const res = await call(baseUrl, 'GET', '/.well-known/jwks.json');
  check(res.status === 200, `GET /.well-known/jwks.json answered ${res.status}`);
  const jwks = res.body;
  check(jwks && Array.isArray(jwks.keys) && jwks.keys.length > 0, 'the JWKS has no keys');
  for (const key of jwks.keys) {
    check(typeof key.kid === 'string' && key.kid !== '', 'a JWKS key has no kid');
    check(key.use === 'sig' || key.use === 'enc', `JWKS key ${key.kid} has use ${JSON.stringify(key.use)}`);
    check(typeof key.alg === 'string' && key.alg !== '', `JWKS key ${key.kid} has no alg`);
    for (const member of PRIVATE_MEMBERS) check(!(member in key), `JWKS key ${key.kid} publishes private member "${member}"`);
  }
  check(jwks.keys.some((k) => k.use === 'sig'), 'the JWKS has no signing key');
  check(jwks.keys.some((k) => k.use === 'enc'), 'the JWKS has no encryption key');
  return jwks;
}

/**
 * Seals a JWS to the server's encryption key. The contract publishes current and still-accepted keys
 * without saying which is current; the first `use: "enc"` key is taken.
 */
async function sealToServer(jws, jwks) {
  const jwk = jwks.keys.find((k) => k.use === 'enc');
  const key = await importJWK(jwk, jwk.alg);
  const jwe = await new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: jwk.alg, enc: 'A256GCM', cty: 'JWT', kid: jwk.kid })
    .encrypt(key);
  return { bearer: jwe, kid: jwk.kid };
}

/** Checks a token response and opens its access token with the client key; returns the layers. */
async function openTokenResponse(body, client, jwks, expected, proofKey) {
  check(body && typeof body === 'object', 'the token response is not JSON');
  check(typeof body.access_token === 'string', 'no access_token');
  const tokenType = proofKey ? 'DPoP' : 'Bearer';
  check(body.token_type === tokenType, `token_type is ${JSON.stringify(body.token_type)}, expected ${tokenType}`);
  check(Number.isInteger(body.expires_in) && body.expires_in > 0, `expires_in is ${JSON.stringify(body.expires_in)}`);
  check(Number.isInteger(body.refresh_expires_in) && body.refresh_expires_in > 0, `refresh_expires_in is ${JSON.stringify(body.refresh_expires_in)}`);
  check(typeof body.session_id === 'string' && body.session_id !== '', 'no session_id');
  check(typeof body.refresh_token === 'string' && body.refresh_token !== '', 'no refresh_token with refresh_transport "body"');

  // Outer layer: a JWE to the client key.
  check(body.access_token.split('.').length === 5, 'access_token is not a compact JWE');
  const outer = decodeProtectedHeader(body.access_token);
  check(outer.alg === KINDS[client.kind].alg, `outer alg is ${outer.alg}, expected ${KINDS[client.kind].alg} for ${client.kind}`);
  check(outer.enc === 'A256GCM', `outer enc is ${outer.enc}`);
  check(outer.cty === 'JWT', `outer cty is ${outer.cty}`);
  check(outer.kid === client.kid, `outer kid ${outer.kid} is not the thumbprint of the client key (${client.kid})`);
  let jws;
  try {
    jws = text((await compactDecrypt(body.access_token, client.privateKey)).plaintext);
  } catch (error) {
    throw new CheckError(`the access token does not decrypt with the client key: ${error.message}`);
  }

  // Inner layer: a JWS signed by a key in the JWKS.
  check(isCompactJws(jws), 'the JWE plaintext is not a compact JWS');
  const inner = decodeProtectedHeader(jws);
  check(inner.typ === 'at+jwt', `inner typ is ${inner.typ}`);
  check(typeof inner.alg === 'string' && typeof inner.kid === 'string', 'inner header lacks alg or kid');
  const sigKey = jwks.keys.find((k) => k.kid === inner.kid && k.use === 'sig');
  check(sigKey !== undefined, `inner kid ${inner.kid} is not a signing key in the JWKS`);
  check(sigKey.alg === inner.alg, `inner alg ${inner.alg} differs from the JWKS key's ${sigKey.alg}`);
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(jws, createLocalJWKSet(jwks), {
      typ: 'at+jwt',
      issuer: expected.issuer,
      audience: expected.audience,
    }));
  } catch (error) {
    throw new CheckError(`the inner JWS does not verify against the JWKS: ${error.message}`);
  }
  for (const claim of ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'sid']) check(claims[claim] !== undefined, `claim ${claim} is missing`);
  check(claims.sid === body.session_id, `sid ${claims.sid} is not session_id ${body.session_id}`);
  if (proofKey) check(claims.cnf?.jkt === proofKey.jkt, `cnf ${JSON.stringify(claims.cnf)} does not name the proof key ${proofKey.jkt}`);
  else check(claims.cnf === undefined, 'an unbound token carries cnf');
  check(Math.abs(claims.exp - claims.iat - body.expires_in) <= 5, `exp - iat (${claims.exp - claims.iat}) differs from expires_in ${body.expires_in}`);
  return { outer, inner, claims, jws };
}

/** Calls /api/me and /auth/verify with a sealed bearer (and proofs by `proofKey`) and checks the answers against the claims. */
async function useBearer(baseUrl, bearer, claims, username, proofKey) {
  const me = await call(baseUrl, 'GET', '/api/me', { bearer, proofKey });
  check(me.status === 200, `GET /api/me answered ${me.status} ${JSON.stringify(me.body)}`);
  check(me.body.sub === claims.sub, `/api/me sub ${me.body.sub} is not ${claims.sub}`);
  check(me.body.session_id === claims.sid, `/api/me session_id ${me.body.session_id} is not ${claims.sid}`);
  if (username !== undefined) check(me.body.username === username, `/api/me username ${me.body.username} is not ${username}`);
  const verify = await call(baseUrl, 'GET', '/auth/verify', { bearer, proofKey });
  check(verify.status === 200, `GET /auth/verify answered ${verify.status} ${JSON.stringify(verify.body)}`);
  check(verify.body.active === true, '/auth/verify is not active');
  for (const claim of ['sub', 'sid', 'iss', 'iat', 'exp', 'jti']) {
    check(verify.body[claim] === claims[claim], `/auth/verify ${claim} ${JSON.stringify(verify.body[claim])} is not ${JSON.stringify(claims[claim])}`);
  }
  check(JSON.stringify(verify.body.aud) === JSON.stringify(claims.aud), '/auth/verify aud differs from the token');
  check(JSON.stringify(verify.body.cnf) === JSON.stringify(claims.cnf), '/auth/verify cnf differs from the token');
  return { me, verify };
}

/** A bound token must be refused as Bearer and without a proof, each with the contract's challenge. */
async function checkBindingRefusals(baseUrl, bearer) {
  const asBearer = await call(baseUrl, 'GET', '/api/me', { bearer });
  check(asBearer.status === 401 && asBearer.body?.error === 'invalid_token', `the bound token as Bearer answered ${asBearer.status}`);
  const res = await fetch(new URL('/api/me', baseUrl), { headers: { authorization: `DPoP ${bearer}` } });
  const body = await res.json();
  const challenge = res.headers.get('www-authenticate') ?? '';
  check(res.status === 401 && body.error === 'invalid_dpop_proof', `the bound token without a proof answered ${res.status}`);
  check(/^DPoP error="invalid_dpop_proof", algs="[^"]*ES256[^"]*"$/.test(challenge), `no DPoP challenge without a proof: ${challenge}`);
  return { bearer_status: asBearer.status, no_proof_status: res.status, no_proof_challenge: challenge };
}

/** Makes an ES256 proof key, or rebuilds one from a private JWK printed with EXPORT_CLIENT_KEY=1. */
async function makeProofKey(privateJwkJson) {
  let privateKey;
  let publicJwk;
  if (privateJwkJson) {
    const { kty, crv, x, y } = JSON.parse(privateJwkJson);
    privateKey = await importJWK(JSON.parse(privateJwkJson), 'ES256');
    publicJwk = { kty, crv, x, y };
  } else {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
  }
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

async function makeClient(kind) {
  const spec = KINDS[kind];
  const { privateKey, publicKey } = await generateKeyPair(spec.alg, { ...spec.options, extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { kind, privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk) };
}

/** Rebuilds a client from a private JWK printed with EXPORT_CLIENT_KEY=1. */
async function clientFromJwk(json) {
  const jwk = JSON.parse(json);
  const kind = jwk.kty === 'OKP' ? 'x25519' : jwk.kty === 'EC' ? 'p256' : 'rsa';
  const privateKey = await importJWK(jwk, KINDS[kind].alg);
  const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
  delete publicJwk.key_ops;
  delete publicJwk.ext;
  return { kind, privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk) };
}

async function login(baseUrl, username, kind, expected) {
  const password = process.env.CLIENT_PASSWORD;
  check(password !== undefined && password !== '', 'set CLIENT_PASSWORD');
  const client = await makeClient(kind);
  const proofKey = process.env.DPOP === '1' ? await makeProofKey() : undefined;

  // The protected routes must refuse a request without a token, with a Bearer challenge.
  const anonymous = await call(baseUrl, 'GET', '/api/me');
  check(anonymous.status === 401, `GET /api/me without a token answered ${anonymous.status}`);
  checkError(anonymous, true);

  const loginRes = await call(baseUrl, 'POST', '/auth/login', {
    json: { username, password, client_key: client.publicJwk, refresh_transport: 'body' },
    proofKey,
  });
  if (loginRes.status !== 200) checkError(loginRes, false);
  check(loginRes.status === 200, `POST /auth/login answered ${loginRes.status} ${JSON.stringify(loginRes.body)}`);

  const jwks = await fetchJwks(baseUrl);
  const { outer, inner, claims, jws } = await openTokenResponse(loginRes.body, client, jwks, expected, proofKey);
  const sealed = await sealToServer(jws, jwks);
  const { me, verify } = await useBearer(baseUrl, sealed.bearer, claims, username, proofKey);
  const refusals = proofKey ? await checkBindingRefusals(baseUrl, sealed.bearer) : undefined;

  // A tampered bearer is refused like any invalid token.
  const tampered = `${sealed.bearer.slice(0, -4)}${sealed.bearer.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const bad = await call(baseUrl, 'GET', '/api/me', { bearer: tampered, proofKey });
  check(bad.status === 401 && bad.body?.error === 'invalid_token', `a tampered bearer answered ${bad.status} ${JSON.stringify(bad.body)}`);
  check(/error="invalid_token"/.test(bad.headers.get('www-authenticate') ?? ''), 'a tampered bearer got no error="invalid_token" challenge');

  const result = {
    ok: true,
    mode: 'login',
    kind,
    client_kid: client.kid,
    login_status: loginRes.status,
    token_type: loginRes.body.token_type,
    expires_in: loginRes.body.expires_in,
    refresh_expires_in: loginRes.body.refresh_expires_in,
    session_id: loginRes.body.session_id,
    outer_header: outer,
    inner_header: inner,
    claims,
    jwks_kids: jwks.keys.map((k) => ({ kid: k.kid, use: k.use, alg: k.alg })),
    server_enc_kid: sealed.kid,
    me_status: me.status,
    me: me.body,
    verify_status: verify.status,
    verify: verify.body,
    tampered_status: bad.status,
    bearer: sealed.bearer,
    jws,
    refresh_token: loginRes.body.refresh_token,
    ...(proofKey ? { dpop_jkt: proofKey.jkt, dpop_refusals: refusals } : {}),
  };
  if (process.env.EXPORT_CLIENT_KEY === '1') {
    result.client_key = await exportJWK(client.privateKey);
    if (proofKey) result.dpop_key = await exportJWK(proofKey.privateKey);
  }
  return result;
}

async function replayBearer(baseUrl, bearer) {
  const proofKey = process.env.DPOP_KEY ? await makeProofKey(process.env.DPOP_KEY) : undefined;
  const me = await call(baseUrl, 'GET', '/api/me', { bearer, proofKey });
  if (me.status !== 200) checkError(me, true, proofKey ? 'DPoP' : 'Bearer');
  return {
    ok: true,
    mode: 'replay-bearer',
    me_status: me.status,
    me: me.body,
    www_authenticate: me.headers.get('www-authenticate'),
  };
}

async function replayJws(baseUrl, jws) {
  check(isCompactJws(jws), 'REPLAY_JWS is not a compact JWS');
  const jwks = await fetchJwks(baseUrl);
  const sealed = await sealToServer(jws, jwks);
  return { ...(await replayBearer(baseUrl, sealed.bearer)), mode: 'replay-jws', server_enc_kid: sealed.kid };
}

async function replayRefresh(baseUrl, refreshToken, expected) {
  const proofKey = process.env.DPOP_KEY ? await makeProofKey(process.env.DPOP_KEY) : undefined;
  const res = await call(baseUrl, 'POST', '/auth/refresh', { json: { refresh_token: refreshToken }, proofKey });
  const result = { ok: true, mode: 'replay-refresh', refresh_status: res.status };
  if (res.status !== 200) {
    checkError(res, false);
    return { ...result, body: res.body };
  }
  check(typeof res.body.refresh_token === 'string' && res.body.refresh_token !== refreshToken, 'the refresh token was not rotated');
  Object.assign(result, {
    session_id: res.body.session_id,
    token_type: res.body.token_type,
    expires_in: res.body.expires_in,
    refresh_token: res.body.refresh_token,
  });
  if (process.env.CLIENT_KEY) {
    const client = await clientFromJwk(process.env.CLIENT_KEY);
    const jwks = await fetchJwks(baseUrl);
    const { outer, inner, claims, jws } = await openTokenResponse(res.body, client, jwks, expected, proofKey);
    const sealed = await sealToServer(jws, jwks);
    const { me, verify } = await useBearer(baseUrl, sealed.bearer, claims, undefined, proofKey);
    Object.assign(result, {
      outer_header: outer,
      inner_header: inner,
      claims,
      me_status: me.status,
      me: me.body,
      verify_status: verify.status,
      verify: verify.body,
      bearer: sealed.bearer,
      jws,
    });
  }
  return result;
}

async function main() {
  const [baseUrl, username, kind] = process.argv.slice(2);
  check(baseUrl !== undefined && URL.canParse(baseUrl), usage());
  const expected = {
    issuer: process.env.EXPECT_ISSUER || undefined,
    audience: process.env.EXPECT_AUDIENCE || undefined,
  };
  if (process.env.REPLAY_BEARER) return replayBearer(baseUrl, process.env.REPLAY_BEARER);
  if (process.env.REPLAY_JWS) return replayJws(baseUrl, process.env.REPLAY_JWS);
  if (process.env.REPLAY_REFRESH) return replayRefresh(baseUrl, process.env.REPLAY_REFRESH, expected);
  check(username !== undefined && username !== '', usage());
  check(Object.hasOwn(KINDS, kind ?? ''), `kind must be x25519, p256 or rsa (got ${JSON.stringify(kind)})\n${usage()}`);
  return login(baseUrl, username, kind, expected);
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (error) => {
    const message = error instanceof CheckError ? error.message : `unexpected error: ${error?.message ?? String(error)}`;
    process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
    process.stderr.write(`contract-client: ${message}\n`);
    process.exitCode = 1;
  },
);
