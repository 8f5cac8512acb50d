import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import type { AuthError } from '../../src/errors.js';
import { KeyManager } from '../../src/keys/manager.js';
import type { Credentials } from '../../src/sessions/proofs.js';
import { SessionService } from '../../src/sessions/service.js';
import { openDatabase } from '../../src/db/sqlite.js';
import { MemorySessionStore } from '../../src/store/memory.js';
import { SqliteSessionStore } from '../../src/store/sqlite.js';
import type { SessionRecord } from '../../src/store/types.js';
import { parseClientKey } from '../../src/tokens/client-key.js';
import { hashRefreshToken, newRefreshToken } from '../../src/tokens/refresh.js';
import { MemoryUserDirectory } from '../../src/users/memory.js';
import { SqliteUserDirectory } from '../../src/users/sqlite.js';
import { hashPassword } from '../../src/users/password.js';
import { fakeClock } from '../helpers/clock.js';
import { makeClientKey, openAccessToken, sealToServer, type ClientKeyPair } from '../helpers/client.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { accessClaims, sealTo, signInner } from '../helpers/forge.js';
import { tempDir } from '../helpers/runtime.js';

/**
 * The session life cycle in the service itself, on a fake clock and the memory store: what a login
 * stores and answers, what ends a refresh, what a protected request needs of its session and user,
 * and which sessions a user sees and may end. Rows another boot (epoch) or another user left in the
 * shared store are written straight into it, as another instance would.
 */
const PASSWORD = 'correct horse battery';
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const temp = tempDir('jwe-auth-life-cycle-');
/** An idle limit longer than the absolute one: the shorter of the two ends a session. */
const config = loadConfig({ STORE: 'memory', KEYS_DIR: path.join(temp.dir, 'keys'), ACCESS_TOKEN_TTL: '15m', REFRESH_TOKEN_TTL: '8h', SESSION_IDLE_TTL: '2h', REFRESH_REUSE_GRACE: '0s' });
const time = fakeClock();
let keys: KeyManager;
let store: MemorySessionStore;
let users: MemoryUserDirectory;
let service: SessionService;

beforeAll(async () => {
  keys = await KeyManager.create(config);
  store = new MemorySessionStore();
  users = new MemoryUserDirectory();
  service = new SessionService(config, keys, store, users, { clock: time.clock });
});
afterAll(() => temp.remove());

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: AuthError) => error.code ?? error.name);
const reasonOf = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: { reason?: string; message: string }) => error.reason ?? error.message);
const asBearer = (token: string): Credentials => ({ scheme: 'Bearer', token, proof: undefined, htm: 'GET', htu: [] });

async function addUser(): Promise<{ id: string; username: string }> {
  const username = `user-${randomUUID().slice(0, 8)}`;
  return { id: (await users.add(username, await hashPassword(PASSWORD), time.now())).id, username };
}

/** Logs `username` in (through `service` unless told); answers the grant, the client and the sealed bearer. */
async function loggedIn(username: string, userAgent: string | null = 'test', through: SessionService = service) {
  const client = await makeClientKey();
  const grant = await through.login(username, PASSWORD, await parseClientKey(client.publicJwk), userAgent);
  const bearer = await sealToServer(await openAccessToken(grant.body.access_token, client), keys.jwks());
  return { grant, client, bearer, sessionId: grant.body.session_id };
}

/** A session row as another boot or instance would have written it, and a bearer for it signed by this server. */
async function foreignSession(
  client: ClientKeyPair,
  subject: string,
  fields: Partial<SessionRecord> = {},
): Promise<{ session: SessionRecord; bearer: string; refreshToken: string }> {
  const key = await parseClientKey(client.publicJwk);
  const now = time.now();
  const session: SessionRecord = {
    id: randomUUID(),
    userId: subject,
    clientJwk: key.jwk,
    clientKid: key.kid,
    dpopJkt: null,
    userAgent: null,
    epoch: service.epoch,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 8 * HOUR,
    idleExpiresAt: now + 2 * HOUR,
    revokedAt: null,
    ...fields,
  };
  const refresh = newRefreshToken();
  await store.createSession(session, refresh.hash);
  const claims = accessClaims({ issuer: config.issuer, audience: config.audience, subject, sessionId: session.id }, { iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 900 });
  return { session, bearer: await sealTo(await signInner(claims, keys.signing), keys.encryption), refreshToken: refresh.token };
}

