import { HttpError } from '../errors.js';
import { RETRY_AFTER_SECONDS } from './error-handler.js';

/** How many requests may wait for each hashing slot before more are refused. */
export const QUEUE_PER_SLOT = 4;

/**
 * Bounds the password hashes (argon2, about 5 ms of a core each) a process computes at once, so a
 * flood of logins cannot take every core from the other requests: `concurrency` run, a few more wait
 * their turn in order, and the rest are refused at once with 503 `temporarily_unavailable` and
 * `Retry-After` instead of queueing without bound.
 *
 * @example
 * const gate = new HashingGate(os.availableParallelism());
 * router.post('/login', async (req, res) => res.json(await gate.run(() => sessions.login(...))));
 */
export class HashingGate {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * @param concurrency - Tasks run at once (`LOGIN_CONCURRENCY`).
   * @param queueLimit - Tasks that may wait; default {@link QUEUE_PER_SLOT} per slot.
   */
  constructor(
    readonly concurrency: number,
    readonly queueLimit: number = concurrency * QUEUE_PER_SLOT,
  ) {}

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` when a slot is free.
   *
   * @throws {HttpError} `temporarily_unavailable` with `Retry-After`, at once, when every slot is
   * taken and the queue is full.
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) {
      this.#running++;
    } else if (this.#waiting.length < this.queueLimit) {
      // The finishing task hands its slot over, so #running does not change.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      throw new HttpError('temporarily_unavailable', 'The server is busy checking passwords; retry shortly', { 'Retry-After': RETRY_AFTER_SECONDS });
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
