import { randomBytes, randomUUID } from 'node:crypto';
import { rotateRefreshToken, type RotateOptions, type RotateResult } from '../../src/sessions/rotation.js';
import type { SessionRecord, SessionStore } from '../../src/store/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const GRACE = 10_000;

/** A session of a (by default fresh) user, live for an hour from now. */
export function newSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    userId: `user-${randomUUID()}`,
    clientJwk: { kty: 'OKP', crv: 'X25519', x: randomBytes(32).toString('base64url') },
    clientKid: randomBytes(32).toString('base64url'),
    dpopJkt: null,
    userAgent: 'contract-suite/1.0',
    epoch: 'epoch-1',
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + HOUR,
    idleExpiresAt: now + 30 * MINUTE,
    revokedAt: null,
    ...overrides,
  };
}

/** A refresh token hash as the service makes them (SHA-256, base64url). */
export function newHash(): string {
  return randomBytes(32).toString('base64url');
}

/** Rotation options at `now` with the default grace window and an idle end 30 minutes later. */
export function at(now: number, overrides: Partial<RotateOptions> = {}): RotateOptions {
  return { now, graceMs: GRACE, idleExpiresAt: now + 30 * MINUTE, ...overrides };
}

/** How a backend that several instances share opens a second instance on the same data. */
export interface ContractOptions {
  /**
   * Opens another store (its own connection, as another instance would) over the same data as
   * `store`. Backends shared by a fleet give one, so races really interleave across connections.
   */
  readonly peerOf?: (store: SessionStore) => Promise<SessionStore>;
}

/**
 * The {@link SessionStore} contract: every semantic written in its JSDoc, and the one rotation rule
 * (`sessions/rotation.ts`) on top of it, run against one implementation. `open` returns a fresh,
 * empty store for each test; the suite closes it. Times are data: the store reads no clock.
 *
 * @example describeStoreContract('memory', async () => new MemorySessionStore());
 */
