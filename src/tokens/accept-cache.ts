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

/** How many characters at a bearer's end make its fingerprint: 4 × 7 bits, a small integer (no allocation). */
const FINGERPRINT_CHARACTERS = 4;

/**
 * A number standing for a bearer in the admission set: its last characters, 7 bits each. A sealed
 * bearer ends with its AES-GCM tag, which is random per sealing, so two sealings rarely share it (one
 * chance in about 27 000 against a full set of 10 000); when two do, the only effect is that the
 * second is remembered one acceptance early.
 */
function fingerprint(bearer: string): number {
  let value = 0;
  for (let i = Math.max(0, bearer.length - FINGERPRINT_CHARACTERS); i < bearer.length; i++) value = (value << 7) | (bearer.charCodeAt(i) & 127);
  return value;
}

/**
 * Remembers bearers that passed the cryptographic half of the accept pipeline (decrypt, verify,
 * claims), keyed by the bearer string itself, until the claims expire. Clients reuse one sealed
 * bearer until their access token changes, so a warm request skips the ECDH and signature work (and
 * any hashing: the map compares the exact string); the session and user checks still run on every
 * request. Only exact strings already accepted can hit; the cache is cleared whenever the server
 * keys change.
 *
 * A bearer is remembered from its second acceptance on. A client that seals afresh for every request
 * (allowed, and what the bench's cold case does) would otherwise fill the cache with strings never
 * seen again, evicting the bearers clients do reuse and keeping megabytes for the garbage collector
 * to trace: the first acceptance only notes a number standing for the bearer ({@link fingerprint}).
 */
export class AcceptCache {
  readonly #entries = new Map<string, Entry>();
  /**
   * Fingerprints of bearers accepted once, in two generations of at most half the entries each: when
   * the newer fills up, the older is dropped (no scan of a set for its oldest member).
   */
  #seenNow = new Set<number>();
  #seenBefore = new Set<number>();
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
      this.#seenNow = new Set();
      this.#seenBefore = new Set();
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

  /**
   * Notes that a bearer was just accepted with the keys of `keyStamp`: its claims are remembered if it
   * was accepted before (since the last change of keys), else only its fingerprint.
   */
  set(bearer: string, keyStamp: string, claims: AccessClaims): void {
    if (keyStamp !== this.#keyStamp || bearer.length > this.maxCharacters) return;
    const seen = fingerprint(bearer);
    if (!this.#seenNow.delete(seen) && !this.#seenBefore.delete(seen) && !this.#entries.has(bearer)) {
      this.#seenNow.add(seen);
      if (this.#seenNow.size >= Math.max(1, this.maxEntries >> 1)) {
        this.#seenBefore = this.#seenNow;
        this.#seenNow = new Set();
      }
      return;
    }
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
