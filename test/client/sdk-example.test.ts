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
    ACCESS_TOKEN_TTL: '1s',
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

  /** Runs the example as the README shows it (password on stdin, `USERNAME [BASE_URL]`) and parses its lines. */
  async function runExample(...extra: string[]): Promise<Array<Record<string, unknown>>> {
    const result = await runNode(EXAMPLE, ['alice', server.url, ...extra], { stdin: `${PASSWORD}\n`, cwd: ROOT, timeoutMs: 20_000 });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    return result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('is under 20 lines, signs in, calls /api/me, refreshes and calls again without waiting', async () => {
    expect((await readFile(EXAMPLE, 'utf8')).trimEnd().split('\n').length).toBeLessThan(20);
    const [login, refreshed] = await runExample();
    expect(login).toMatchObject({ step: 'login', me: { username: 'alice' } });
    expect(refreshed).toMatchObject({ step: 'after-refresh', me: { username: 'alice', session_id: (login?.me as { session_id: string }).session_id }, refreshed: true });
  }, 30_000);

  it('with --wait-for-expiry, survives the access token expiring (the SDK refreshes by itself)', async () => {
    const [login, afterExpiry] = await runExample('--wait-for-expiry');
    expect(afterExpiry).toMatchObject({ step: 'after-expiry', me: { username: 'alice', session_id: (login?.me as { session_id: string }).session_id }, refreshed: true });
  }, 30_000);

  it('prints its usage and exits 2 without a username', async () => {
    const result = await runNode(EXAMPLE, [], { cwd: ROOT });
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^usage: printf %s PASSWORD \| node examples\/sdk-node\.mjs USERNAME \[BASE_URL\]/);
  });
});