export function describeStoreContract(name: string, open: () => Promise<SessionStore>, options: ContractOptions = {}): void {
  describe(`${name} session store contract`, () => {
    let store: SessionStore;
    const extra: SessionStore[] = [];
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
      for (const peer of extra.splice(0)) await peer.close();
    });

    /** The rotation rule over this store. */
    const rotate = (presented: string, next: string, options: RotateOptions) => rotateRefreshToken(store, presented, next, options);
    /** A live session read at a time inside its life. */
    const read = (id: string) => store.getSession(id, Date.now());

    /** Creates a session with its first refresh token. */
    async function created(overrides: Partial<SessionRecord> = {}): Promise<{ session: SessionRecord; token: string }> {
      const session = newSession(overrides);
      const token = newHash();
      await store.createSession(session, token);
      return { session, token };
    }

    describe('sessions', () => {
      it('returns a created session exactly as it was stored', async () => {
        const { session } = await created();
        const anonymous = (await created({ userAgent: null })).session;
        const bound = (await created({ dpopJkt: randomBytes(32).toString('base64url') })).session;
        expect(await read(session.id)).toEqual(session);
        expect(await read(anonymous.id)).toEqual(anonymous);
        expect(await read(bound.id)).toEqual(bound);
      });

      it('returns null for an unknown session id', async () => {
        await created();
        expect(await read(randomUUID())).toBeNull();
      });

      it('returns null for a session past its absolute end', async () => {
        const now = Date.now();
        const { session } = await created({ createdAt: now - 2 * HOUR, lastUsedAt: now - 2 * HOUR, expiresAt: now - 1, idleExpiresAt: now - 1 });
        expect(await read(session.id)).toBeNull();
      });

      it('returns a revoked session with the time it was revoked', async () => {
        const { session } = await created();
        const now = Date.now();
        await store.revokeSession(session.id, now);
        expect(await read(session.id)).toEqual({ ...session, revokedAt: now });
      });

      it('records a touch without reviving or extending the session', async () => {
        const { session } = await created();
        await store.touchSession(session.id, session.createdAt + 5000);
        expect(await read(session.id)).toEqual({ ...session, lastUsedAt: session.createdAt + 5000 });
        const unknown = randomUUID();
        await store.touchSession(unknown, Date.now());
        expect(await read(unknown)).toBeNull();
      });

      it('creates nothing when an unknown session is touched: there is nothing to revoke or purge', async () => {
        const unknown = randomUUID();
        const now = Date.now();
        await store.touchSession(unknown, now);
        expect(await store.revokeSession(unknown, now + 1)).toBe(false);
        expect(await store.purgeExpired(now + 2)).toBe(0);
      });

      it('returns a session until the millisecond before its absolute end, and null from that millisecond', async () => {
        const { session } = await created();
        const revoked = (await created()).session;
        await store.revokeSession(revoked.id, revoked.createdAt + 1);
        expect(await store.getSession(session.id, session.expiresAt - 1)).toEqual(session);
        expect(await store.getSession(revoked.id, revoked.expiresAt - 1)).toEqual({ ...revoked, revokedAt: revoked.createdAt + 1 });
        expect(await store.getSession(session.id, session.expiresAt)).toBeNull();
        expect(await store.getSession(revoked.id, revoked.expiresAt)).toBeNull();
      });
    });

    describe('refresh token rotation', () => {
      it('rotates the current token, and the next token becomes the current one', async () => {
        const { session, token } = await created();
        const next = newHash();
        const first = await rotate(token, next, at(session.createdAt + 1000));
        expect(first).toEqual({
          status: 'rotated',
          duplicate: false,
          session: { ...session, lastUsedAt: session.createdAt + 1000, idleExpiresAt: session.createdAt + 1000 + 30 * MINUTE },
        });
        const second = await rotate(next, newHash(), at(session.createdAt + 2000));
        expect(second).toMatchObject({ status: 'rotated', duplicate: false });
        expect(await read(session.id)).toMatchObject({ lastUsedAt: session.createdAt + 2000, revokedAt: null });
      });

      it('treats a token presented again within the grace window as a duplicate and keeps the session', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        await rotate(token, newHash(), at(t + 1000));
        const latest = newHash();
        const again = await rotate(token, latest, at(t + 1000 + GRACE));
        expect(again).toMatchObject({ status: 'rotated', duplicate: true, session: { id: session.id, revokedAt: null } });
        // The duplicate's successor is the one live token: it rotates as the current one.
        expect(await rotate(latest, newHash(), at(t + 2000 + GRACE))).toMatchObject({ status: 'rotated', duplicate: false });
      });

      it('leaves the successor of the first presentation dead once a duplicate has rotated again', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        const earlier = newHash();
        await rotate(token, earlier, at(t + 1000));
        await rotate(token, newHash(), at(t + 2000));
        expect(await rotate(earlier, newHash(), at(t + 2001 + GRACE))).toEqual({ status: 'reused', sessionId: session.id, userId: session.userId });
      });

      it('revokes the whole session when a rotated token is presented after the grace window', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        const newest = newHash();
        await rotate(token, newest, at(t + 1000));
        const reuse = t + 1001 + GRACE;
        expect(await rotate(token, newHash(), at(reuse))).toEqual({ status: 'reused', sessionId: session.id, userId: session.userId });
        expect(await read(session.id)).toMatchObject({ revokedAt: reuse });
        expect(await rotate(newest, newHash(), at(reuse + 1))).toEqual({ status: 'invalid' });
        expect(await store.listSessions(session.userId, reuse + 1)).toEqual([]);
      });

      it('refuses an unknown token and changes nothing', async () => {
        const { session, token } = await created();
        const next = newHash();
        expect(await rotate(newHash(), next, at(session.createdAt + 1000))).toEqual({ status: 'invalid' });
        expect(await rotate(next, newHash(), at(session.createdAt + 1000))).toEqual({ status: 'invalid' });
        expect(await read(session.id)).toEqual(session);
        expect(await rotate(token, newHash(), at(session.createdAt + 2000))).toMatchObject({ status: 'rotated', duplicate: false });
      });

      it('refuses a token of a revoked session and creates no successor', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        await store.revokeSession(session.id, t + 500);
        const next = newHash();
        expect(await rotate(token, next, at(t + 1000))).toEqual({ status: 'invalid' });
        expect(await rotate(next, newHash(), at(t + 1001))).toEqual({ status: 'invalid' });
        expect(await read(session.id)).toEqual({ ...session, revokedAt: t + 500 });
      });

      it('refuses a token of a session past its idle end and leaves the session as it was', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        const next = newHash();
        expect(await rotate(token, next, at(session.idleExpiresAt))).toEqual({ status: 'invalid' });
        expect(await read(session.id)).toEqual(session);
        expect(await rotate(next, newHash(), at(t + 1000))).toEqual({ status: 'invalid' });
        expect(await rotate(token, newHash(), at(t + 1000))).toMatchObject({ status: 'rotated', duplicate: false });
      });

      it('moves the idle end forward but never past the absolute end', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        const next = newHash();
        const moved = await rotate(token, next, at(t + 1000, { idleExpiresAt: t + 45 * MINUTE }));
        expect(moved).toMatchObject({ status: 'rotated', session: { idleExpiresAt: t + 45 * MINUTE } });
        const capped = await rotate(next, newHash(), at(t + 2000, { idleExpiresAt: session.expiresAt + HOUR }));
        expect(capped).toMatchObject({ status: 'rotated', session: { idleExpiresAt: session.expiresAt, expiresAt: session.expiresAt } });
        expect(await read(session.id)).toMatchObject({ idleExpiresAt: session.expiresAt });
      });

      it('gives one token racing 20 times exactly one live successor', async () => {
        const { session, token } = await created();
        const t = session.createdAt + 1000;
        const successors = Array.from({ length: 20 }, newHash);
        const results = await Promise.all(successors.map((next) => rotate(token, next, at(t))));
        expect(results.every((r) => r.status === 'rotated' && r.session.id === session.id)).toBe(true);
        expect(results.filter((r) => r.status === 'rotated' && !r.duplicate)).toHaveLength(1);
        // After the grace window exactly one successor may continue the chain: presenting them in turn
        // gives at most one rotation, then one reuse (which revokes the session), then only refusals.
        const probes: RotateResult['status'][] = [];
        for (const next of successors) probes.push((await rotate(next, newHash(), at(t + GRACE + 1))).status);
        const firstReuse = probes.indexOf('reused');
        expect(firstReuse === 0 || (firstReuse === 1 && probes[0] === 'rotated')).toBe(true);
        expect(probes.slice(firstReuse + 1).every((status) => status === 'invalid')).toBe(true);
        expect(await read(session.id)).toMatchObject({ revokedAt: t + GRACE + 1 });
      });
    });

    describe('refresh token facts and compare-and-set', () => {
      it('reports the facts of a current token, and of a superseded one after an advance', async () => {
        const { session, token } = await created();
        const t = session.createdAt + 1000;
        expect(await store.findRefreshToken(token, t)).toEqual({ session, currentHash: token, supersededAt: null });
        const next = newHash();
        const advanced = await store.advanceRefreshToken({ sessionId: session.id, expectedHash: token, nextHash: next, now: t, idleExpiresAt: t + MINUTE });
        const moved = { ...session, lastUsedAt: t, idleExpiresAt: t + MINUTE };
        expect(advanced).toEqual(moved);
        expect(await store.findRefreshToken(token, t + 1)).toEqual({ session: moved, currentHash: next, supersededAt: t });
        expect(await store.findRefreshToken(next, t + 1)).toEqual({ session: moved, currentHash: next, supersededAt: null });
      });

      it('reports nothing for an unknown token or a session past its absolute end, and the facts of a revoked one', async () => {
        const { session, token } = await created();
        expect(await store.findRefreshToken(newHash(), session.createdAt)).toBeNull();
        expect(await store.findRefreshToken(token, session.expiresAt)).toBeNull();
        await store.revokeSession(session.id, session.createdAt + 1);
        expect(await store.findRefreshToken(token, session.createdAt + 2)).toMatchObject({ session: { revokedAt: session.createdAt + 1 }, currentHash: token });
      });

      it('refuses an advance from a token that is no longer current, or of a session that is not live, changing nothing', async () => {
        const { session, token } = await created();
        const t = session.createdAt + 1000;
        const advance = (expectedHash: string, now = t) =>
          store.advanceRefreshToken({ sessionId: session.id, expectedHash, nextHash: newHash(), now, idleExpiresAt: now + MINUTE });
        expect(await advance(newHash())).toBeNull();
        expect(await advance(token, session.idleExpiresAt)).toBeNull();
        expect(await read(session.id)).toEqual(session);
        expect(await advance(token)).not.toBeNull();
        expect(await advance(token)).toBeNull();
        const { session: other, token: otherToken } = await created();
        await store.revokeSession(other.id, t);
        expect(await store.advanceRefreshToken({ sessionId: other.id, expectedHash: otherToken, nextHash: newHash(), now: t, idleExpiresAt: t })).toBeNull();
        expect(await store.findRefreshToken(otherToken, t)).toMatchObject({ currentHash: otherToken, supersededAt: null });
      });

      it('lets exactly one of 20 racing advances from one current token win', async () => {
        const { session, token } = await created();
        const t = session.createdAt + 1000;
        const successors = Array.from({ length: 20 }, newHash);
        const results = await Promise.all(
          successors.map((nextHash) => store.advanceRefreshToken({ sessionId: session.id, expectedHash: token, nextHash, now: t, idleExpiresAt: t + MINUTE })),
        );
        const winners = successors.filter((_, i) => results[i] !== null);
        expect(winners).toHaveLength(1);
        expect((await store.findRefreshToken(token, t))?.currentHash).toBe(winners[0]);
        for (const loser of successors.filter((hash) => hash !== winners[0])) expect(await store.findRefreshToken(loser, t)).toBeNull();
      });

      if (options.peerOf) {
        const peerOf = options.peerOf;
        it('lets exactly one of 20 rotations racing on two instances leave a live successor', async () => {
          const peer = await peerOf(store);
          extra.push(peer);
          const { session, token } = await created();
          const t = session.createdAt + 1000;
          const successors = Array.from({ length: 20 }, newHash);
          const results = await Promise.all(
            successors.map((next, i) => rotateRefreshToken(i % 2 === 0 ? store : peer, token, next, at(t))),
          );
          expect(results.every((r) => r.status === 'rotated')).toBe(true);
          expect(results.filter((r) => r.status === 'rotated' && !r.duplicate)).toHaveLength(1);
          const current = (await peer.findRefreshToken(token, t))?.currentHash;
          expect(successors.filter((hash) => hash === current)).toHaveLength(1);
          // Every other successor was superseded: after the grace window each one is a reuse.
          const stale = successors.find((hash) => hash !== current) as string;
          expect(await rotateRefreshToken(peer, stale, newHash(), at(t + GRACE + 1))).toMatchObject({ status: 'reused' });
        });

        it('shows a revocation made on one instance to the other within 100 ms', async () => {
          const peer = await peerOf(store);
          extra.push(peer);
          const { session } = await created();
          const t = session.createdAt;
          expect(await peer.getSession(session.id, t + 1)).toEqual(session);
          await store.revokeSession(session.id, t + 2);
          const revokedAt = performance.now();
          // The send time of the last read that still showed the session live, from the revocation.
          let servedAfter = 0;
          for (;;) {
            const sent = performance.now();
            if ((await peer.getSession(session.id, t + 3))?.revokedAt === t + 2) break;
            servedAfter = sent - revokedAt;
            if (servedAfter > 1000) break;
            // Let I/O in (a notice on a subscription), as requests arriving over the network would.
            await new Promise((resolve) => setImmediate(resolve));
          }
          expect(servedAfter).toBeLessThan(100);
        });
      }
    });

    describe('revocation', () => {
      it('revokes a live session once and reports true only that time', async () => {
        const { session } = await created();
        const now = Date.now();
        expect(await store.revokeSession(session.id, now)).toBe(true);
        expect(await store.revokeSession(session.id, now + 1000)).toBe(false);
        expect(await read(session.id)).toMatchObject({ revokedAt: now });
        expect(await store.revokeSession(randomUUID(), now)).toBe(false);
      });

      it("revokes every live session of a user except the one kept, and no other user's", async () => {
        const userId = `user-${randomUUID()}`;
        const [a, kept, c] = [await created({ userId }), await created({ userId }), await created({ userId })];
        const stranger = await created();
        const now = Date.now();
        const revoked = await store.revokeUserSessions(userId, now, kept.session.id);
        expect([...revoked].sort()).toEqual([a.session.id, c.session.id].sort());
        expect(await read(a.session.id)).toMatchObject({ revokedAt: now });
        expect(await read(kept.session.id)).toMatchObject({ revokedAt: null });
        expect(await read(stranger.session.id)).toMatchObject({ revokedAt: null });
        expect(await store.revokeUserSessions(userId, now + 1)).toEqual([kept.session.id]);
        expect(await store.revokeUserSessions(userId, now + 2)).toEqual([]);
        expect(await rotate(a.token, newHash(), at(now + 3))).toEqual({ status: 'invalid' });
      });
    });

    describe('listing and purging', () => {
      it('lists only the live sessions of the user, newest first', async () => {
        const now = Date.now();
        const userId = `user-${randomUUID()}`;
        const oldest = await created({ userId, createdAt: now - 3000 });
        const newest = await created({ userId, createdAt: now - 1000 });
        const middle = await created({ userId, createdAt: now - 2000 });
        const revoked = await created({ userId, createdAt: now - 500 });
        await store.revokeSession(revoked.session.id, now);
        await created({ userId, createdAt: now - 400, idleExpiresAt: now });
        await created();
        const listed = await store.listSessions(userId, now);
        expect(listed).toEqual([newest.session, middle.session, oldest.session]);
        expect(await store.listSessions(`user-${randomUUID()}`, now)).toEqual([]);
      });

      it('purges sessions that are no longer live, with their refresh tokens, and keeps live ones', async () => {
        const now = Date.now();
        const live = await created();
        const revoked = await created();
        const idle = await created({ idleExpiresAt: now - 1 });
        await store.revokeSession(revoked.session.id, now - 1);
        expect(await store.purgeExpired(now)).toBe(2);
        expect(await read(live.session.id)).toEqual(live.session);
        expect(await read(revoked.session.id)).toBeNull();
        expect(await read(idle.session.id)).toBeNull();
        expect(await rotate(revoked.token, newHash(), at(now))).toEqual({ status: 'invalid' });
        expect(await rotate(live.token, newHash(), at(now))).toMatchObject({ status: 'rotated' });
        expect(await store.purgeExpired(now)).toBe(0);
      });

      it('deletes every refresh token of a purged session: none comes back with a new session of the same id', async () => {
        const { session, token } = await created();
        const t = session.createdAt;
        const next = newHash();
        await rotate(token, next, at(t + 1000));
        await store.revokeSession(session.id, t + 2000);
        expect(await store.purgeExpired(t + 3000)).toBe(1);
        const reopened = { ...session, createdAt: t + 4000, lastUsedAt: t + 4000 };
        const fresh = newHash();
        await store.createSession(reopened, fresh);
        expect(await store.findRefreshToken(token, t + 5000)).toBeNull();
        expect(await store.findRefreshToken(next, t + 5000)).toBeNull();
        expect(await rotate(next, newHash(), at(t + 5000))).toEqual({ status: 'invalid' });
        expect(await store.findRefreshToken(fresh, t + 5000)).toEqual({ session: reopened, currentHash: fresh, supersededAt: null });
      });
    });

    describe('DPoP proof ids', () => {
      it('remembers a proof id once: true the first time, false while it is remembered', async () => {
        const now = Date.now();
        const [id, other] = [newHash(), newHash()];
        expect(await store.rememberProofId(id, now + MINUTE, now)).toBe(true);
        expect(await store.rememberProofId(id, now + MINUTE, now + 1)).toBe(false);
        expect(await store.rememberProofId(id, now + 2 * MINUTE, now + 2)).toBe(false);
        expect(await store.rememberProofId(other, now + MINUTE, now)).toBe(true);
      });

      it('remembers an id anew once its end has passed, and purging keeps ids that are not past it', async () => {
        const now = Date.now();
        const [ended, live] = [newHash(), newHash()];
        expect(await store.rememberProofId(ended, now - 1, now - MINUTE)).toBe(true);
        expect(await store.rememberProofId(live, now + MINUTE, now)).toBe(true);
        await store.purgeExpired(now);
        expect(await store.rememberProofId(ended, now + MINUTE, now)).toBe(true);
        expect(await store.rememberProofId(ended, now + MINUTE, now)).toBe(false);
        expect(await store.rememberProofId(live, now + MINUTE, now)).toBe(false);
      });

      it('refuses an id until the millisecond before its end, and takes it anew at that millisecond', async () => {
        // Redis forgets an id by its own clock (PXAT), not by `now`: the end that is reached here is
        // already past by every clock, the end that is not reached lies ahead by every clock.
        const now = Date.now();
        const [ended, kept] = [newHash(), newHash()];
        const past = now - 1;
        expect(await store.rememberProofId(ended, past, past - 1000)).toBe(true);
        expect(await store.rememberProofId(ended, now + HOUR, past)).toBe(true);
        expect(await store.rememberProofId(ended, now + HOUR, past + 1)).toBe(false);
        const future = now + HOUR;
        expect(await store.rememberProofId(kept, future, future - 1000)).toBe(true);
        expect(await store.rememberProofId(kept, future + MINUTE, future - 1)).toBe(false);
      });

      it('gives one proof id presented 20 times at once exactly one true', async () => {
        const now = Date.now();
        const id = newHash();
        const answers = await Promise.all(Array.from({ length: 20 }, () => store.rememberProofId(id, now + MINUTE, now)));
        expect(answers.filter(Boolean)).toHaveLength(1);
      });

      if (options.peerOf) {
        const peerOf = options.peerOf;
        it('gives one proof id presented 20 times at once on two instances exactly one true', async () => {
          const peer = await peerOf(store);
          extra.push(peer);
          const now = Date.now();
          const id = newHash();
          const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : peer).rememberProofId(id, now + MINUTE, now)));
          expect(answers.filter(Boolean)).toHaveLength(1);
          expect(await peer.rememberProofId(id, now + MINUTE, now + 1)).toBe(false);
        });
      }
    });

    it('answers ping while it can answer', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
