import { createPublicKey, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, compactDecrypt, CompactEncrypt } from 'jose';
import { AuthError } from '../../src/errors.js';
import { generateDetached } from '../../src/keys/node-keys.js';
import { importStoredClientKey, parseClientKey } from '../../src/tokens/index.js';
import { canSealTo, sealTo } from '../../src/tokens/issue.js';
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

  it.each([8192, 2048])('counts a modulus of %i bits behind zero bytes as that many bits', async (bits) => {
    expect((await parseClientKey(rsaOfBits(bits, 3))).alg).toBe('RSA-OAEP-256');
  });

  /** A public key of each accepted kind, made without generating one (the checks before import need no real key). */
  const x = Buffer.alloc(32, 9).toString('base64url');
  const okp = { kty: 'OKP', crv: 'X25519', x };
  const ec = { kty: 'EC', crv: 'P-256', x, y: x };
  const rsa = rsaOfBits(2048);

  // The reason goes to the client as error_description (400 invalid_client_key): each check says what it refused.
  it.each([
    ['a string', 'x25519', 'must be a JWK object'],
    ['null', null, 'must be a JWK object'],
    ['an array', [okp], 'must be a JWK object'],
    ['a number', 25519, 'must be a JWK object'],
    ['a stray d', { ...okp, d: x }, 'must be a public key (private or symmetric members found)'],
    ['a symmetric key', { kty: 'oct', k: x }, 'must be a public key (private or symmetric members found)'],
    ['no kty', { crv: 'X25519', x }, 'kty must be OKP, EC or RSA'],
    ['kty in lower case', { ...ec, kty: 'ec' }, 'kty must be OKP, EC or RSA'],
    ['an Ed25519 key', { ...okp, crv: 'Ed25519' }, 'curve must be X25519'],
    ['an OKP key with the crv of an EC key', { ...okp, crv: 'P-256' }, 'curve must be X25519'],
    ['an EC key with the crv of an OKP key', { ...ec, crv: 'X25519' }, 'curve must be P-256'],
    ['a P-384 key', { ...ec, crv: 'P-384' }, 'curve must be P-256'],
    ['a crv that is an array', { ...ec, crv: ['P-256'] }, 'curve must be P-256'],
    ['a crv named like a member of every object', { ...okp, crv: 'constructor' }, 'curve must be X25519'],
    ['a crv of __proto__', { ...ec, crv: '__proto__' }, 'curve must be P-256'],
    ['no x', { kty: 'OKP', crv: 'X25519' }, 'member "x" must be base64url'],
    ['an x that is a number', { ...okp, x: 25519 }, 'member "x" must be base64url'],
    ['a padded x', { ...okp, x: `${x}=` }, 'member "x" must be base64url'],
    ['an empty x', { ...okp, x: '' }, 'member "x" must be base64url'],
    ['a 31-byte x', { ...okp, x: Buffer.alloc(31, 9).toString('base64url') }, 'has a malformed "x"'],
    ['a 33-byte x on P-256', { ...ec, x: Buffer.alloc(33, 9).toString('base64url') }, 'has a malformed "x"'],
    ['no y on P-256', { kty: 'EC', crv: 'P-256', x }, 'member "y" must be base64url'],
    ['a 31-byte y', { ...ec, y: Buffer.alloc(31, 9).toString('base64url') }, 'has a malformed "y"'],
    ['an n that is not base64url', { ...rsa, n: `${rsa.n}==` }, 'member "n" must be base64url'],
    ['a 2047-bit modulus behind zero bytes', rsaOfBits(2047, 2), 'RSA modulus must be 2048 to 8192 bits'],
    ['an 8193-bit modulus', rsaOfBits(8193), 'RSA modulus must be 2048 to 8192 bits'],
    ['an all-zero modulus', { ...rsa, n: 'AAAA' }, 'RSA modulus must be 2048 to 8192 bits'],
    ['e = 3', { ...rsa, e: 'Aw' }, 'RSA exponent must be 65537'],
    ['no e', { kty: 'RSA', n: rsa.n }, 'RSA exponent must be 65537'],
    ['an even modulus', { ...rsa, n: `${rsa.n.slice(0, -1)}A` }, 'RSA modulus must be odd'],
    ['an alg of another key type', { ...okp, alg: 'RSA-OAEP-256' }, '"alg" must be ECDH-ES for this key type'],
    ['the alg of X25519 on P-256', { ...ec, alg: 'ECDH-ES' }, '"alg" must be ECDH-ES+A256KW for this key type'],
    ['use sig', { ...okp, use: 'sig' }, '"use" must be "enc"'],
    ['key_ops verify', { ...okp, key_ops: ['verify'] }, '"key_ops" must not limit the key to signing'],
    ['key_ops naming sign beside deriveBits', { ...ec, key_ops: ['deriveBits', 'sign'] }, '"key_ops" must not limit the key to signing'],
    ['key_ops that is not an array', { ...okp, key_ops: 'deriveBits' }, '"key_ops" must not limit the key to signing'],
    ['key_ops holding a number', { ...okp, key_ops: [1] }, '"key_ops" must not limit the key to signing'],
    ['a P-256 point not on the curve', ec, 'is not a valid key'],
    ['an X25519 point of small order (u = 0)', { ...okp, x: Buffer.alloc(32).toString('base64url') }, 'cannot be encrypted to (a point of small order or an unusable modulus)'],
  ])('refuses %s, saying why', async (_name, input, why) => {
    await expect(parseClientKey(input)).rejects.toMatchObject({ code: 'invalid_client_key', description: `client_key ${why}` });
  });

  it('takes alg and use when they say what the key is for', async () => {
    const { publicJwk } = await makeClientKey('p256');
    expect((await parseClientKey({ ...publicJwk, alg: 'ECDH-ES+A256KW', use: 'enc' })).alg).toBe('ECDH-ES+A256KW');
  });

  it('takes the key_ops WebCrypto exports (none for an ECDH public key, encrypt for RSA-OAEP) and keeps none of them', async () => {
    for (const usages of [['deriveBits'], ['deriveKey', 'deriveBits']] as KeyUsage[][]) {
      const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, usages)) as CryptoKeyPair;
      const exported = await crypto.subtle.exportKey('jwk', pair.publicKey);
      expect(exported.key_ops).toEqual([]);
      expect((await parseClientKey(exported)).jwk).toEqual({ kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y });
    }
    const rsaPair = (await crypto.subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'])) as CryptoKeyPair;
    const rsaJwk = await crypto.subtle.exportKey('jwk', rsaPair.publicKey);
    expect(rsaJwk.key_ops).toEqual(['encrypt', 'wrapKey']);
    await expect(parseClientKey(rsaJwk)).resolves.toMatchObject({ alg: 'RSA-OAEP-256', jwk: { kty: 'RSA', n: rsaJwk.n, e: 'AQAB' } });
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
    await expect(importStoredClientKey({ kty: 'oct', k: 'AAAA' }, 'kid')).rejects.toMatchObject({ code: 'invalid_client_key', description: 'client_key kty must be OKP, EC or RSA' });
  });

  it('refuses a stored key that no longer imports', async () => {
    const x = Buffer.alloc(32, 9).toString('base64url');
    await expect(importStoredClientKey({ kty: 'EC', crv: 'P-256', x, y: x }, 'kid')).rejects.toMatchObject({ code: 'invalid_client_key', description: 'client_key is not a valid key' });
  });
});

