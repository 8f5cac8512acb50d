import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError, StoreUnavailableError } from '../errors.js';

/** One count an attempt is held to: a limiter (how many a minute, where it is stored) and a key in it. */
export interface Count {
  readonly limiter: RateLimiterAbstract;
  readonly key: string;
}

/** Seconds until a limiter's window ends, as `Retry-After` wants them (at least 1). */
function retryAfter(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

/** Gives back one point to each count, ignoring failures: a refund that fails only errs on the strict side. */
async function refund(counts: readonly Count[]): Promise<void> {
  await Promise.all(counts.map(({ limiter, key }) => limiter.reward(key, 1).catch(() => undefined)));
}

/**
 * Runs `attempt` held to `counts`, counting only the attempts that fail in a way `isFailure` names.
 *
 * Every count is reserved before the attempt, in order, so a burst of parallel attempts can never
 * run past a limit; a reservation is given back when the attempt succeeds (or fails for another
 * reason), so only failures remain counted. When a count is already at its limit the attempt does not
 * run, the counts reserved before it are given back, and nothing more is written: put the broadest
 * count first, so a client over it adds no new key to the store whatever it sends.
 *
 * @throws {RateLimitedError} (`too_many_requests`) when a count is at its limit.
 * @throws {StoreUnavailableError} when the throttle's store cannot answer: the attempt does not run (fail closed).
 * @example
 * await guardFailures([{ limiter: perClient, key: ip }], () => sessions.login(...), (e) => isCredentialsError(e));
 */
export async function guardFailures<T>(counts: readonly Count[], attempt: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
  const reserved: Count[] = [];
  for (const count of counts) {
    try {
      await count.limiter.consume(count.key, 1);
      reserved.push(count);
    } catch (error) {
      await refund(reserved);
      if (error instanceof RateLimiterRes) throw new RateLimitedError(retryAfter(error));
      throw new StoreUnavailableError(`throttle: ${error instanceof Error ? error.message : 'unavailable'}`);
    }
  }
  try {
    const result = await attempt();
    await refund(reserved);
    return result;
  } catch (error) {
    if (!isFailure(error)) await refund(reserved);
    throw error;
  }
}
