import { randomBytes, type KeyObject } from 'node:crypto';
import { generateDetached, type DetachedKeyPair } from '../../src/keys/node-keys.js';
import request from 'supertest';
import { makeClientKey } from '../helpers/client.js';
import { sqliteOf, startTestServer, type TestServer } from '../helpers/runtime.js';
import { openTables, type TableView } from '../helpers/sqlite-tables.js';

const PASSWORD = 'correct horse battery';

let server: TestServer;
let tables: TableView;

beforeAll(async () => {
  server = await startTestServer();
  await server.addUser('alice', PASSWORD);
  tables = openTables(server.config.sqlitePath);
});
afterAll(async () => {
  tables.close();
  await server.close();
});

const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' }) as Record<string, unknown>;
const publicJwkOf = (pair: DetachedKeyPair) => ({ ...pair.publicJwk }) as Record<string, unknown>;
const x25519 = () => publicJwkOf(generateDetached('x25519'));
const p256 = () => publicJwkOf(generateDetached('ec', { namedCurve: 'P-256' }));
const rsa = (modulusLength: number, publicExponent = 0x10001) => publicJwkOf(generateDetached('rsa', { modulusLength, publicExponent }));
const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');

/** POSTs a login and checks that not one row was stored, whatever the answer. */
async function loginChangingNothing(send: (req: request.Test) => request.Test): Promise<request.Response> {
  const [before, sessionsBefore] = [tables.snapshot(), tables.count('sessions')];
  const res = await send(request(server.app).post('/auth/login'));
  expect(tables.count('sessions')).toBe(sessionsBefore);
  expect(tables.snapshot()).toEqual(before);
  return res;
}

