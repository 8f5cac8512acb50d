import path from 'node:path';
import { killAll, startServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';
import { slowBody } from './load.js';

afterAll(() => killAll());

describe('SHUTDOWN_TIMEOUT', () => {
  it('exits 1 when a request is still unanswered at the deadline, with a log line saying what it cut', async () => {
    const temp = tempDir('jwe-auth-shutdown-');
    try {
      const server = await startServerProcess({
        env: { SQLITE_PATH: path.join(temp.dir, 'auth.db'), SHUTDOWN_TIMEOUT: '1s', REQUEST_TIMEOUT: '1m' },
      });
      // A body that would take a minute to arrive: received (its headers are in), never complete.
      const held = slowBody(server.url, '/auth/login?from=test', JSON.stringify({ username: 'alice', password: 'p'.repeat(500) }), 60, 1000);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      const exit = await server.stop(15_000);
      expect(exit).toEqual({ code: 1, signal: null });
      const line = server
        .stdout()
        .split('\n')
        .find((l) => l.includes('shutdown timed out'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({
        level: 50,
        msg: 'shutdown timed out after 1000 ms: cut 1 unanswered request(s) (POST /auth/login) and 0 idle connection(s)',
        cut: ['POST /auth/login'],
      });
      expect(await held).toMatchObject({ error: expect.any(String) });
    } finally {
      temp.remove();
    }
  }, 30_000);
});
