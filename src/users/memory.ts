import { randomUUID } from 'node:crypto';
import { checkUsername, noSuchUser, noUserWithId, userExists, type User, type UserDirectory } from './directory.js';

/**
 * The reference {@link UserDirectory}: a map in this process, for unit tests. Every method runs
 * without an `await`, so each is atomic on Node's single thread.
 *
 * @example const users = new MemoryUserDirectory();
 */
export class MemoryUserDirectory implements UserDirectory {
  readonly #users = new Map<string, User>();

  async add(username: string, passwordHash: string, now: number): Promise<User> {
    checkUsername(username);
    if (this.#byName(username)) throw userExists(username);
    const user: User = { id: randomUUID(), username, passwordHash, disabled: false, createdAt: now, passwordChangedAt: now };
    this.#users.set(user.id, user);
    return { ...user };
  }

  async findById(id: string): Promise<User | null> {
    const user = this.#users.get(id);
    return user ? { ...user } : null;
  }

  async findByUsername(username: string): Promise<User | null> {
    const user = this.#byName(username);
    return user ? { ...user } : null;
  }

  async list(): Promise<User[]> {
    return [...this.#users.values()].sort((a, b) => compareNames(a.username, b.username)).map((u) => ({ ...u }));
  }

  async setDisabled(username: string, disabled: boolean): Promise<User> {
    const user = this.#byName(username);
    if (!user) throw noSuchUser(username);
    const updated = { ...user, disabled };
    this.#users.set(user.id, updated);
    return { ...updated };
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    const user = this.#users.get(id);
    if (!user) throw noUserWithId(id);
    this.#users.set(id, { ...user, passwordHash, passwordChangedAt: now });
  }

  async remove(username: string): Promise<User> {
    const user = this.#byName(username);
    if (!user) throw noSuchUser(username);
    this.#users.delete(user.id);
    return { ...user };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  #byName(username: string): User | undefined {
    const key = username.toLowerCase();
    for (const user of this.#users.values()) if (user.username.toLowerCase() === key) return user;
    return undefined;
  }
}

/** Orders usernames as the SQL backends do: by their lower-case form. */
function compareNames(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}
