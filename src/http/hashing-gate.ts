import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from '../errors.js';
import { RETRY_AFTER_SECONDS } from './error-handler.js';

/** How many requests may wait for each hashing slot before more are refused. */
export const QUEUE_PER_SLOT = 4;

/** Event-loop utilization above which the loop counts as saturated (busy for requests). */
export const BUSY_UTILIZATION = 0.9;
/** The shortest stretch of time the utilization is read over, in ms. */
export const LOAD_WINDOW_MS = 250;

/** Active and idle time of the event loop so far, in ms (`performance.eventLoopUtilization()`). */
export interface LoopTimes {
  readonly active: number;
  readonly idle: number;
}

/**
 * Whether the event loop has been saturated lately: the share of time it spent running callbacks
 * (event-loop utilization) since the last reading at least {@link LOAD_WINDOW_MS} ago, against
 * {@link BUSY_UTILIZATION}. Read when asked, so nothing runs in the background.
 *
 * @example const load = new EventLoopLoad(); if (load.busy()) { ... }
 */
export class EventLoopLoad {
  #mark: LoopTimes;
  #markAt: number;
  #busy = false;

  /**
   * @param times - The loop's active and idle time so far (injected in tests).
   * @param now - A monotonic clock in ms (injected in tests).
   */
  constructor(
    private readonly times: () => LoopTimes = () => performance.eventLoopUtilization(),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#mark = times();
    this.#markAt = now();
  }

  /** Whether the loop was busy over the last reading's window (at least {@link LOAD_WINDOW_MS}). */
  busy(): boolean {
    const at = this.now();
    if (at - this.#markAt >= LOAD_WINDOW_MS) {
      const current = this.times();
      const active = current.active - this.#mark.active;
      const total = active + (current.idle - this.#mark.idle);
      this.#busy = total > 0 && active / total >= BUSY_UTILIZATION;
      this.#mark = current;
      this.#markAt = at;
    }
    return this.#busy;
  }
}

/**
 * How the gate paces hashes while the event loop is saturated (`LOGIN_RATE_WHEN_BUSY`): at most
 * `ratePerSecond` starts a second, spaced evenly, for as long as `load.busy()` says so.
 */
export interface BusyPacing {
  readonly ratePerSecond: number;
  readonly load: Pick<EventLoopLoad, 'busy'>;
  /** A monotonic clock in ms; default `performance.now()`. */
  readonly now?: () => number;
  /** Waits `ms`; default a timer. */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

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
  /** When the next task may start while the loop is busy (ms on the pacing clock). */
  #nextStart = -Infinity;

  /**
   * @param concurrency - Tasks run at once (`LOGIN_CONCURRENCY`).
   * @param queueLimit - Tasks that may wait; default {@link QUEUE_PER_SLOT} per slot.
   * @param pacing - While the event loop is saturated, start at most this many tasks a second
   * (`LOGIN_RATE_WHEN_BUSY`); none: never paced.
   */
  constructor(
    readonly concurrency: number,
    readonly queueLimit: number = concurrency * QUEUE_PER_SLOT,
    private readonly pacing?: BusyPacing,
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
      await this.#paced();
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  /**
   * While the event loop is saturated, holds a task that has its slot until its turn: starts at
   * least 1/`ratePerSecond` s apart. The slot stays taken meanwhile, so more logins wait in the
   * queue and the rest are refused at once, as when the hashes themselves are slow. A hash on the
   * other core slows the event loop's requests, whatever its priority (docs/performance.md).
   */
  async #paced(): Promise<void> {
    const pacing = this.pacing;
    if (!pacing || pacing.ratePerSecond <= 0 || !pacing.load.busy()) return;
    const now = (pacing.now ?? performance.now.bind(performance))();
    const start = Math.max(now, this.#nextStart);
    this.#nextStart = start + 1000 / pacing.ratePerSecond;
    if (start > now) await (pacing.sleep ?? sleep)(start - now);
  }
}
