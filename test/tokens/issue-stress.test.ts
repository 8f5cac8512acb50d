import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/process.js';

/**
 * Node 20 deadlocks now and then on a KeyObject fresh from `generateKeyPairSync`: exporting it as a
 * JWK holds the key's lock while it allocates, and a garbage collection then finalizes the generation
 * job, whose destructor takes the same lock (the process hangs in a futex, for ever). Sealing an
 * access token makes an ephemeral key every time, so the server once hung under a login flood. The
 * built code (dist/) issues tokens and makes server keys many times over in a child process whose
 * young generation is tiny (a collection every few allocations), and must finish: a hang is killed
 * at the time limit and fails here instead of hanging the test run.
 */
const dist = (file: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', file)).href);
const ROUNDS = 10_000;

const script = `
  import { exportJWK, generateKeyPair } from 'jose';
  import { SIGNING_SPECS, ENCRYPTION_SPECS } from ${dist('keys/algorithms.js')};
  import { generatePrivateKey } from ${dist('keys/node-keys.js')};
  import { toServerKey } from ${dist('keys/server-key.js')};
  import { issueAccessToken } from ${dist('tokens/issue.js')};
  import { parseClientKey } from ${dist('tokens/client-key.js')};
  const signingKey = await toServerKey(generatePrivateKey(SIGNING_SPECS.ES256), SIGNING_SPECS.ES256);
  const clients = [];
  for (const [alg, options] of [['ECDH-ES', { crv: 'X25519' }], ['ECDH-ES+A256KW', { crv: 'P-256' }]]) {
    const { publicKey } = await generateKeyPair(alg, { ...options, extractable: true });
    clients.push(await parseClientKey(await exportJWK(publicKey)));
  }
  // Mostly X25519 (the default client key, and the kind that hung), every tenth token to P-256.
  let issued = 0;
  for (let i = 0; i < ${ROUNDS}; i++) {
    const { token } = await issueAccessToken({ issuer: 'https://a.example', audience: 'b', subject: 's', sessionId: 'x', ttlMs: 60000, signingKey, clientKey: clients[i % 10 === 9 ? 1 : 0] });
    if (token.split('.').length === 5) issued++;
  }
  let keys = 0;
  for (let i = 0; i < 200; i++) {
    const spec = [SIGNING_SPECS.ES256, SIGNING_SPECS.EdDSA, ENCRYPTION_SPECS.x25519, ENCRYPTION_SPECS.p256][i % 4];
    if (generatePrivateKey(spec).export({ format: 'jwk' }).d) keys++;
  }
  console.log(JSON.stringify({ issued, keys }));`;

it(`issues ${ROUNDS} tokens and makes 200 server keys under constant garbage collection without hanging`, () => {
  const child = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
    killSignal: 'SIGKILL',
  });
  expect({ signal: child.signal, status: child.status, stderr: child.stderr }).toEqual({ signal: null, status: 0, stderr: '' });
  expect(JSON.parse(child.stdout)).toEqual({ issued: ROUNDS, keys: 200 });
}, 100_000);
