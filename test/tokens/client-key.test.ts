import { calculateJwkThumbprint } from 'jose';
import { HttpError } from '../../src/errors.js';
import { parseClientKey } from '../../src/tokens/index.js';
import { makeClientKey, type ClientKeyKind } from '../helpers/client.js';

describe('parseClientKey', () => {
  it.each([
    ['x25519', 'ECDH-ES'],
    ['p256', 'ECDH-ES+A256KW'],
    ['rsa', 'RSA-OAEP-256'],
  ] as const)('takes a public %s JWK for %s, named by its RFC 7638 thumbprint', async (kind: ClientKeyKind, alg) => {
    const { publicJwk } = await makeClientKey(kind);
    const parsed = await parseClientKey(publicJwk);
    expect(parsed.alg).toBe(alg);
    expect(parsed.kid).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
  });

  it('keeps only the public members, whatever else the client sent', async () => {
    const { publicJwk } = await makeClientKey('p256');
    const parsed = await parseClientKey({ ...publicJwk, kid: 'chosen-by-client', ext: true, key_ops: ['deriveBits'], x5u: 'https://evil.example/cert' });
    expect(Object.keys(parsed.jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(parsed.kid).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
  });

  it('refuses with the invalid_client_key code', async () => {
    const error = await parseClientKey({ kty: 'oct', k: 'AAAA' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ code: 'invalid_client_key', status: 400 });
  });
});
