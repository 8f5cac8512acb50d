import { createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';

/** The server's key set as fetched, with the key resolver jose verifies against. */
interface Fetched {
  readonly jwks: JSONWebKeySet;
  readonly resolve: ReturnType<typeof createLocalJWKSet>;
}

/**
 * The server's JWKS, fetched on first use and kept until a token names a signing `kid` it does not
 * hold: then it is fetched again, once, so a key rotation on the server is seamless. Concurrent
 * callers share one fetch; a failed fetch is not cached.
 *
 * @example
 * const jwks = new JwksCache(() => getJson('/.well-known/jwks.json'));
 * const resolve = await jwks.resolverFor('kid-from-the-header');
 */
export class JwksCache {
  #fetched: Promise<Fetched> | null = null;

  /**
   * @param load - Fetches the JWKS document; throws on failure.
   * @example new JwksCache(async () => (await fetch(`${origin}/.well-known/jwks.json`)).json());
   */
  constructor(private readonly load: () => Promise<JSONWebKeySet>) {}

  /**
   * A jose key resolver holding the signing key `kid`, refetching the set once when the cached one
   * lacks it. Answers `null` when the fresh set lacks it too.
   */
  async resolverFor(kid: string | undefined): Promise<Fetched['resolve'] | null> {
    let fetched = await this.#current();
    if (!hasSigningKey(fetched.jwks, kid)) {
      fetched = await this.#refetch(fetched);
      if (!hasSigningKey(fetched.jwks, kid)) return null;
    }
    return fetched.resolve;
  }

  /** The server's current encryption key: the first `use: enc` key (the server lists the current one first). */
  async encryptionKey(): Promise<JWK | undefined> {
    return (await this.#current()).jwks.keys.find((key) => key.use === 'enc');
  }

  #current(): Promise<Fetched> {
    return this.#fetched ?? this.#start();
  }

  /** Starts a new fetch unless another caller already replaced `stale` with one. */
  #refetch(stale: Fetched): Promise<Fetched> {
    const pending = this.#fetched;
    return pending
      ? pending.then((fetched) => (fetched === stale ? this.#startUnlessReplaced(pending) : fetched))
      : this.#start();
  }

  #startUnlessReplaced(pending: Promise<Fetched>): Promise<Fetched> {
    return this.#fetched === pending ? this.#start() : (this.#fetched as Promise<Fetched>);
  }

  #start(): Promise<Fetched> {
    const started = this.load().then((jwks) => ({ jwks, resolve: createLocalJWKSet(jwks) }));
    this.#fetched = started;
    started.catch(() => {
      if (this.#fetched === started) this.#fetched = null;
    });
    return started;
  }
}

function hasSigningKey(jwks: JSONWebKeySet, kid: string | undefined): boolean {
  return kid !== undefined && jwks.keys.some((key) => key.kid === kid && key.use !== 'enc');
}
