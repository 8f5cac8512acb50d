import request from 'supertest';
import { HttpError } from '../../src/errors.js';
import { BUSY_UTILIZATION, EventLoopLoad, HashingGate, LOAD_WINDOW_MS, type BusyPacing } from '../../src/http/hashing-gate.js';
import type { SessionService } from '../../src/sessions/service.js';
import { makeClientKey } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

/** A hash that finishes only when the test says so. */
function controlledHash(): { promise: Promise<void>; finish: () => void } {
  let finish!: () => void;
  const promise = new Promise<void>((resolve) => (finish = resolve));
  return { promise, finish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('HashingGate', () => {
  it('runs `concurrency` tasks at once, queues `queueLimit` more in order, and refuses the rest at once', async () => {
    const gate = new HashingGate(2, 3);
    const hashes = Array.from({ length: 5 }, controlledHash);
    const order: number[] = [];
    const admitted = hashes.map((hash, i) => gate.run(async () => (order.push(i), await hash.promise, i)));
    await tick();
    expect([gate.running, gate.waiting]).toEqual([2, 3]);
    expect(order).toEqual([0, 1]);

    const refusal = await gate.run(async () => 'never').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(HttpError);
    expect((refusal as HttpError).code).toBe('temporarily_unavailable');
    expect((refusal as HttpError).headers['Retry-After']).toBe('1');

    for (const hash of hashes) hash.finish();
    expect(await Promise.all(admitted)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });

  it('frees the slot of a task that fails', async () => {
    const gate = new HashingGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 'next')).toBe('next');
  });
});

/** A pacing clock that moves only when a paced task sleeps, and a load the test sets. */
function fakePacing(ratePerSecond: number): { pacing: BusyPacing; load: { busyNow: boolean }; slept: number[]; clock: { now: number } } {
  const clock = { now: 1_000 };
  const load = { busyNow: true };
  const slept: number[] = [];
  const pacing: BusyPacing = {
    ratePerSecond,
    load: { busy: () => load.busyNow },
    now: () => clock.now,
    sleep: async (ms: number) => {
      slept.push(ms);
      clock.now += ms;
    },
  };
  return { pacing, load, slept, clock };
}

describe('HashingGate while the event loop is saturated (LOGIN_RATE_WHEN_BUSY)', () => {
  it('starts at most ratePerSecond tasks a second, evenly spaced, in order', async () => {
    const { pacing, slept, clock } = fakePacing(5);
    const gate = new HashingGate(1, 10, pacing);
    const started: number[] = [];
    await Promise.all(Array.from({ length: 4 }, (_, i) => gate.run(async () => void started.push(clock.now + i / 1000))));
    // The first starts at once, each next one 200 ms after the one before.
    expect(started.map((t) => Math.round(t))).toEqual([1_000, 1_200, 1_400, 1_600]);
    expect(slept).toEqual([200, 200, 200]);
  });

  it('does not pace while the loop is not saturated, nor with a rate of 0', async () => {
    const idle = fakePacing(5);
    idle.load.busyNow = false;
    const gate = new HashingGate(1, 10, idle.pacing);
    await Promise.all(Array.from({ length: 5 }, () => gate.run(async () => 'ok')));
    expect(idle.slept).toEqual([]);
    const off = fakePacing(0);
    const unpaced = new HashingGate(1, 10, off.pacing);
    await Promise.all(Array.from({ length: 5 }, () => unpaced.run(async () => 'ok')));
    expect(off.slept).toEqual([]);
  });

  it('counts a task that waits its turn as running, so the queue fills and the surplus is refused at once', async () => {
    const { pacing } = fakePacing(5);
    let wake!: () => void;
    // A sleep the test ends: the first task holds its slot while it waits.
    const held: BusyPacing = { ...pacing, now: () => 0, sleep: () => new Promise<void>((resolve) => (wake = resolve)) };
    const gate = new HashingGate(1, 1, held);
    // The first has no one before it and starts at once; the second must wait 200 ms for its turn.
    expect(await gate.run(async () => 'first')).toBe('first');
    const second = gate.run(async () => 'second');
    await tick();
    const third = gate.run(async () => 'third');
    await tick();
    expect([gate.running, gate.waiting]).toEqual([1, 1]);
    const refusal = await gate.run(async () => 'never').catch((error: unknown) => error);
    expect((refusal as HttpError).code).toBe('temporarily_unavailable');
    while ([gate.running, gate.waiting].join() !== '0,0') {
      wake?.();
      await tick();
    }
    expect(await Promise.all([second, third])).toEqual(['second', 'third']);
  });

  it('picks up where the spacing left off once the loop has been quiet: no burst is saved up', async () => {
    const { pacing, load, slept, clock } = fakePacing(5);
    const gate = new HashingGate(1, 10, pacing);
    await gate.run(async () => 'a');
    load.busyNow = false;
    clock.now += 10_000;
    await gate.run(async () => 'quiet');
    load.busyNow = true;
    await gate.run(async () => 'b');
    await gate.run(async () => 'c');
    expect(slept).toEqual([200]);
  });
});

describe('EventLoopLoad', () => {
  it(`reads the loop as busy when it ran callbacks at least ${BUSY_UTILIZATION * 100} % of a window of ${LOAD_WINDOW_MS} ms or more`, () => {
    const clock = { now: 0 };
    const times = { active: 0, idle: 0 };
    const load = new EventLoopLoad(() => ({ ...times }), () => clock.now);
    const pass = (ms: number, share: number) => {
      clock.now += ms;
      times.active += ms * share;
      times.idle += ms * (1 - share);
    };
    expect(load.busy()).toBe(false);
    pass(LOAD_WINDOW_MS, 0.95);
    expect(load.busy()).toBe(true);
    // Within the window, the last reading stands.
    pass(LOAD_WINDOW_MS / 2, 0.1);
    expect(load.busy()).toBe(true);
    pass(LOAD_WINDOW_MS / 2, 0.1);
    expect(load.busy()).toBe(false);
    pass(LOAD_WINDOW_MS, BUSY_UTILIZATION);
    expect(load.busy()).toBe(true);
    pass(LOAD_WINDOW_MS, BUSY_UTILIZATION - 0.01);
    expect(load.busy()).toBe(false);
    // A long quiet stretch since the last reading counts as one window.
    pass(60_000, 0);
    expect(load.busy()).toBe(false);
  });

  it("reads the real loop's utilization: busy after a window spent running one callback", () => {
    const load = new EventLoopLoad();
    const spinUntil = performance.now() + LOAD_WINDOW_MS + 50;
    while (performance.now() < spinUntil);
    expect(load.busy()).toBe(true);
  });
});

describe('login isolation over HTTP', () => {
  let server: TestServer;
  let finishAll: () => void;
  let hashing = 0;
  let mostAtOnce = 0;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_CONCURRENCY: '1' });
    // The hash is replaced by one the test controls: the gate is about counting, not timing.
    const pending: (() => void)[] = [];
    finishAll = () => pending.splice(0).forEach((finish) => finish());
    (server.runtime.sessions as { login: SessionService['login'] }).login = async () => {
      const hash = controlledHash();
      pending.push(hash.finish);
      mostAtOnce = Math.max(mostAtOnce, ++hashing);
      await hash.promise.finally(() => hashing--);
      throw new HttpError('invalid_credentials');
    };
  });
  afterAll(() => server.close());

  it('refuses logins beyond one running and four waiting with 503 temporarily_unavailable and Retry-After, without waiting', async () => {
    const client = await makeClientKey();
    const send = () => request(server.app).post('/auth/login').send({ username: 'alice', password: 'whatever it is', client_key: client.publicJwk });
    const gate = server.app.locals.hashingGate as HashingGate;
    const admitted = Array.from({ length: 5 }, () => send().then((res) => res));
    while (gate.running + gate.waiting < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    // Refusals come back while the five admitted logins are still hashing.
    for (let i = 0; i < 3; i++) {
      const refused = await send();
      expect([refused.status, refused.body.error]).toEqual([503, 'temporarily_unavailable']);
      expect(refused.headers['retry-after']).toBe('1');
    }
    const finisher = setInterval(finishAll, 10);
    try {
      expect((await Promise.all(admitted)).map((res) => res.status)).toEqual([401, 401, 401, 401, 401]);
    } finally {
      clearInterval(finisher);
    }
    // LOGIN_CONCURRENCY=1: the four that waited hashed one after another.
    expect(mostAtOnce).toBe(1);
  });
});
