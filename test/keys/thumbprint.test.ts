import { calculateJwkThumbprint, type JWK } from 'jose';
import { generateDetached } from '../../src/keys/node-keys.js';
import { jwkThumbprint } from '../../src/keys/server-key.js';

describe('jwkThumbprint', () => {
  it("gives RFC 7638's own example (§3.1)", () => {
    const example = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    } as JWK;
    expect(jwkThumbprint(example)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  // Every key the server names: its own (P-256, Ed25519, X25519, RSA), a client's (X25519, P-256, RSA), a DPoP proof's (P-256, Ed25519).
  const kinds = {
    'P-256': () => generateDetached('ec', { namedCurve: 'P-256' }),
    Ed25519: () => generateDetached('ed25519'),
    X25519: () => generateDetached('x25519'),
    'RSA-2048': () => generateDetached('rsa', { modulusLength: 2048 }),
  };

  it.each(Object.entries(kinds))("equals jose's calculateJwkThumbprint on %s keys, whatever other members they carry", async (_kind, generate) => {
    for (let i = 0; i < 6; i++) {
      const publicJwk = generate().publicJwk as JWK;
      const decorated = { ...publicJwk, alg: 'x', use: 'enc', kid: `k${i}`, ext: true, key_ops: ['deriveBits'] } as JWK;
      expect(jwkThumbprint(decorated)).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
    }
  });

  it.each([
    ['a symmetric key (never one the server names)', { kty: 'oct', k: 'AAAA' }, 'no thumbprint for kty oct'],
    ['no kty', { crv: 'X25519', x: 'AAAA' }, 'no thumbprint for kty undefined'],
  ])('refuses %s', (_name, jwk, message) => {
    expect(() => jwkThumbprint(jwk as unknown as JWK)).toThrow(new TypeError(message));
  });

  it.each([
    ['an EC key without y', { kty: 'EC', crv: 'P-256', x: 'AAAA' }, 'the JWK member y must be a string'],
    ['an RSA key whose e is a number', { kty: 'RSA', n: 'AAAA', e: 65537 }, 'the JWK member e must be a string'],
  ])('refuses %s, as jose does, rather than hash what is there', async (_name, jwk, message) => {
    expect(() => jwkThumbprint(jwk as unknown as JWK)).toThrow(new TypeError(message));
    await expect(calculateJwkThumbprint(jwk as unknown as JWK, 'sha256')).rejects.toThrow();
  });
});