describe('a login', () => {
  it('stores the session with its times, its client key and the user agent cut to 256 characters', async () => {
    const alice = await addUser();
    const { grant, client } = await loggedIn(alice.username, 'a'.repeat(300));
    const now = time.now();
    const key = await parseClientKey(client.publicJwk);
    expect(await store.getSession(grant.body.session_id, now)).toEqual({
      id: grant.body.session_id,
      userId: alice.id,
      clientJwk: key.jwk,
      clientKid: key.kid,
      dpopJkt: null,
      userAgent: 'a'.repeat(256),
      epoch: service.epoch,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + 8 * HOUR,
      idleExpiresAt: now + 2 * HOUR,
      revokedAt: null,
    });
    expect(grant.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, session_id: grant.body.session_id, refresh_expires_in: 2 * 3600 });
    expect(hashRefreshToken(grant.refreshToken)).not.toBeNull();
  });

  it('keeps a missing user agent missing', async () => {
    const { sessionId } = await loggedIn((await addUser()).username, null);
    expect((await store.getSession(sessionId, time.now()))?.userAgent).toBeNull();
  });

  it('bounds the idle end by the absolute end when the idle limit is the longer', async () => {
    const longIdle = new SessionService({ ...config, sessionIdleTtl: 24 * HOUR }, keys, store, users, { clock: time.clock });
    const client = await makeClientKey();
    const grant = await longIdle.login((await addUser()).username, PASSWORD, await parseClientKey(client.publicJwk), null);
    expect((await store.getSession(grant.body.session_id, time.now()))?.idleExpiresAt).toBe(time.now() + 8 * HOUR);
    expect(grant.body.refresh_expires_in).toBe(8 * 3600);
  });

  it('refuses a disabled user, an unknown user and a wrong password alike', async () => {
    const bob = await addUser();
    await users.setDisabled(bob.username, true);
    const key = await parseClientKey((await makeClientKey()).publicJwk);
    expect(await codeOf(service.login(bob.username, PASSWORD, key, null))).toBe('invalid_credentials');
    expect(await codeOf(service.login('nobody-at-all', PASSWORD, key, null))).toBe('invalid_credentials');
    await users.setDisabled(bob.username, false);
    expect(await codeOf(service.login(bob.username, 'not the password', key, null))).toBe('invalid_credentials');
    expect(await codeOf(service.login(bob.username, PASSWORD, key, null))).toBe('resolved');
  });
});

describe('a login with a DPoP proof', () => {
  it('binds the session to the proof key: the token type says DPoP at login and at every refresh', async () => {
    const key = await makeProofKey();
    const at = async (htm: string, route: string) => ({ proof: await makeProof(key, { htm, htu: `${config.issuer}${route}`, iat: Math.floor(time.now() / 1000) }), htm, htu: [`${config.issuer}${route}`] });
    const client = await makeClientKey();
    const grant = await service.login((await addUser()).username, PASSWORD, await parseClientKey(client.publicJwk), null, await at('POST', '/auth/login'));
    expect(grant.body.token_type).toBe('DPoP');
    expect((await store.getSession(grant.body.session_id, time.now()))?.dpopJkt).toBe(key.jkt);
    const next = await service.refresh(grant.refreshToken, await at('POST', '/auth/refresh'));
    expect(next.body.token_type).toBe('DPoP');
  });
});

describe('what the HTTP layer reads of the service', () => {
  it('is the time of its clock and the ISSUER that proofs may name', () => {
    expect(service.now()).toBe(time.now());
    time.advance(SECOND);
    expect(service.now()).toBe(time.now());
    expect(service.issuer).toBe(config.issuer);
  });
});

