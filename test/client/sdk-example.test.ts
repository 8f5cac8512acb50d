import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cli, killAll, ROOT, runNode, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';

const EXAMPLE = path.join(ROOT, 'examples', 'sdk-node.mjs');
const PASSWORD = 'correct horse battery';

describe('examples/sdk-node.mjs against a server process', () => {
  const temp = tempDir('jwe-auth-sdk-example-');
  const env = {
    SQLITE_PATH: path.join(temp.dir, 'auth.db'),
    KEYS_DIR: path.join(temp.dir, 'keys'),
    COOKIE_SECURE: 'false',
    ACCESS_TOKEN_TTL: '2s',
    LOG_LEVEL: 'warn',
  };
  let server: ServerProcess;

  beforeAll(async () => {
    await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n` });
    server = await startServerProcess({ env });
  });
  afterAll(async () => {
    await server?.stop();
    await killAll();
    temp.remove();
  });

  it('is under 20 lines, signs in, calls /api/me, and survives the access token expiring', async () => {
    expect((await readFile(EXAMPLE, 'utf8')).trimEnd().split('\n').length).toBeLessThan(20);

    const result = await runNode(EXAMPLE, [server.url, 'alice'], { env: { AUTH_PASSWORD: PASSWORD }, timeoutMs: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [login, afterExpiry] = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(login).toMatchObject({ step: 'login', me: { username: 'alice' } });
    expect(afterExpiry).toMatchObject({ step: 'after-expiry', me: { username: 'alice', session_id: login.me.session_id }, refreshed: true });
  }, 30_000);
});
