import path from 'node:path';
import { openDatabase } from '../../src/db/sqlite.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { SqliteSessionStore } from '../../src/store/sqlite.js';
import type { SessionStore } from '../../src/store/types.js';
import { SqliteUserDirectory } from '../../src/users/sqlite.js';
import { tempDir } from '../helpers/runtime.js';
import { describeStoreContract, newHash, newSession } from './contract.js';

const temp = tempDir('jwe-auth-store-');
afterAll(() => temp.remove());

/** The file each store was opened on, so a peer opens a second connection to the same file. */
const fileOf = new WeakMap<SessionStore, string>();
let files = 0;

describeStoreContract(
  'sqlite',
  async () => {
    const file = path.join(temp.dir, `store-${files++}.db`);
    const store = new SqliteSessionStore(openDatabase(file));
    fileOf.set(store, file);
    return store;
  },
  { peerOf: async (store) => new SqliteSessionStore(openDatabase(fileOf.get(store) as string)) },
);

describe('a SQLite store sharing its file with the users', () => {
  const open = () => {
    const db = openDatabase(path.join(temp.dir, `joined-${files++}.db`));
    const users = new SqliteUserDirectory(db);
    return { db, users, store: new SqliteSessionStore(db, { usersInSameFile: true }) };
  };

  it('reads a session with its user in one step, as getSession and findById would', async () => {
    const { db, users, store } = open();
    const alice = await users.add('alice', 'hash', 1_000);
    const session = newSession({ userId: alice.id });
    await store.createSession(session, newHash());
    const now = session.createdAt + 1;
    expect(await store.getSessionWithUser?.(session.id, alice.id, now)).toEqual({ session: await store.getSession(session.id, now), user: await users.findById(alice.id) });
    await users.setDisabled('alice', true);
    await store.revokeSession(session.id, now);
    expect(await store.getSessionWithUser?.(session.id, alice.id, now)).toEqual({ session: { ...session, revokedAt: now }, user: { ...alice, disabled: true } });
    db.close();
  });

  it('gives a null user for an unknown user, and null for an unknown or ended session', async () => {
    const { db, store } = open();
    const session = newSession();
    await store.createSession(session, newHash());
    expect(await store.getSessionWithUser?.(session.id, 'no-such-user', session.createdAt)).toEqual({ session, user: null });
    expect(await store.getSessionWithUser?.('no-such-session', 'no-such-user', session.createdAt)).toBeNull();
    expect(await store.getSessionWithUser?.(session.id, 'no-such-user', session.expiresAt)).toBeNull();
    db.close();
  });

  it('is offered only when the users are in the same file, and fails closed when the file cannot answer', async () => {
    const { db, store } = open();
    expect(new SqliteSessionStore(db).getSessionWithUser).toBeUndefined();
    db.close();
    await expect(store.getSessionWithUser?.('any', 'any', 0)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
