import type { Clock } from '../../src/clock.js';

/** A clock tests move by hand instead of sleeping. */
export interface FakeClock {
  /** Pass this as the `clock` option. */
  readonly clock: Clock;
  /** The time it shows (epoch ms). */
  now(): number;
  /** Moves it forward by `ms`. */
  advance(ms: number): void;
}

/**
 * A fake clock starting at `start` (default: the real time when it is made, so tokens and Redis
 * expiries built from it stay plausible).
 *
 * @example const time = fakeClock(); startTestServer({}, undefined, { clock: time.clock }); time.advance(2100);
 */
export function fakeClock(start = Date.now()): FakeClock {
  let now = start;
  return {
    clock: () => now,
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/**
 * A clock that runs with the real time and that tests move forward by hand: for a server and the
 * clients of a real listening server shared by several tests, where a frozen clock would drift from
 * the `Date` of the server's answers (read by the SDK to date its DPoP proofs).
 *
 * @example const time = runningClock(); startTestServer({}, undefined, { clock: time.clock }); time.advance(2000);
 */
export function runningClock(): FakeClock {
  let ahead = 0;
  return {
    clock: () => Date.now() + ahead,
    now: () => Date.now() + ahead,
    advance(ms) {
      ahead += ms;
    },
  };
}
