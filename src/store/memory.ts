import { isLive, type RefreshAdvance, type RefreshTokenFacts, type SessionRecord, type SessionStore } from './types.js';

/** How often remembering a proof id also forgets the ids past their end. */
const PROOF_SWEEP_INTERVAL_MS = 10_000;

interface RefreshEntry {
  readonly sessionId: string;
  supersededAt: number | null;
}

/**
 * The reference {@link SessionStore}: plain maps in this process. For unit tests and `STORE=memory`
 * (refused when sessions must survive restarts). Every method runs without an `await` in its body,
 * so each is atomic on Node's single thread.
 */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #current = new Map<string, string>();
  readonly #refresh = new Map<string, RefreshEntry>();
  /** DPoP proof ids and when each may be forgotten. */
  readonly #proofIds = new Map<string, number>();
  #nextProofSweep = 0;

  async createSession(session: SessionRecord, refreshHash: string): Promise<void> {
    this.#sessions.set(session.id, { ...session });
    this.#current.set(session.id, refreshHash);
    this.#refresh.set(refreshHash, { sessionId: session.id, supersededAt: null });
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    return session && now < session.expiresAt ? { ...session } : null;
  }

  async findRefreshToken(hash: string, now: number): Promise<RefreshTokenFacts | null> {
    const entry = this.#refresh.get(hash);
    const session = entry && this.#sessions.get(entry.sessionId);
    if (!entry || !session || now >= session.expiresAt) return null;
    return { session: { ...session }, currentHash: this.#current.get(session.id) as string, supersededAt: entry.supersededAt };
  }

  async advanceRefreshToken(advance: RefreshAdvance): Promise<SessionRecord | null> {
    const session = this.#sessions.get(advance.sessionId);
    if (!session || !isLive(session, advance.now) || this.#current.get(session.id) !== advance.expectedHash) return null;
    const current = this.#refresh.get(advance.expectedHash);
    if (current && current.supersededAt === null) current.supersededAt = advance.now;
    this.#refresh.set(advance.nextHash, { sessionId: session.id, supersededAt: null });
    this.#current.set(session.id, advance.nextHash);
    const updated: SessionRecord = {
      ...session,
      lastUsedAt: advance.now,
      idleExpiresAt: Math.min(advance.idleExpiresAt, session.expiresAt),
    };
    this.#sessions.set(session.id, updated);
    return { ...updated };
  }

  async touchSession(id: string, now: number): Promise<void> {
    const session = this.#sessions.get(id);
    if (session) this.#sessions.set(id, { ...session, lastUsedAt: now });
  }

  async revokeSession(id: string, now: number): Promise<boolean> {
    const session = this.#sessions.get(id);
    if (!session || session.revokedAt !== null) return false;
    this.#sessions.set(id, { ...session, revokedAt: now });
    return true;
  }

  async revokeUserSessions(userId: string, now: number, exceptId?: string): Promise<string[]> {
    const revoked: string[] = [];
    for (const session of this.#sessions.values()) {
      if (session.userId === userId && session.id !== exceptId && session.revokedAt === null) {
        this.#sessions.set(session.id, { ...session, revokedAt: now });
        revoked.push(session.id);
      }
    }
    return revoked;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return [...this.#sessions.values()]
      .filter((s) => s.userId === userId && isLive(s, now))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((s) => ({ ...s }));
  }

  async purgeExpired(now: number): Promise<number> {
    let purged = 0;
    for (const session of [...this.#sessions.values()]) {
      if (!isLive(session, now)) {
        this.#sessions.delete(session.id);
        this.#current.delete(session.id);
        purged++;
      }
    }
    for (const [hash, entry] of this.#refresh) if (!this.#sessions.has(entry.sessionId)) this.#refresh.delete(hash);
    this.#sweepProofIds(now);
    return purged;
  }

  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.#nextProofSweep) this.#sweepProofIds(now);
    const until = this.#proofIds.get(id);
    if (until !== undefined && now < until) return false;
    this.#proofIds.set(id, expiresAt);
    return true;
  }

  /** Forgets proof ids past their end; runs at most every {@link PROOF_SWEEP_INTERVAL_MS} from the hot path. */
  #sweepProofIds(now: number): void {
    for (const [id, until] of this.#proofIds) if (now >= until) this.#proofIds.delete(id);
    this.#nextProofSweep = now + PROOF_SWEEP_INTERVAL_MS;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
