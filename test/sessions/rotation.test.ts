import { decideRotation, MAX_ROTATION_ATTEMPTS, rotateRefreshToken } from '../../src/sessions/rotation.js';
import { MemorySessionStore } from '../../src/store/memory.js';
import type { RefreshAdvance, RefreshTokenFacts, SessionRecord } from '../../src/store/types.js';
import { at } from '../store/contract.js';
import { newHash, newSession } from '../store/contract.js';

const GRACE = 10_000;

/** Facts about `presented` in a session live from `t` for an hour, whose current token is `current`. */
function facts(current: string, supersededAt: number | null, t: number, revokedAt: number | null = null): RefreshTokenFacts {
  return {
    session: newSession({ createdAt: t, lastUsedAt: t, expiresAt: t + 3_600_000, idleExpiresAt: t + 1_800_000, revokedAt }),
    currentHash: current,
    supersededAt,
  };
}

describe('the refresh rotation rule', () => {
  const t = 1_700_000_000_000;
  const presented = newHash();

  it('rotates the current token', () => {
    expect(decideRotation(facts(presented, null, t), presented, t + 1, GRACE)).toBe('current');
  });

  it('treats a token superseded no longer ago than the grace window as a duplicate', () => {
    expect(decideRotation(facts(newHash(), t, t), presented, t + GRACE, GRACE)).toBe('duplicate');
  });

  it('treats a token superseded longer ago than the grace window as reuse', () => {
    expect(decideRotation(facts(newHash(), t, t), presented, t + GRACE + 1, GRACE)).toBe('reuse');
  });

  it('treats a token that is not current and was never superseded as reuse', () => {
    expect(decideRotation(facts(newHash(), null, t), presented, t + 1, GRACE)).toBe('reuse');
  });

  it('refuses an unknown token, a revoked session and a session past either end', () => {
    expect(decideRotation(null, presented, t, GRACE)).toBe('invalid');
    expect(decideRotation(facts(presented, null, t, t), presented, t + 1, GRACE)).toBe('invalid');
    expect(decideRotation(facts(presented, null, t), presented, t + 1_800_000, GRACE)).toBe('invalid');
    expect(decideRotation(facts(presented, null, t), presented, t + 3_600_000, GRACE)).toBe('invalid');
  });

  it('gives no grace at all with a zero window', () => {
    expect(decideRotation(facts(newHash(), t, t), presented, t, 0)).toBe('duplicate');
    expect(decideRotation(facts(newHash(), t, t), presented, t + 1, 0)).toBe('reuse');
  });
});

describe('rotating', () => {
  it('reports a rotation of the current token, and of a duplicate within the grace window, with the session advanced', async () => {
    const store = new MemorySessionStore();
    const session = newSession();
    const first = newHash();
    const second = newHash();
    await store.createSession(session, first);
    const rotated = await rotateRefreshToken(store, first, second, at(session.createdAt + 1));
    expect(rotated).toMatchObject({ status: 'rotated', duplicate: false, session: { id: session.id } });
    const duplicate = await rotateRefreshToken(store, first, newHash(), at(session.createdAt + 2));
    expect(duplicate).toMatchObject({ status: 'rotated', duplicate: true, session: { id: session.id } });
  });
});

describe('rotating against a session that keeps changing', () => {
  /** A store where another request always advances the session first. */
  class AlwaysLosing extends MemorySessionStore {
    advances = 0;
    override async advanceRefreshToken(_advance: RefreshAdvance): Promise<SessionRecord | null> {
      this.advances++;
      return null;
    }
  }

  it('gives up after a bounded number of rounds with a retryable 503 code, issuing nothing', async () => {
    const store = new AlwaysLosing();
    const session = newSession();
    const token = newHash();
    await store.createSession(session, token);
    const outcome = await rotateRefreshToken(store, token, newHash(), at(session.createdAt + 1)).catch((error: unknown) => error);
    expect(outcome).toMatchObject({ name: 'AuthError', code: 'temporarily_unavailable', description: 'The session changed under concurrent refreshes; retry shortly' });
    expect(store.advances).toBe(MAX_ROTATION_ATTEMPTS);
    expect(await store.findRefreshToken(token, session.createdAt + 2)).toMatchObject({ currentHash: token, supersededAt: null });
  });
});
