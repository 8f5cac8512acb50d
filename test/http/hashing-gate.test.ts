import request from 'supertest';
import { HttpError } from '../../src/errors.js';
import { HashingGate } from '../../src/http/hashing-gate.js';
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