describe('canSealTo', () => {
  const small = ['0000000000000000000000000000000000000000000000000000000000000000', '0100000000000000000000000000000000000000000000000000000000000000', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'];
  const x25519 = (hex: string) => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
  /** Whether the sealing itself (a fresh ephemeral key each time) goes through. */
  const seals = (key: ReturnType<typeof x25519>, alg: 'ECDH-ES' | 'ECDH-ES+A256KW' | 'RSA-OAEP-256') => {
    try {
      sealTo({ alg, key, kid: 'k' }, 'a.b.c');
      return true;
    } catch {
      return false;
    }
  };

  it.each(small)('refuses the X25519 point of small order %s, as the sealing itself fails on it', (hex) => {
    const key = x25519(hex);
    expect(canSealTo(key, 'ECDH-ES')).toBe(false);
    expect(seals(key, 'ECDH-ES')).toBe(false);
  });

  it('agrees with the sealing on random X25519 points (the probe key is not the sealing key)', () => {
    for (let i = 0; i < 200; i++) {
      const key = x25519(randomBytes(32).toString('hex'));
      expect(canSealTo(key, 'ECDH-ES')).toBe(seals(key, 'ECDH-ES'));
    }
  });

  it('takes keys of every accepted kind, on which the sealing goes through', () => {
    const keys = [
      ['ECDH-ES', generateDetached('x25519').publicJwk],
      ['ECDH-ES+A256KW', generateDetached('ec', { namedCurve: 'P-256' }).publicJwk],
      ['RSA-OAEP-256', generateDetached('rsa', { modulusLength: 2048 }).publicJwk],
    ] as const;
    for (const [alg, jwk] of keys) {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      expect([canSealTo(key, alg), seals(key, alg)]).toEqual([true, true]);
    }
  });

  it('refuses an RSA modulus OpenSSL cannot encrypt to (a power of two), as the sealing fails on it', () => {
    const n = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(255)]).toString('base64url');
    const key = createPublicKey({ key: { kty: 'RSA', e: 'AQAB', n }, format: 'jwk' });
    expect([canSealTo(key, 'RSA-OAEP-256'), seals(key, 'RSA-OAEP-256')]).toEqual([false, false]);
  });
});
