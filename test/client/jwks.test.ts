import type { JSONWebKeySet } from 'jose';
import { JwksCache } from '../../src/client/jwks.js';

const set = (...kids: string[]): JSONWebKeySet => ({
  keys: [
    ...kids.map((kid) => ({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid, alg: 'ES256', use: 'sig' })),
    { kty: 'OKP', crv: 'X25519', x: 'x', kid: 'enc', alg: 'ECDH-ES', use: 'enc' },
  ],
});

/** A loader answering with the given outcomes in turn (the last one repeats), counting its calls. */
function loader(...outcomes: Array<JSONWebKeySet | Error>) {
  const calls = { count: 0 };
  const load = async () => {
    const outcome = outcomes[Math.min(calls.count++, outcomes.length - 1)] as JSONWebKeySet | Error;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return { load, calls };
}

describe('JwksCache', () => {
  it('fetches once for concurrent callers and keeps the set while kids are known', async () => {
    const { load, calls } = loader(set('a'));
    const jwks = new JwksCache(load);
    await Promise.all([jwks.resolverFor('a'), jwks.resolverFor('a'), jwks.encryptionKey()]);
    await jwks.resolverFor('a');
    expect(calls.count).toBe(1);
  });

  it('refetches exactly once for concurrent callers meeting the same unknown kid', async () => {
    const { load, calls } = loader(set('a'), set('b', 'a'));
    const jwks = new JwksCache(load);
    await jwks.resolverFor('a');
    const resolvers = await Promise.all([jwks.resolverFor('b'), jwks.resolverFor('b'), jwks.resolverFor('b')]);
    expect(resolvers.every((resolve) => resolve !== null)).toBe(true);
    expect(calls.count).toBe(2);
  });

  it('answers null for a kid still unknown after one refetch, and never takes an enc key for a signing key', async () => {
    const { load, calls } = loader(set('a'));
    const jwks = new JwksCache(load);
    expect(await jwks.resolverFor('enc')).toBeNull();
    expect(calls.count).toBe(2);
    expect(await jwks.resolverFor(undefined)).toBeNull();
    expect(calls.count).toBe(3);
  });

  it('does not cache a failed fetch', async () => {
    const { load } = loader(new Error('down'), set('a'));
    const jwks = new JwksCache(load);
    await expect(jwks.resolverFor('a')).rejects.toThrow('down');
    expect(await jwks.resolverFor('a')).not.toBeNull();
  });
});