describe('a refresh', () => {
  it('moves the idle end to now plus the idle limit, and answers the time left until the nearer end', async () => {
    const { grant, sessionId } = await loggedIn((await addUser()).username);
    time.advance(HOUR);
    const next = await service.refresh(grant.refreshToken);
    expect((await store.getSession(sessionId, time.now()))?.idleExpiresAt).toBe(time.now() + 2 * HOUR);
    expect(next.body).toMatchObject({ session_id: sessionId, token_type: 'Bearer', refresh_expires_in: 2 * 3600 });
    // Refreshed every hour, the session reaches 7 h: the absolute end (8 h) is then the nearer.
    let token = next.refreshToken;
    for (let hours = 2; hours <= 7; hours++) {
      time.advance(HOUR);
      const grant = await service.refresh(token);
      token = grant.refreshToken;
      expect({ hours, left: grant.body.refresh_expires_in }).toEqual({ hours, left: Math.min(2, 8 - hours) * 3600 });
    }
  });

  it('refuses text that cannot be a refresh token, and one nobody was given', async () => {
    expect(await codeOf(service.refresh('not a refresh token'))).toBe('invalid_grant');
    expect(await codeOf(service.refresh(newRefreshToken().token))).toBe('invalid_grant');
  });

  it.each([
    ['disabled', (username: string) => users.setDisabled(username, true)],
    ['deleted', (username: string) => users.remove(username)],
  ])('refuses a %s user and ends the session', async (_state, change) => {
    const carol = await addUser();
    const { grant, sessionId } = await loggedIn(carol.username);
    await change(carol.username);
    expect(await codeOf(service.refresh(grant.refreshToken))).toBe('invalid_grant');
    expect((await store.getSession(sessionId, time.now()))?.revokedAt).toBe(time.now());
  });

  it('refuses a session of another boot (epoch) and ends it', async () => {
    const dave = await addUser();
    const { session, refreshToken } = await foreignSession(await makeClientKey(), dave.id, { epoch: 'an earlier boot' });
    expect(await codeOf(service.refresh(refreshToken))).toBe('invalid_grant');
    expect((await store.getSession(session.id, time.now()))?.revokedAt).toBe(time.now());
  });
});

describe('a protected request', () => {
  it('is served for a live session of an enabled user, with the principal', async () => {
    const erin = await addUser();
    const { bearer, sessionId } = await loggedIn(erin.username);
    const principal = await service.authenticate(asBearer(bearer));
    expect({ user: principal.user.id, session: principal.session.id, sub: principal.claims.sub }).toEqual({ user: erin.id, session: sessionId, sub: erin.id });
  });

  it.each([
    ['of another boot (epoch)', { epoch: 'an earlier boot' }, 'session not live'],
    ['that is revoked', { revokedAt: Date.now() - HOUR }, 'session not live'],
    ['past its idle end', { idleExpiresAt: Date.now() - 1 }, 'session not live'],
    ['of another user than the token names', { userId: 'someone else' }, 'session not live'],
    ['bound to a DPoP key, for an unbound token', { dpopJkt: 'A'.repeat(43) }, 'binding differs from the session'],
  ])('is refused for a session %s', async (_name, fields, reason) => {
    const frank = await addUser();
    const { bearer } = await foreignSession(await makeClientKey(), frank.id, fields);
    expect(await reasonOf(service.authenticate(asBearer(bearer)))).toBe(reason);
  });

  it('is served for a row written the same way when nothing is wrong with it (the refusals above are about the row)', async () => {
    const gina = await addUser();
    const { bearer } = await foreignSession(await makeClientKey(), gina.id);
    expect(await reasonOf(service.authenticate(asBearer(bearer)))).toBe('accepted');
  });

  it.each([
    ['disabled', (username: string) => users.setDisabled(username, true)],
    ['deleted', (username: string) => users.remove(username)],
  ])('is refused for a %s user', async (_state, change) => {
    const hank = await addUser();
    const { bearer } = await loggedIn(hank.username);
    await change(hank.username);
    expect(await reasonOf(service.authenticate(asBearer(bearer)))).toBe('user missing or disabled');
  });

  it('records the time of use at most once a minute', async () => {
    const { bearer, sessionId } = await loggedIn((await addUser()).username);
    const loginTime = time.now();
    const lastUsed = async () => (await store.getSession(sessionId, time.now()))?.lastUsedAt;
    time.advance(MINUTE);
    await service.authenticate(asBearer(bearer));
    expect(await lastUsed()).toBe(loginTime);
    time.advance(1);
    await service.authenticate(asBearer(bearer));
    expect(await lastUsed()).toBe(time.now());
  });
});

