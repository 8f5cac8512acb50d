import { createHash } from 'node:crypto';
import { ACCEPT_POLICY, type AccessClaims } from './policy.js';

/** How many verified bearers are remembered at most. */
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * Remembers bearers that passed the cryptographic half of the accept pipeline (decrypt, verify,
 * claims), keyed by their SHA-256, until the claims expire. Clients reuse one sealed bearer until
 * their access token changes, so a warm request skips the ECDH and signature work; the session and
 * user checks still run on every request. Only exact strings already accepted can hit; the cache
 * is cleared whenever the server keys change.
 */
export class AcceptCache {
  readonly #entries = new Map<string, { claims: AccessClaims; until: number }>();
  #keyStamp: string | undefined;

  constructor(private readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  /** The claims of a bearer accepted before, still within its lifetime, or `undefined`. */
  get(bearer: string, keyStamp: string, now = Date.now()): AccessClaims | undefined {
    if (keyStamp !== this.#keyStamp) {
      this.#entries.clear();
      this.#keyStamp = keyStamp;
      return undefined;
    }
    const id = digest(bearer);
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (now >= entry.until) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.claims;
  }

  /** Remembers the claims of a bearer that was just accepted with the keys of `keyStamp`. */
  set(bearer: string, keyStamp: string, claims: AccessClaims): void {
    if (keyStamp !== this.#keyStamp) return;
    if (this.#entries.size >= this.maxEntries) {
      // Evict the oldest insertion; a Map iterates in insertion order.
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    // jose's own limits: exp with the clock tolerance, and iat plus the maximum age is no later.
    const until = (claims.exp + ACCEPT_POLICY.clockToleranceSeconds) * 1000;
    this.#entries.set(digest(bearer), { claims, until });
  }
}

function digest(bearer: string): string {
  return createHash('sha256').update(bearer).digest('base64url');
}
