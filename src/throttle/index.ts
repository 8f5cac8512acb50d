import { createHash } from 'node:crypto';
import type { Config } from '../config/index.js';
import { AuthError } from '../errors.js';
import { clientOf } from './client-address.js';
import { guardFailures } from './failure-throttle.js';
import { openThrottleBackend, type SharedDatabases, type ThrottleBackend } from './backends.js';

export { clientOf } from './client-address.js';
export { guardFailures, type Count } from './failure-throttle.js';
export { openThrottleBackend, THROTTLE_TABLE, WINDOW_SECONDS, type SharedDatabases, type ThrottleBackend } from './backends.js';

/** A fixed-size key for any text: the store never holds a username or an address, and never a long key. */
const keyOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('base64url');

/** Only a wrong password (or unknown or disabled user) counts; a malformed request or an outage does not. */
const isCredentialsFailure = (error: unknown): boolean => error instanceof AuthError && error.code === 'invalid_credentials';

/**
 * Counts failed logins and failed password changes, shared by every instance and worker that uses
 * the same store, and refuses further attempts with 429 `too_many_requests` once a limit is reached:
 *
 * - `LOGIN_IP_RATE_LIMIT` failures a minute for one client (an IPv4 address or an IPv6 /56),
 *   across usernames;
 * - `LOGIN_RATE_LIMIT` failures a minute for one client and one username (lowercased);
 * - `LOGIN_RATE_LIMIT` failed password changes a minute for one user.
 *
 * A successful attempt never counts. Callers pass a validated username only (at most 64
 * characters), and every key is a SHA-256, so what the store holds is bounded by the number of
 * clients, whatever they send: a client over its limit adds no key at all.
 *
 * @example
 * const throttle = await LoginThrottle.open(config, db);
 * const grant = await throttle.login(req.ip, body.username, () => sessions.login(...));
 */
export class LoginThrottle {
  readonly #perClient;
  readonly #perUsername;
  readonly #perUser;

  constructor(
    private readonly backend: ThrottleBackend,
    limits: Pick<Config, 'loginRateLimit' | 'loginIpRateLimit'>,
  ) {
    this.#perClient = backend.limiter('login-client', limits.loginIpRateLimit);
    this.#perUsername = backend.limiter('login-username', limits.loginRateLimit);
    this.#perUser = backend.limiter('password', limits.loginRateLimit);
  }

  /**
   * Opens the throttle in the store the configuration names (see {@link openThrottleBackend}).
   *
   * @param shared - The PostgreSQL pool or the SQLite file the server opened.
   * @throws {import('../errors.js').StoreUnavailableError} when that store cannot be reached at boot.
   * @throws {import('../errors.js').MigrationError} when its table cannot be brought up to date.
   */
  static async open(
    config: Pick<Config, 'store' | 'redisUrl' | 'redisPrefix' | 'databaseUrl' | 'loginRateLimit' | 'loginIpRateLimit'>,
    shared: SharedDatabases,
  ): Promise<LoginThrottle> {
    return new LoginThrottle(await openThrottleBackend(config, shared), config);
  }

  /** Which store holds the counts. */
  get kind(): ThrottleBackend['kind'] {
    return this.backend.kind;
  }

  /**
   * Runs a login attempt held to the client's and the client-and-username's counts.
   *
   * @param address - The client's IP address (`req.ip`).
   * @param username - The validated username as sent; counted lowercased.
   * @throws {import('../errors.js').RateLimitedError} `too_many_requests`; {@link import('../errors.js').StoreUnavailableError} (fail closed).
   */
  login<T>(address: string, username: string, attempt: () => Promise<T>): Promise<T> {
    const client = clientOf(address);
    return guardFailures(
      [
        { limiter: this.#perClient, key: keyOf(client) },
        { limiter: this.#perUsername, key: keyOf(client, username.toLowerCase()) },
      ],
      attempt,
      isCredentialsFailure,
    );
  }

  /**
   * Runs a password change held to the user's count: a stolen bearer buys few guesses of the password.
   *
   * @throws {import('../errors.js').RateLimitedError} `too_many_requests`; {@link import('../errors.js').StoreUnavailableError} (fail closed).
   */
  passwordChange<T>(userId: string, attempt: () => Promise<T>): Promise<T> {
    return guardFailures([{ limiter: this.#perUser, key: keyOf(userId) }], attempt, isCredentialsFailure);
  }

  /** Closes the connections the throttle opened. */
  close(): Promise<void> {
    return this.backend.close();
  }
}