describe('a protected request on a SQLite file holding the users too (one joined read)', () => {
  it('is served for a live session, and refused without a crash once the row is gone or the user deleted', async () => {
    const db = openDatabase(path.join(temp.dir, 'joined.db'));
    try {
      const fileUsers = new SqliteUserDirectory(db);
      const fileStore = new SqliteSessionStore(db, { usersInSameFile: true });
      expect(fileStore.getSessionWithUser).toBeDefined();
      const joined = new SessionService(config, keys, fileStore, fileUsers, { clock: time.clock });
      const signIn = (username: string) => loggedIn(username, 'test', joined);
      const ivy = await fileUsers.add(`ivy-${randomUUID().slice(0, 8)}`, await hashPassword(PASSWORD), time.now());
      const live = await signIn(ivy.username);
      const principal = await joined.authenticate(asBearer(live.bearer));
      expect({ user: principal.user.username, session: principal.session.id }).toEqual({ user: ivy.username, session: live.sessionId });
      // The session row is gone (purged past its end by another instance): no row to join.
      db.prepare('DELETE FROM refresh_tokens WHERE session_id = ?').run(live.sessionId);
      db.prepare('DELETE FROM sessions WHERE id = ?').run(live.sessionId);
      expect(await reasonOf(joined.authenticate(asBearer(live.bearer)))).toBe('session not live');
      const other = await signIn(ivy.username);
      await fileUsers.remove(ivy.username);
      expect(await reasonOf(joined.authenticate(asBearer(other.bearer)))).toBe('user missing or disabled');
    } finally {
      db.close();
    }
  });
});

describe('a store that cannot record the time of use', () => {
  it('still serves the request: the session was already read, only the bookkeeping failed', async () => {
    const failing = new (class extends MemorySessionStore {
      override async touchSession(): Promise<void> {
        throw new Error('the store cannot write now');
      }
    })();
    const withFailingTouch = new SessionService(config, keys, failing, users, { clock: time.clock });
    const client = await makeClientKey();
    const grant = await withFailingTouch.login((await addUser()).username, PASSWORD, await parseClientKey(client.publicJwk), null);
    const bearer = await sealToServer(await openAccessToken(grant.body.access_token, client), keys.jwks());
    time.advance(2 * MINUTE);
    await expect(withFailingTouch.authenticate(asBearer(bearer))).resolves.toMatchObject({ session: { id: grant.body.session_id } });
  });
});

describe("a user's sessions", () => {
  it('lists the live sessions of this boot only, and lets the user end only those', async () => {
    const ivy = await addUser();
    const other = await addUser();
    const mine = await loggedIn(ivy.username);
    const ended = await loggedIn(ivy.username);
    const earlier = await foreignSession(await makeClientKey(), ivy.id, { epoch: 'an earlier boot' });
    const theirs = await loggedIn(other.username);
    expect(await service.revokeOwnSession(ivy.id, ended.sessionId)).toBe(true);
    expect((await service.listSessions(ivy.id)).map((s) => s.id)).toEqual([mine.sessionId]);
    expect(await service.revokeOwnSession(ivy.id, ended.sessionId)).toBe(false);
    expect(await service.revokeOwnSession(ivy.id, earlier.session.id)).toBe(false);
    expect(await service.revokeOwnSession(ivy.id, theirs.sessionId)).toBe(false);
    expect(await service.revokeOwnSession(ivy.id, randomUUID())).toBe(false);
    // Refused attempts changed nothing.
    expect((await store.getSession(earlier.session.id, time.now()))?.revokedAt).toBeNull();
    expect((await store.getSession(theirs.sessionId, time.now()))?.revokedAt).toBeNull();
  });

  it('changes the password only with the current one, ending every other session and keeping this one', async () => {
    const jack = await addUser();
    const kept = await loggedIn(jack.username);
    const other = await loggedIn(jack.username);
    const principal = await service.authenticate(asBearer(kept.bearer));
    expect(await codeOf(service.changePassword(principal, 'not the password', 'a brand new secret'))).toBe('invalid_credentials');
    expect((await store.getSession(other.sessionId, time.now()))?.revokedAt).toBeNull();
    await service.changePassword(principal, PASSWORD, 'a brand new secret');
    expect((await store.getSession(other.sessionId, time.now()))?.revokedAt).toBe(time.now());
    expect((await store.getSession(kept.sessionId, time.now()))?.revokedAt).toBeNull();
    const key = await parseClientKey((await makeClientKey()).publicJwk);
    expect(await codeOf(service.login(jack.username, PASSWORD, key, null))).toBe('invalid_credentials');
    expect(await codeOf(service.login(jack.username, 'a brand new secret', key, null))).toBe('resolved');
  });
});
