import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AuthError, HttpError, RateLimitedError, StoreUnavailableError } from '../../src/errors.js';
import { clientOf, guardFailures } from '../../src/throttle/index.js';

const FAILED = new Error('wrong password');
const isFailure = (error: unknown) => error === FAILED;
const limiter = (points: number) => new RateLimiterMemory({ points, duration: 60 });
const fail = async (): Promise<never> => {
  throw FAILED;
};

/** What an attempt ended with: `ok`, `failed`, or the refusal's code. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error === FAILED) return 'failed';
    if (error instanceof AuthError) return error.code;
    if (error instanceof StoreUnavailableError) return 'unavailable';
    throw error;
  }
}

/** A limiter whose store cannot answer. */
const broken = { consume: () => Promise.reject(new Error('connection refused')), reward: () => Promise.reject(new Error('down')) } as unknown as RateLimiterAbstract;

describe('guardFailures', () => {
  it('never counts a successful attempt: twelve in a row pass a limit of ten', async () => {
    const count = { limiter: limiter(10), key: 'k' };
    for (let i = 0; i < 12; i++) expect(await outcome(guardFailures([count], async () => 'grant', isFailure))).toBe('ok');
    expect(await count.limiter.get('k')).toMatchObject({ consumedPoints: 0 });
  });

  it('refuses the attempt after `limit` failures with too_many_requests and the seconds to wait, without running it', async () => {
    const count = { limiter: limiter(3), key: 'k' };
    for (let i = 0; i < 3; i++) expect(await outcome(guardFailures([count], fail, isFailure))).toBe('failed');
    let ran = false;
    const refusal = await guardFailures([count], async () => (ran = true), isFailure).catch((error: unknown) => error);
    expect(ran).toBe(false);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    expect((refusal as RateLimitedError).code).toBe('too_many_requests');
    expect((refusal as RateLimitedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((refusal as RateLimitedError).retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('does not count an attempt that failed for another reason (a bad request, an outage)', async () => {
    const count = { limiter: limiter(1), key: 'k' };
    for (let i = 0; i < 3; i++) {
      const other = guardFailures(
        [count],
        async () => {
          throw new HttpError('invalid_client_key');
        },
        isFailure,
      );
      expect(await outcome(other)).toBe('invalid_client_key');
    }
    expect(await outcome(guardFailures([count], fail, isFailure))).toBe('failed');
  });

  it('lets no parallel burst past the limit: attempts in flight are counted until they succeed', async () => {
    const count = { limiter: limiter(4), key: 'k' };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const burst = Array.from({ length: 10 }, () =>
      outcome(
        guardFailures(
          [count],
          async () => {
            started++;
            await held;
            throw FAILED;
          },
          isFailure,
        ),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const outcomes = await Promise.all(burst);
    expect(started).toBe(4);
    expect(outcomes.filter((o) => o === 'failed')).toHaveLength(4);
    expect(outcomes.filter((o) => o === 'too_many_requests')).toHaveLength(6);
  });

  it('gives back the earlier counts when a later one is at its limit, so a blocked username does not use up the client', async () => {
    const perClient = { limiter: limiter(100), key: 'client' };
    const perUsername = { limiter: limiter(2), key: 'client+alice' };
    for (let i = 0; i < 10; i++) await outcome(guardFailures([perClient, perUsername], fail, isFailure));
    expect(await perClient.limiter.get('client')).toMatchObject({ consumedPoints: 2 });
  });

  it('writes nothing for the later counts once the first is at its limit', async () => {
    const perClient = { limiter: limiter(2), key: 'client' };
    const perUsername = limiter(100);
    for (let i = 0; i < 10; i++) await outcome(guardFailures([perClient, { limiter: perUsername, key: `user-${i}` }], fail, isFailure));
    const written = await Promise.all(Array.from({ length: 10 }, (_, i) => perUsername.get(`user-${i}`)));
    expect(written.filter((res) => res !== null)).toHaveLength(2);
  });

  it('fails closed when the store cannot answer: the attempt does not run', async () => {
    let ran = false;
    expect(await outcome(guardFailures([{ limiter: broken, key: 'k' }], async () => (ran = true), isFailure))).toBe('unavailable');
    expect(ran).toBe(false);
  });
});

describe('clientOf', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:0:0:0:0:0/56'],
    ['2001:db8:1:ff:ffff::1', '2001:db8:1:0:0:0:0:0/56'],
    ['2001:db8:1:100::1', '2001:db8:1:100:0:0:0:0/56'],
    ['::1', '0:0:0:0:0:0:0:0/56'],
  ])('counts %s as the client %s', (address, client) => {
    expect(clientOf(address)).toBe(client);
  });
});
