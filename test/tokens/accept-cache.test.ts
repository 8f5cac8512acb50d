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

/** Accepts a bearer twice: from the second acceptance on, the cache remembers it. */
function remember(cache: AcceptCache, bearer: string, keyStamp: string, accepted: AccessClaims): void {
  cache.set(bearer, keyStamp, accepted);
  cache.set(bearer, keyStamp, accepted);
}

describe('AcceptCache', () => {
  const exp = 2_000_000_000;

  it('remembers a bearer from its second acceptance on, not after its first', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    cache.set('bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '1', 0)).toBeUndefined();
    cache.set('bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '1', 0)?.jti).toBe('j1');
  });

  it('lets bearers accepted once pass by without evicting the remembered ones (a client sealing afresh per request)', () => {
    const cache = new AcceptCache(2);
    cache.get('warm', '1');
    remember(cache, 'kept-1', '1', claims(exp, 'k1'));
    remember(cache, 'kept-2', '1', claims(exp, 'k2'));
    for (let i = 0; i < 50; i++) cache.set(`one-shot-${i}`, '1', claims(exp, `o${i}`));
    expect([cache.get('kept-1', '1', 0)?.jti, cache.get('kept-2', '1', 0)?.jti]).toEqual(['k1', 'k2']);
    expect(cache.get('one-shot-49', '1', 0)).toBeUndefined();
  });

  it('notes at most as many first acceptances as it keeps entries, forgetting the oldest half at a time', () => {
    const cache = new AcceptCache(4);
    cache.get('warm', '1');
    for (const bearer of ['first-a', 'first-b', 'first-c', 'first-d']) cache.set(bearer, '1', claims(exp, bearer));
    // Notes of a and b were dropped when c and d filled the newer half: their next acceptance counts
    // as a first one again; c's still counts as a second.
    cache.set('first-a', '1', claims(exp, 'first-a'));
    cache.set('first-c', '1', claims(exp, 'first-c'));
    expect([cache.get('first-a', '1', 0), cache.get('first-c', '1', 0)?.jti]).toEqual([undefined, 'first-c']);
    cache.set('first-a', '1', claims(exp, 'first-a'));
    expect(cache.get('first-a', '1', 0)?.jti).toBe('first-a');
  });

  it('notes a first acceptance by the bearer’s last four characters (a sealed bearer’s random tag): alike there, two bearers count as one', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    cache.set('sealing-1.Xabcd', '1', claims(exp, 'one'));
    cache.set('sealing-2.Yabcd', '1', claims(exp, 'two'));
    expect(cache.get('sealing-2.Yabcd', '1', 0)?.jti).toBe('two');
    // The last four differ (by case alone, here), so this is a first acceptance.
    cache.set('sealing-3.xAbcd', '1', claims(exp, 'three'));
    cache.set('sealing-4.xabcd', '1', claims(exp, 'four'));
    expect([cache.get('sealing-3.xAbcd', '1', 0), cache.get('sealing-4.xabcd', '1', 0)]).toEqual([undefined, undefined]);
  });

  it('forgets its notes of first acceptances when the server keys change', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    cache.set('bearer-a', '1', claims(exp));
    cache.get('other', '2');
    cache.set('bearer-a', '2', claims(exp));
    expect(cache.get('bearer-a', '2', 0)).toBeUndefined();
  });

  it('returns the claims of a bearer accepted with the same keys', () => {
    const cache = new AcceptCache();
    expect(cache.get('bearer-a', '1')).toBeUndefined();
    remember(cache, 'bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '1', exp * 1000 - 1)?.jti).toBe('j1');
    expect(cache.get('bearer-b', '1', exp * 1000 - 1)).toBeUndefined();
  });

  it('forgets a bearer once its expiry plus the clock tolerance has passed', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    remember(cache, 'bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '1', (exp + 29) * 1000)).toBeDefined();
    expect(cache.get('bearer-a', '1', (exp + 30) * 1000)).toBeUndefined();
  });

  it('drops everything when the server keys change', () => {
    const cache = new AcceptCache();
    cache.get('warm', '1');
    remember(cache, 'bearer-a', '1', claims(exp));
    expect(cache.get('bearer-a', '2', exp * 1000 - 1)).toBeUndefined();
    expect(cache.get('bearer-a', '2', exp * 1000 - 1)).toBeUndefined();
    remember(cache, 'bearer-late', '1', claims(exp));
    expect(cache.get('bearer-late', '2', exp * 1000 - 1)).toBeUndefined();
  });

  it('evicts the oldest entry beyond its size', () => {
    const cache = new AcceptCache(2);
    cache.get('warm', '1');
    remember(cache, 'a', '1', claims(exp, 'a'));
    remember(cache, 'b', '1', claims(exp, 'b'));
    remember(cache, 'c', '1', claims(exp, 'c'));
    expect(cache.get('a', '1', 0)).toBeUndefined();
    expect(cache.get('b', '1', 0)?.jti).toBe('b');
    expect(cache.get('c', '1', 0)?.jti).toBe('c');
  });

  it('evicts the oldest entries beyond its character budget, and never keeps a bearer longer than the budget', () => {
    const cache = new AcceptCache(10, 8);
    cache.get('warm', '1');
    remember(cache, 'aaa', '1', claims(exp, 'a'));
    remember(cache, 'bbb', '1', claims(exp, 'b'));
    remember(cache, 'cc', '1', claims(exp, 'c'));
    expect(cache.get('aaa', '1', 0)?.jti).toBe('a');
    remember(cache, 'dd', '1', claims(exp, 'd'));
    expect([cache.get('aaa', '1', 0), cache.get('bbb', '1', 0)?.jti, cache.get('cc', '1', 0)?.jti, cache.get('dd', '1', 0)?.jti]).toEqual([undefined, 'b', 'c', 'd']);
    remember(cache, '123456789', '1', claims(exp, 'long'));
    expect(cache.get('123456789', '1', 0)).toBeUndefined();
    expect(cache.get('dd', '1', 0)?.jti).toBe('d');
  });

  it('keeps a bearer of exactly its character budget, alone', () => {
    const cache = new AcceptCache(10, 8);
    cache.get('warm', '1');
    remember(cache, 'aaa', '1', claims(exp, 'a'));
    remember(cache, '12345678', '1', claims(exp, 'full'));
    expect([cache.get('aaa', '1', 0), cache.get('12345678', '1', 0)?.jti]).toEqual([undefined, 'full']);
  });

  it('counts a bearer remembered twice once', () => {
    const cache = new AcceptCache(10, 6);
    cache.get('warm', '1');
    remember(cache, 'aaa', '1', claims(exp, 'a1'));
    remember(cache, 'aaa', '1', claims(exp, 'a2'));
    remember(cache, 'bbb', '1', claims(exp, 'b'));
    expect([cache.get('aaa', '1', 0)?.jti, cache.get('bbb', '1', 0)?.jti]).toEqual(['a2', 'b']);
  });
});
