import request from 'supertest';
import type { Express } from 'express';
import { makeClientKey, type ClientKeyPair } from '../helpers/client.js';
import { SHARED_BACKENDS, startFleet, type ThrottleFleet } from './backends.js';

const PASSWORD = 'correct horse battery';
const LIMIT = 10;
const IP_LIMIT = 15;

let client: ClientKeyPair;
beforeAll(async () => {
  client = await makeClientKey();
});

/** A login from the client at `ip` (the instances trust one proxy hop, so X-Forwarded-For names the client). */
const attempt = (app: Express, ip: string, username: string, password: string) =>
  request(app).post('/auth/login').set('X-Forwarded-For', ip).send({ username, password, client_key: client.publicJwk });

for (const [name, backend] of Object.entries(SHARED_BACKENDS)) {
  backend.describe(`the login throttle shared through ${name}`, () => {
    let fleet: ThrottleFleet;
    let a: Express;
    let b: Express;
    beforeAll(async () => {
      fleet = await startFleet(backend, { LOGIN_RATE_LIMIT: String(LIMIT), LOGIN_IP_RATE_LIMIT: String(IP_LIMIT), TRUST_PROXY: '1' });
      [a, b] = fleet.instances.map((instance) => instance.app) as [Express, Express];
      await fleet.addUser('alice', PASSWORD);
      await fleet.addUser('bob', PASSWORD);
    });
    afterAll(() => fleet?.close());

    it('never counts a successful login: twelve in a minute all succeed, on either instance', async () => {
      for (let i = 0; i < 12; i++) {
        const res = await attempt(i % 2 ? a : b, '198.51.100.1', 'alice', PASSWORD);
        expect(res.status).toBe(200);
      }
    });

    it('answers the 11th failure for one username and client 429 with Retry-After, whichever instance gets it', async () => {
      const ip = '198.51.100.2';
      for (let i = 0; i < LIMIT; i++) {
        const res = await attempt(i % 2 ? a : b, ip, i % 3 ? 'alice' : 'ALICE', 'wrong password');
        expect([res.status, res.body.error]).toEqual([401, 'invalid_credentials']);
      }
      for (const app of [a, b]) {
        const res = await attempt(app, ip, 'alice', 'wrong password');
        expect([res.status, res.body.error]).toEqual([429, 'too_many_requests']);
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
      // Even the right password waits: the limit is on the username, not on wrong answers seen.
      expect((await attempt(a, ip, 'alice', PASSWORD)).status).toBe(429);
      // Another user from the same client, and the same user from another client, still log in.
      expect((await attempt(b, ip, 'bob', PASSWORD)).status).toBe(200);
      expect((await attempt(a, '198.51.100.3', 'alice', PASSWORD)).status).toBe(200);
    });

    it(`refuses a client after ${IP_LIMIT} failures across usernames`, async () => {
      const ip = '198.51.100.4';
      for (let i = 0; i < IP_LIMIT; i++) expect((await attempt(i % 2 ? a : b, ip, `nobody-${i}`, 'wrong password')).status).toBe(401);
      expect((await attempt(a, ip, 'nobody-else', 'wrong password')).status).toBe(429);
      expect((await attempt(b, ip, 'bob', PASSWORD)).status).toBe(429);
      expect((await attempt(b, '198.51.100.5', 'bob', PASSWORD)).status).toBe(200);
    });

    it('keeps its store bounded whatever a client sends: huge usernames add nothing, distinct ones stop at the client limit', async () => {
      const before = await fleet.storeSize();
      for (let i = 0; i < 20; i++) {
        const res = await attempt(i % 2 ? a : b, '198.51.100.6', `${i}-${'x'.repeat(16_000)}`, 'wrong password');
        expect([res.status, res.body.error]).toEqual([400, 'invalid_request']);
      }
      expect(await fleet.storeSize()).toBe(before);
      for (let i = 0; i < 3 * IP_LIMIT; i++) await attempt(i % 2 ? a : b, '198.51.100.7', `user-${i}`, 'wrong password');
      // One key for the client and one per username it could still try.
      expect(await fleet.storeSize()).toBe(before + 1 + IP_LIMIT);
    });
  });
}
