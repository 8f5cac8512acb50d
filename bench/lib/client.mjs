/**
 * This server's client as the bench plays it: users made with the CLI, a login over HTTP (DPoP-bound
 * when asked), the access token opened with the client key and its JWS sealed back to the server.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { childEnv } from '../../test/helpers/probes.mjs';
import { makeProof, sealerFor } from './native-jose.mjs';

export const USERNAME = 'bench';
export const PASSWORD = 'bench password, long enough';

/** Runs `jwe-auth ...args` (dist/cli/index.js) with `env`; rejects with its output on failure. */
export function cli(cliJs, args, env, stdin = '') {
  const child = spawn(process.execPath, [cliJs, ...args], { cwd: os.tmpdir(), env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`jwe-auth ${args.join(' ')} exited ${code}: ${output}`))));
  });
}

/** Creates the bench user in the user directory `env` points at. */
export function addUser(cliJs, env) {
  return cli(cliJs, ['users', 'add', USERNAME, '--password-stdin'], env, `${PASSWORD}\n`);
}

/** A client key pair (X25519), as a client of the contract holds one. */
export async function makeClientKey() {
  const { privateKey, publicKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519', extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

/** The body of POST /auth/login for the bench user. */
export const loginBody = (client) => JSON.stringify({ username: USERNAME, password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' });

/**
 * Logs in at `url` (with a DPoP proof by `proofKey` when given) and returns what the client then
 * holds: `jws` (the inner token), `seal()` (a fresh sealing of it to the server each call), `sealed`
 * (one sealing, reused by a warm client) and the token type.
 */
export async function login(url, proofKey) {
  const client = await makeClientKey();
  const headers = { 'content-type': 'application/json' };
  if (proofKey) headers.dpop = makeProof(proofKey, { htm: 'POST', htu: `${url}/auth/login` });
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers, body: loginBody(client) });
  if (res.status !== 200) throw new Error(`login at ${url} answered ${res.status}: ${await res.text()}`);
  const body = await res.json();
  const jws = new TextDecoder().decode((await compactDecrypt(body.access_token, client.privateKey)).plaintext);
  const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
  const seal = sealerFor(jwks.keys.find((key) => key.use === 'enc'));
  return { jws, seal: () => seal(jws), sealed: seal(jws), tokenType: body.token_type, refreshToken: body.refresh_token };
}
