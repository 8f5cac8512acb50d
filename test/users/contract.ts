import { randomUUID } from 'node:crypto';
import { UserError, type UserDirectory } from '../../src/users/directory.js';

const T = 1_700_000_000_000;
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

/** The code of the error `promise` rejects with (`resolved` when it does not). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => {
      expect(error).toBeInstanceOf(UserError);
      return (error as UserError).code;
    },
  );
}

/**
 * The {@link UserDirectory} contract: every semantic written in its JSDoc, run against one
 * implementation. `open` returns a fresh, empty directory for each test; the suite closes it.
 *
 * @example describeUserDirectoryContract('memory', async () => new MemoryUserDirectory());
 */
export function describeUserDirectoryContract(name: string, open: () => Promise<UserDirectory>): void {
  describe(`${name} user directory contract`, () => {
    let users: UserDirectory;
    beforeEach(async () => {
      users = await open();
    });
    afterEach(() => users.close());

    it('adds a user and finds it by id and by username in any ASCII case, keeping its spelling', async () => {
      const added = await users.add('Alice.Smith@example', HASH, T);
      expect(added).toEqual({ id: expect.any(String), username: 'Alice.Smith@example', passwordHash: HASH, disabled: false, createdAt: T, passwordChangedAt: T });
      expect(await users.findById(added.id)).toEqual(added);
      expect(await users.findByUsername('alice.smith@EXAMPLE')).toEqual(added);
    });

    it('returns null for an unknown id or username', async () => {
      await users.add('alice', HASH, T);
      expect(await users.findById(randomUUID())).toBeNull();
      expect(await users.findByUsername('bob')).toBeNull();
    });

    it('refuses a taken username in any case, and a malformed one, adding nothing', async () => {
      await users.add('alice', HASH, T);
      expect(await codeOf(users.add('alice', HASH, T))).toBe('user_exists');
      expect(await codeOf(users.add('ALICE', HASH, T))).toBe('user_exists');
      for (const bad of ['', 'bob smith', 'x'.repeat(65), 'bob\n', 'bøb']) expect(await codeOf(users.add(bad, HASH, T))).toBe('invalid_username');
      expect((await users.list()).map((u) => u.username)).toEqual(['alice']);
    });

    it('lets exactly one of several racing adds of one username win', async () => {
      const results = await Promise.allSettled(['carol', 'Carol', 'CAROL', 'carol'].map((n) => users.add(n, HASH, T)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as UserError).code).toBe('user_exists');
    });

    it('lists every user by username, without regard to case', async () => {
      for (const name of ['carol', 'Bob', 'alice']) await users.add(name, HASH, T);
      expect((await users.list()).map((u) => u.username)).toEqual(['alice', 'Bob', 'carol']);
    });

    it('disables and enables a user by username in any case, and refuses an unknown one', async () => {
      const alice = await users.add('alice', HASH, T);
      expect(await users.setDisabled('ALICE', true)).toEqual({ ...alice, disabled: true });
      expect(await users.findById(alice.id)).toMatchObject({ disabled: true });
      expect(await users.setDisabled('alice', false)).toEqual(alice);
      expect(await codeOf(users.setDisabled('bob', true))).toBe('user_not_found');
    });

    it('replaces a password hash with the time it changed, and refuses an unknown id', async () => {
      const alice = await users.add('alice', HASH, T);
      await users.setPasswordHash(alice.id, 'another-hash', T + 5000);
      expect(await users.findByUsername('alice')).toEqual({ ...alice, passwordHash: 'another-hash', passwordChangedAt: T + 5000 });
      expect(await codeOf(users.setPasswordHash(randomUUID(), 'x', T))).toBe('user_not_found');
    });

    it('deletes a user by username in any case, frees the name, and refuses an unknown one', async () => {
      const alice = await users.add('alice', HASH, T);
      expect(await users.remove('Alice')).toEqual(alice);
      expect(await users.findById(alice.id)).toBeNull();
      expect(await codeOf(users.remove('alice'))).toBe('user_not_found');
      expect(await users.add('alice', HASH, T + 1)).toMatchObject({ username: 'alice', createdAt: T + 1 });
    });

    it('answers ping while it can answer', async () => {
      await expect(users.ping()).resolves.toBeUndefined();
    });
  });
}
