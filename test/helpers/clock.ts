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
