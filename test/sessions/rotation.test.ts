import { decideRotation } from '../../src/sessions/rotation.js';
import type { RefreshTokenFacts } from '../../src/store/types.js';
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
