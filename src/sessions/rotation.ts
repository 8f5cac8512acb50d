import { AuthError } from '../errors.js';
import { isLive, type RefreshTokenFacts, type SessionRecord, type SessionStore } from '../store/types.js';

/**
 * The one refresh rotation rule, for every store. Stores report facts atomically
 * (`findRefreshToken`) and apply a compare-and-set (`advanceRefreshToken`); the decision is made
 * here, once:
 *
 * - the session's current token: it is rotated;
 * - a token superseded no longer ago than the grace window: a duplicate (two tabs, a lost
 *   response). The session is kept and its current token is rotated in turn, so `nextHash` is the
 *   only live successor however many requests race;
 * - a token superseded longer ago: reuse, probably a stolen token. The whole session is revoked;
 * - an unknown token, or one whose session is revoked or past an end: invalid, nothing changes.
 *
 * @module
 */

/** What the rule decided about a presented token. */
export type RotationDecision = 'current' | 'duplicate' | 'reuse' | 'invalid';

/** The outcome of presenting a refresh token; see {@link rotateRefreshToken}. */
export type RotateResult =
  | { readonly status: 'rotated'; readonly session: SessionRecord; readonly duplicate: boolean }
  | { readonly status: 'reused'; readonly sessionId: string; readonly userId: string }
  | { readonly status: 'invalid' };

/** What a refresh rotation needs besides the tokens. */
export interface RotateOptions {
  readonly now: number;
  /** How long a superseded token may be presented again without revoking the session (ms). */
  readonly graceMs: number;
  /** The session's new idle end (capped at its absolute end by the store). */
  readonly idleExpiresAt: number;
}

/**
 * How many compare-and-set rounds one refresh may take. Each lost round means another request
 * advanced the session, so even 20 requests racing with one token all finish within 20 rounds.
 */
export const MAX_ROTATION_ATTEMPTS = 32;

/**
 * The rule itself, on the facts of one read.
 *
 * @param facts - What the store reported about the presented token (`null`: unknown).
 * @param presentedHash - The presented token's hash.
 * @example decideRotation(facts, hash, Date.now(), 10_000) // 'duplicate'
 */
export function decideRotation(facts: RefreshTokenFacts | null, presentedHash: string, now: number, graceMs: number): RotationDecision {
  if (!facts || !isLive(facts.session, now)) return 'invalid';
  if (facts.currentHash === presentedHash) return 'current';
  if (facts.supersededAt !== null && now - facts.supersededAt <= graceMs) return 'duplicate';
  return 'reuse';
}

/**
 * Presents a refresh token (by hash) and replaces it with `nextHash` by the rule above: reads the
 * facts, decides, and applies the decision with a compare-and-set; when another request advanced
 * the session in between, reads again and decides again.
 *
 * @throws {AuthError} `temporarily_unavailable` when the session kept changing for
 * {@link MAX_ROTATION_ATTEMPTS} rounds (nothing was issued; the client may retry).
 * @throws {import('../errors.js').StoreUnavailableError} when the store cannot answer.
 * @example const result = await rotateRefreshToken(store, presented, next.hash, { now, graceMs, idleExpiresAt });
 */
export async function rotateRefreshToken(store: SessionStore, presentedHash: string, nextHash: string, options: RotateOptions): Promise<RotateResult> {
  const { now } = options;
  for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
    const facts = await store.findRefreshToken(presentedHash, now);
    const decision = decideRotation(facts, presentedHash, now, options.graceMs);
    if (decision === 'invalid' || !facts) return { status: 'invalid' };
    const { session } = facts;
    if (decision === 'reuse') {
      await store.revokeSession(session.id, now);
      return { status: 'reused', sessionId: session.id, userId: session.userId };
    }
    const advanced = await store.advanceRefreshToken({
      sessionId: session.id,
      expectedHash: facts.currentHash,
      nextHash,
      now,
      idleExpiresAt: options.idleExpiresAt,
    });
    if (advanced) return { status: 'rotated', session: advanced, duplicate: decision === 'duplicate' };
  }
  throw new AuthError('temporarily_unavailable', 'The session changed under concurrent refreshes; retry shortly');
}
