import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { AuthError } from '../../src/errors.js';
import { KeyManager } from '../../src/keys/manager.js';
import type { Credentials } from '../../src/sessions/proofs.js';
import { SessionService, type Principal } from '../../src/sessions/service.js';
import { MemorySessionStore } from '../../src/store/memory.js';
import { parseClientKey } from '../../src/tokens/client-key.js';
import { MemoryUserDirectory } from '../../src/users/memory.js';
import { hashPassword } from '../../src/users/password.js';
import { fakeClock } from '../helpers/clock.js';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { tempDir } from '../helpers/runtime.js';
import { RecordingEvents } from './recording-events.js';

const PASSWORD = 'correct horse battery';
const temp = tempDir('jwe-auth-service-');
const config = loadConfig({ STORE: 'memory', KEYS_DIR: path.join(temp.dir, 'keys'), REFRESH_REUSE_GRACE: '10s' });
const time = fakeClock();
const events = new RecordingEvents();
let service: SessionService;
let keys: KeyManager;
let users: MemoryUserDirectory;
let aliceId: string;

beforeAll(async () => {
  keys = await KeyManager.create(config);
  users = new MemoryUserDirectory();
  aliceId = (await users.add('alice', await hashPassword(PASSWORD), time.now())).id;
  service = new SessionService(config, keys, new MemorySessionStore(), users, { clock: time.clock, events });
});
afterAll(() => temp.remove());
beforeEach(() => events.clear());

/** Logs alice in and authenticates her bearer, as the HTTP layer would. */
async function loggedIn(username = 'alice'): Promise<{ principal: Principal; refreshToken: string }> {
  const client = await makeClientKey();
  const grant = await service.login(username, PASSWORD, await parseClientKey(client.publicJwk), 'test');
  const bearer = await sealToServer(await openAccessToken(grant.body.access_token, client), keys.jwks());
  return { principal: await service.authenticate(asBearer(bearer)), refreshToken: grant.refreshToken };
}

/** Credentials of a bearer sent as `Authorization: Bearer`, without a DPoP proof. */
const asBearer = (token: string): Credentials => ({ scheme: 'Bearer', token, proof: undefined, htm: 'GET', htu: [] });

/** The code of what `promise` rejects with. */
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: AuthError) => error.code);

describe('what SessionService reports', () => {
  it('reports a login that succeeded and one that failed, with ids and the username only', async () => {
    const { principal } = await loggedIn();
    expect(await codeOf(service.login('alice', 'wrong password', await parseClientKey((await makeClientKey()).publicJwk), null))).toBe('invalid_credentials');
    expect(events.logins).toEqual(['succeeded', 'failed']);
    expect(events.audits).toEqual([
      { event: 'login_succeeded', fields: { user_id: aliceId, username: 'alice', session_id: principal.session.id } },
      { event: 'login_failed', fields: { username: 'alice', user_id: aliceId } },
    ]);
    expect(JSON.stringify(events.audits)).not.toContain('wrong password');
  });

  it('reports a rotation, a duplicate within the grace window, and an invalid token', async () => {
    const { refreshToken } = await loggedIn();
    await service.refresh(refreshToken);
    time.advance(10_000);
    await service.refresh(refreshToken);
    expect(await codeOf(service.refresh('A'.repeat(43)))).toBe('invalid_grant');
    expect(events.refreshes).toEqual(['rotated', 'duplicate', 'invalid']);
  });

  it('reports a reuse after the grace window as reuse_revoked and an audit event, and revokes the session', async () => {
    const { principal, refreshToken } = await loggedIn();
    const next = await service.refresh(refreshToken);
    time.advance(10_001);
    expect(await codeOf(service.refresh(refreshToken))).toBe('invalid_grant');
    expect(events.refreshes).toEqual(['rotated', 'reuse_revoked']);
    expect(events.audits.at(-1)).toEqual({ event: 'refresh_reuse_detected', fields: { session_id: principal.session.id, user_id: aliceId } });
    expect(await codeOf(service.refresh(next.refreshToken))).toBe('invalid_grant');
    expect(events.refreshes.at(-1)).toBe('invalid');
  });

  it('reports logout, logout of all devices, a revoked session and a password change', async () => {
    const carolId = (await users.add('carol', await hashPassword(PASSWORD), time.now())).id;
    const one = await loggedIn('carol');
    await service.logout(one.principal);
    await service.logout(one.principal);
    const two = await loggedIn('carol');
    const three = await loggedIn('carol');
    await loggedIn('carol');
    expect(await service.revokeOwnSession(carolId, three.principal.session.id)).toBe(true);
    await service.changePassword(two.principal, PASSWORD, PASSWORD);
    await service.logoutAll(two.principal);
    const audits = events.audits.filter((a) => a.event !== 'login_succeeded');
    expect(audits).toEqual([
      { event: 'logout', fields: { user_id: carolId, session_id: one.principal.session.id } },
      { event: 'session_revoked', fields: { user_id: carolId, session_id: three.principal.session.id } },
      { event: 'password_changed', fields: { user_id: carolId, session_id: two.principal.session.id, sessions_revoked: 1 } },
      { event: 'logout_all', fields: { user_id: carolId, session_id: two.principal.session.id, sessions: 1 } },
    ]);
  });

  it('refuses a password change of a user deleted since the request was authenticated, as a refused token', async () => {
    await users.add('dave', await hashPassword(PASSWORD), time.now());
    const { principal } = await loggedIn('dave');
    await users.remove('dave');
    await expect(service.changePassword(principal, PASSWORD, 'a brand new secret')).rejects.toMatchObject({ code: 'token_rejected' });
  });

  it('refuses an access token once the fake clock passes its expiry, without sleeping', async () => {
    const client = await makeClientKey();
    const grant = await service.login('alice', PASSWORD, await parseClientKey(client.publicJwk), null);
    const bearer = await sealToServer(await openAccessToken(grant.body.access_token, client), keys.jwks());
    await expect(service.authenticate(asBearer(bearer))).resolves.toMatchObject({ user: { id: aliceId } });
    time.advance(config.accessTokenTtl + 61_000);
    await expect(service.authenticate(asBearer(bearer))).rejects.toMatchObject({ code: 'token_rejected' });
  });
});
