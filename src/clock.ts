/**
 * Where the domain reads the time: epoch milliseconds. Injected into `SessionService` (and passed on
 * to the stores as `now`), so tests move time instead of sleeping.
 *
 * @example const clock: Clock = () => Date.now();
 */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();
