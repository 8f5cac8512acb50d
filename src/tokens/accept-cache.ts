import { ACCEPT_POLICY, type AccessClaims } from './policy.js';

/** How many verified bearers are remembered at most. */
const DEFAULT_MAX_ENTRIES = 10_000;
/**
 * How many characters of bearers are remembered at most (a sealed bearer is under 1 KiB; one padded
 * with `apu`/`apv` up to the 8 KiB limit counts for what it is), so the memory stays bounded.
 */
const DEFAULT_MAX_CHARACTERS = 8 * 1024 * 1024;

interface Entry {
  readonly claims: AccessClaims;
  readonly until: number;
}

/**
 * Remembers bearers that passed the cryptographic half of the accept pipeline (decrypt, verify,
 * claims), keyed by the bearer string itself, until the claims expire. Clients reuse one sealed
 * bearer until their access token changes, so a warm request skips the ECDH and signature work (and
 * any hashing: the map compares the exact string); the session and user checks still run on every
 * request. Only exact strings already accepted can hit; the cache is cleared whenever the server
 * keys change.
 */
export class AcceptCache {
  readonly #entries = new Map<string, Entry>();
  #characters = 0;
  #keyStamp: string | undefined;

  /**
   * @param maxEntries - How many bearers are remembered at most.
   * @param maxCharacters - How many characters of bearers are remembered at most.
   */
  constructor(
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
    private readonly maxCharacters = DEFAULT_MAX_CHARACTERS,
  ) {}

  /** The claims of a bearer accepted before, still within its lifetime, or `undefined`. */
  get(bearer: string, keyStamp: string, now = Date.now()): AccessClaims | undefined {
    if (keyStamp !== this.#keyStamp) {
      this.#entries.clear();
      this.#characters = 0;
      this.#keyStamp = keyStamp;
      return undefined;
    }
    const entry = this.#entries.get(bearer);
    if (!entry) return undefined;
    if (now >= entry.until) {
      this.#forget(bearer);
      return undefined;
    }
    return entry.claims;
  }

  /** Remembers the claims of a bearer that was just accepted with the keys of `keyStamp`. */
  set(bearer: string, keyStamp: string, claims: AccessClaims): void {
    if (keyStamp !== this.#keyStamp || bearer.length > this.maxCharacters) return;
    this.#forget(bearer);
    // Evict the oldest insertions; a Map iterates in insertion order.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size < this.maxEntries && this.#characters + bearer.length <= this.maxCharacters) break;
      this.#forget(oldest);
    }
    // jose's own limits: exp with the clock tolerance, and iat plus the maximum age is no later.
    const until = (claims.exp + ACCEPT_POLICY.clockToleranceSeconds) * 1000;
    this.#entries.set(bearer, { claims, until });
    this.#characters += bearer.length;
  }

  #forget(bearer: string): void {
    if (this.#entries.delete(bearer)) this.#characters -= bearer.length;
  }
}
