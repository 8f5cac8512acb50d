import { AcceptCache } from '../../src/tokens/accept-cache.js';
import type { AccessClaims } from '../../src/tokens/policy.js';

const claims = (exp: number, jti = 'j1'): AccessClaims => ({
  iss: 'http://localhost:3000',
  sub: 'user',
  aud: 'jwe-auth-server',
  iat: exp - 900,
  exp,
  jti,
  sid: 'session',
});

describe('AcceptCache', () => {
  const exp = 2_000_000_000;

  it('returns the claims of a bearer accepted with the same keys', () => {
    const cache = new AcceptCache();
    expect(cache.get('bearer-a', '1')).toBeUndefined();
    cache.set('bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '1', exp * 1000 - 1)?.jti).toBe('j1');
    expect(cache.get('bearer-b', '1', exp * 1000 - 1)).toBeUndefined();
  });

  it('forgets a bearer once its expiry plus the clock tolerance has passed', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    cache.set('bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '1', (exp + 29) * 1000)).toBeDefined();
    expect(cache.get('bearer-a', '1', (exp + 30) * 1000)).toBeUndefined();
  });

  it('drops everything when the server keys change', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    cache.set('bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '2', exp * 1000 - 1)).toBeUndefined();
    expect(cache.get('bearer-a', '2', exp * 1000 - 1)).toBeUndefined();
    cache.set('bearer-late', '1', claims(exp));
    expect(cache.get('bearer-late', '2', exp * 1000 - 1)).toBeUndefined();
  });

  it('evicts the oldest entry beyond its size', () => {
    const cache = new AcceptCache(2);
    cache.get('warm', '1');
    cache.set('a', '1', claims(exp, 'a'));
    cache.set('b', '1', claims(exp, 'b'));
    cache.set('c', '1', claims(exp, 'c'));
    expect(cache.get('a', '1', 0)).toBeUndefined();
    expect(cache.get('b', '1', 0)?.jti).toBe('b');
    expect(cache.get('c', '1', 0)?.jti).toBe('c');
  });

  it('evicts the oldest entries beyond its character budget, and never keeps a bearer longer than the budget', () => {
    const cache = new AcceptCache(10, 8);
    cache.get('warm', '1');
    cache.set('aaa', '1', claims(exp, 'a'));
    cache.set('bbb', '1', claims(exp, 'b'));
    cache.set('cc', '1', claims(exp, 'c'));
    expect(cache.get('aaa', '1', 0)?.jti).toBe('a');
    cache.set('dd', '1', claims(exp, 'd'));
    expect([cache.get('aaa', '1', 0), cache.get('bbb', '1', 0)?.jti, cache.get('cc', '1', 0)?.jti, cache.get('dd', '1', 0)?.jti]).toEqual([undefined, 'b', 'c', 'd']);
    cache.set('123456789', '1', claims(exp, 'long'));
    expect(cache.get('123456789', '1', 0)).toBeUndefined();
    expect(cache.get('dd', '1', 0)?.jti).toBe('d');
  });

  it('keeps a bearer of exactly its character budget, alone', () => {
    const cache = new AcceptCache(10, 8);
    cache.get('warm', '1');
    cache.set('aaa', '1', claims(exp, 'a'));
    cache.set('12345678', '1', claims(exp, 'full'));
    expect([cache.get('aaa', '1', 0), cache.get('12345678', '1', 0)?.jti]).toEqual([undefined, 'full']);
  });

  it('counts a bearer remembered twice once', () => {
    const cache = new AcceptCache(10, 6);
    cache.get('warm', '1');
    cache.set('aaa', '1', claims(exp, 'a1'));
    cache.set('aaa', '1', claims(exp, 'a2'));
    cache.set('bbb', '1', claims(exp, 'b'));
    expect([cache.get('aaa', '1', 0)?.jti, cache.get('bbb', '1', 0)?.jti]).toEqual(['a2', 'b']);
  });
});
