import { calculateJwkThumbprint, compactDecrypt, CompactEncrypt } from 'jose';
import { AuthError } from '../../src/errors.js';
import { importStoredClientKey, parseClientKey } from '../../src/tokens/index.js';
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

  /** An RSA public JWK whose modulus has exactly `bits` bits, odd, built without generating a key. */
  const rsaOfBits = (bits: number, leadingZeros = 0) => {
    const bytes = Buffer.alloc(Math.ceil(bits / 8), 0xa5);
    bytes[0] = 1 << (bits - 1) % 8;
    bytes[bytes.length - 1] = 0xa5 | 1;
    return { kty: 'RSA', e: 'AQAB', n: Buffer.concat([Buffer.alloc(leadingZeros), bytes]).toString('base64url') };
  };

  it.each([2048, 2049, 4096, 8191, 8192])('takes an RSA modulus of %i bits, at and within the bounds', async (bits) => {
    expect((await parseClientKey(rsaOfBits(bits))).alg).toBe('RSA-OAEP-256');
  });

  it.each([1024, 2040, 2047, 8193, 8200])('refuses an RSA modulus of %i bits, just past the bounds', async (bits) => {
    await expect(parseClientKey(rsaOfBits(bits))).rejects.toMatchObject({ code: 'invalid_client_key' });
  });

  it('counts the bits of a modulus from its first non-zero byte', async () => {
    expect((await parseClientKey(rsaOfBits(2048, 2))).alg).toBe('RSA-OAEP-256');
    await expect(parseClientKey(rsaOfBits(2047, 2))).rejects.toMatchObject({ code: 'invalid_client_key' });
    await expect(parseClientKey({ kty: 'RSA', e: 'AQAB', n: 'AAAA' })).rejects.toMatchObject({ code: 'invalid_client_key' });
  });

  it('refuses with the invalid_client_key code', async () => {
    const error = await parseClientKey({ kty: 'oct', k: 'AAAA' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'invalid_client_key' });
  });
});

describe('importStoredClientKey', () => {
  it.each(['x25519', 'p256', 'rsa'] as const)('imports a stored %s key with its stored thumbprint, ready to encrypt to', async (kind) => {
    const client = await makeClientKey(kind);
    const parsed = await parseClientKey(client.publicJwk);
    const stored = await importStoredClientKey(parsed.jwk, parsed.kid);
    expect({ kid: stored.kid, alg: stored.alg, jwk: stored.jwk }).toEqual({ kid: parsed.kid, alg: parsed.alg, jwk: parsed.jwk });
    const jwe = await new CompactEncrypt(new TextEncoder().encode('x')).setProtectedHeader({ alg: stored.alg, enc: 'A256GCM' }).encrypt(stored.key);
    expect(new TextDecoder().decode((await compactDecrypt(jwe, client.privateKey)).plaintext)).toBe('x');
  });

  it('refuses a stored key of a kind that is not accepted', async () => {
    await expect(importStoredClientKey({ kty: 'oct', k: 'AAAA' }, 'kid')).rejects.toMatchObject({ code: 'invalid_client_key' });
  });
});
