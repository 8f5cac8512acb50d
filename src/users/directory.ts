/** A user as the server sees it. Times are epoch milliseconds. */
export interface User {
  readonly id: string;
  readonly username: string;
  /** The argon2id hash of the password. */
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly passwordChangedAt: number;
}

/** Why a user operation was refused, as a stable code. */
export type UserErrorCode = 'invalid_username' | 'user_exists' | 'user_not_found' | 'invalid_password' | 'password_required';

/**
 * A user operation was refused: a malformed or taken username, an unknown user, an unusable
 * password. The message is one line for the operator; match on {@link UserError.code}.
 *
 * @example throw new UserError('user_not_found', 'no user named alice');
 */
export class UserError extends Error {
  override readonly name = 'UserError';

  constructor(
    readonly code: UserErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Usernames: 1 to 64 characters of letters, digits and `._@-`. */
export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * Refuses a malformed username.
 *
 * @throws {UserError} `invalid_username`.
 */
export function checkUsername(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new UserError('invalid_username', 'username must be 1 to 64 letters, digits, dots, dashes, underscores or @');
  }
}

/**
 * Where users live. The server reads a user on every protected request (no cache), so a user
 * disabled, deleted or given a new password by the CLI (another process, another host) is refused
 * by every instance on its next request.
 *
 * Semantics every implementation keeps (the contract suite in `test/users/contract.ts` checks them):
 * - Usernames are unique without regard to ASCII case and found the same way (`Alice` is `alice`);
 *   the spelling given at creation is kept.
 * - Each method is one atomic change; lookups of unknown users return `null`, never throw for that.
 * - When the backing database cannot answer, methods reject with `StoreUnavailableError` and
 *   change nothing (callers fail closed with 503).
 */
export interface UserDirectory {
  /**
   * Adds a user with an already computed password hash, created (and its password set) at `now`.
   *
   * @throws {UserError} `invalid_username` or `user_exists`.
   */
  add(username: string, passwordHash: string, now: number): Promise<User>;

  /** The user with this id, or `null`. */
  findById(id: string): Promise<User | null>;

  /** The user with this username (any ASCII case), or `null`. */
  findByUsername(username: string): Promise<User | null>;

  /** Every user, by username. */
  list(): Promise<User[]>;

  /**
   * Disables or enables a user (by username, any case).
   *
   * @returns The user as it is now.
   * @throws {UserError} `user_not_found`.
   */
  setDisabled(username: string, disabled: boolean): Promise<User>;

  /**
   * Replaces a user's password hash, changed at `now`.
   *
   * @throws {UserError} `user_not_found`.
   */
  setPasswordHash(id: string, passwordHash: string, now: number): Promise<void>;

  /**
   * Deletes a user (by username, any case).
   *
   * @returns The deleted user.
   * @throws {UserError} `user_not_found`.
   */
  remove(username: string): Promise<User>;

  /** Resolves when the directory can answer; rejects with `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;

  /** Releases what the directory opened itself. */
  close(): Promise<void>;
}

/** The refusal for an unknown username, worded once. */
export function noSuchUser(username: string): UserError {
  return new UserError('user_not_found', `no user named ${username}`);
}

/** The refusal for an unknown user id, worded once. */
export function noUserWithId(id: string): UserError {
  return new UserError('user_not_found', `no user with id ${id}`);
}

/** The refusal for a taken username, worded once. */
export function userExists(username: string): UserError {
  return new UserError('user_exists', `user ${username} already exists`);
}