const weakKeys: { name: string; clientKey: () => unknown }[] = [
  { name: 'a private X25519 JWK (with d)', clientKey: () => jwkOf(generateDetached('x25519').privateKey) },
  { name: 'a private RSA JWK (with d, p, q)', clientKey: () => jwkOf(generateDetached('rsa', { modulusLength: 2048 }).privateKey) },
  { name: 'a public X25519 JWK carrying a stray d', clientKey: () => ({ ...x25519(), d: b64(32) }) },
  { name: 'a symmetric oct key', clientKey: () => ({ kty: 'oct', k: b64(32) }) },
  { name: 'an EC P-384 key', clientKey: () => publicJwkOf(generateDetached('ec', { namedCurve: 'P-384' })) },
  { name: 'an EC P-521 key', clientKey: () => publicJwkOf(generateDetached('ec', { namedCurve: 'P-521' })) },
  { name: 'an EC secp256k1 key', clientKey: () => publicJwkOf(generateDetached('ec', { namedCurve: 'secp256k1' })) },
  { name: 'an Ed25519 key (OKP, but not X25519)', clientKey: () => publicJwkOf(generateDetached('ed25519')) },
  { name: 'an X448 key', clientKey: () => publicJwkOf(generateDetached('x448')) },
  { name: 'an RSA 1024-bit key', clientKey: () => rsa(1024) },
  { name: 'an RSA 2048-bit key with e = 3', clientKey: () => rsa(2048, 3) },
  // Odd, so that only its size can refuse it.
  { name: 'an RSA key with a modulus over 8192 bits', clientKey: () => ({ ...rsa(2048), n: Buffer.concat([Buffer.from([0x01]), Buffer.alloc(1023, 0xab), Buffer.from([0x01])]).toString('base64url') }) },
  { name: 'an RSA key whose n is not base64url', clientKey: () => ({ ...rsa(2048), n: `${rsa(2048).n as string}==` }) },
  { name: 'an RSA 2048-bit key with an even modulus', clientKey: () => ({ kty: 'RSA', e: 'AQAB', n: Buffer.concat([Buffer.from([0xc0]), randomBytes(254), Buffer.from([0x02])]).toString('base64url') }) },
  { name: 'an RSA key whose modulus is a power of two', clientKey: () => ({ kty: 'RSA', e: 'AQAB', n: Buffer.concat([Buffer.from([0x80]), Buffer.alloc(255)]).toString('base64url') }) },
  { name: 'an RSA key without e', clientKey: () => ({ ...rsa(2048), e: undefined }) },
  { name: 'an X25519 key without x', clientKey: () => ({ kty: 'OKP', crv: 'X25519' }) },
  { name: 'an X25519 key with a 31-byte x', clientKey: () => ({ kty: 'OKP', crv: 'X25519', x: b64(31) }) },
  ...[
    ['0', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['1', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['of order 8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
    ['p - 1', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
  ].map(([point, hex]) => ({
    name: `an X25519 key of small order (u = ${point as string})`,
    clientKey: () => ({ kty: 'OKP', crv: 'X25519', x: Buffer.from(hex as string, 'hex').toString('base64url') }),
  })),
  { name: 'a P-256 key without y', clientKey: () => ({ ...p256(), y: undefined }) },
  { name: 'a P-256 point that is not on the curve', clientKey: () => ({ kty: 'EC', crv: 'P-256', x: b64(32), y: b64(32) }) },
  { name: 'an X25519 key whose alg does not match (RSA-OAEP-256)', clientKey: () => ({ ...x25519(), alg: 'RSA-OAEP-256' }) },
  { name: 'a P-256 key whose alg is ECDH-ES (not ECDH-ES+A256KW)', clientKey: () => ({ ...p256(), alg: 'ECDH-ES' }) },
  { name: 'an X25519 key marked use "sig"', clientKey: () => ({ ...x25519(), use: 'sig' }) },
  { name: 'a JWK without kty', clientKey: () => ({ crv: 'X25519', x: b64(32) }) },
  { name: 'a string', clientKey: () => JSON.stringify(x25519()) },
  { name: 'an array', clientKey: () => [x25519()] },
  { name: 'null', clientKey: () => null },
  { name: 'a number', clientKey: () => 25519 },
];

describe('login with a client key the contract does not accept', () => {
  it.each(weakKeys)('refuses $name with 400 invalid_client_key and stores nothing', async ({ clientKey }) => {
    const res = await loginChangingNothing((req) => req.send({ username: 'alice', password: PASSWORD, client_key: clientKey() }));
    expect({ status: res.status, error: res.body.error as unknown }).toEqual({ status: 400, error: 'invalid_client_key' });
    expect(typeof res.body.error_description).toBe('string');
  });

  it.each([
    ['X25519', 'ECDH-ES', x25519],
    ['P-256', 'ECDH-ES+A256KW', p256],
    ['RSA 2048', 'RSA-OAEP-256', () => rsa(2048)],
  ] as const)('still accepts a %s key that states use "enc" and alg %s', async (_kind, alg, make) => {
    const res = await request(server.app)
      .post('/auth/login')
      .send({ username: 'alice', password: PASSWORD, client_key: { ...make(), use: 'enc', alg } });
    expect(res.status).toBe(200);
  });
});

describe('a client key with extra members', () => {
  it('stores only the public members of its key type', async () => {
    const key = { ...x25519(), n: b64(12_000), y: b64(32), key_ops: ['deriveBits'], ext: true };
    const res = await request(server.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, client_key: key, refresh_transport: 'body' });
    expect(res.status).toBe(200);
    const row = sqliteOf(server).prepare('SELECT client_jwk FROM sessions WHERE id = ?').get(res.body.session_id) as { client_jwk: string };
    expect(Object.keys(JSON.parse(row.client_jwk)).sort()).toEqual(['crv', 'kty', 'x']);
  });
});

describe('a malformed login request', () => {
  let clientKey: Record<string, unknown>;
  beforeAll(async () => {
    clientKey = (await makeClientKey()).publicJwk as Record<string, unknown>;
  });

  const invalidBodies: { name: string; body: () => Record<string, unknown> }[] = [
    { name: 'without username', body: () => ({ password: PASSWORD, client_key: clientKey }) },
    { name: 'without password', body: () => ({ username: 'alice', client_key: clientKey }) },
    { name: 'without client_key', body: () => ({ username: 'alice', password: PASSWORD }) },
    { name: 'with an empty username', body: () => ({ username: '', password: PASSWORD, client_key: clientKey }) },
    { name: 'with a numeric username', body: () => ({ username: 42, password: PASSWORD, client_key: clientKey }) },
    { name: 'with a password array', body: () => ({ username: 'alice', password: [PASSWORD], client_key: clientKey }) },
    { name: 'with a password object', body: () => ({ username: 'alice', password: { $ne: '' }, client_key: clientKey }) },
    { name: 'with a password over 1024 characters', body: () => ({ username: 'alice', password: 'x'.repeat(1025), client_key: clientKey }) },
    { name: 'with an unknown refresh_transport', body: () => ({ username: 'alice', password: PASSWORD, client_key: clientKey, refresh_transport: 'header' }) },
  ];

  it.each(invalidBodies)('$name is refused with 400 invalid_request', async ({ body }) => {
    const res = await loginChangingNothing((req) => req.send(body()));
    expect({ status: res.status, error: res.body.error as unknown }).toEqual({ status: 400, error: 'invalid_request' });
    expect(typeof res.body.error_description).toBe('string');
  });

  it('that is not JSON although it says so is refused with 400 invalid_request', async () => {
    const res = await loginChangingNothing((req) => req.set('Content-Type', 'application/json').send('{"username": "alice", '));
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: expect.any(String) },
    });
  });

  it('that is a JSON array is refused with 400 invalid_request', async () => {
    const res = await loginChangingNothing((req) => req.send([{ username: 'alice', password: PASSWORD, client_key: clientKey }]));
    expect({ status: res.status, error: res.body.error as unknown }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('sent as a form is refused with a 4xx JSON error, never a 500', async () => {
    const res = await loginChangingNothing((req) => req.type('form').send({ username: 'alice', password: PASSWORD }));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(['invalid_request', 'unsupported_media_type']).toContain(res.body.error);
  });

  it('larger than the body limit is refused with 413 payload_too_large', async () => {
    const res = await loginChangingNothing((req) => req.send({ username: 'alice', password: PASSWORD, client_key: clientKey, padding: 'x'.repeat(64 * 1024) }));
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 413,
      body: { error: 'payload_too_large', error_description: expect.any(String) },
    });
  });
});
