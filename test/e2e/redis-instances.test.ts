import { cli, killAll, runContractClient, startServerProcess, type ClientOutput, type ServerProcess } from '../helpers/process.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, redisFleetEnv, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/runtime.js';

/**
 * The whole session life cycle against two server processes sharing one Redis, driven by the
 * contract client (another process) and plain fetch, as an operator would run them.
 */
const PASSWORD = 'correct horse battery staple';

describeWithRedis('two server processes on one Redis', () => {
  const temp = tempDir();
  const prefix = uniquePrefix('e2e');
  const env = redisFleetEnv(temp.dir, prefix);
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    await cli(['keys', 'generate'], { env });
    await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n` });
    [a, b] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  }, 60_000);
  afterAll(async () => {
    await killAll();
    await deleteKeys(REDIS_TEST_URL, prefix);
    temp.remove();
  });

  const loginAt = async (server: ServerProcess): Promise<ClientOutput> => {
    const { output } = await runContractClient([server.url, 'alice', 'x25519'], { CLIENT_PASSWORD: PASSWORD, EXPORT_CLIENT_KEY: '1' });
    expect(output.error).toBeUndefined();
    return output;
  };
  const meAt = async (server: ServerProcess, bearer: unknown) =>
    (await runContractClient([server.url], { REPLAY_BEARER: bearer as string })).output.me_status;
  const refreshAt = async (server: ServerProcess, token: unknown, clientKey: unknown) =>
    (await runContractClient([server.url], { REPLAY_REFRESH: token as string, CLIENT_KEY: JSON.stringify(clientKey) })).output;
  const post = (server: ServerProcess, route: string, bearer: unknown) =>
    fetch(`${server.url}${route}`, { method: 'POST', headers: { Authorization: `Bearer ${bearer as string}` } });

  it('serves a session opened on one instance from the other, refreshes there, and sees a logout at once', async () => {
    const session = await loginAt(a);
    expect(await meAt(b, session.bearer)).toBe(200);

    const refreshed = await refreshAt(b, session.refresh_token, session.client_key);
    expect(refreshed).toMatchObject({ refresh_status: 200, me_status: 200, session_id: session.session_id });
    expect(await meAt(a, refreshed.bearer)).toBe(200);

    expect((await post(a, '/auth/logout', refreshed.bearer)).status).toBe(204);
    expect(await meAt(b, refreshed.bearer)).toBe(401);
    expect(await meAt(b, session.bearer)).toBe(401);
    expect(await refreshAt(b, refreshed.refresh_token, session.client_key)).toMatchObject({ refresh_status: 401 });
  });

  it('ends every device of the user on both instances with logout-all-devices', async () => {
    const [one, two] = [await loginAt(a), await loginAt(b)];
    expect(await meAt(a, two.bearer)).toBe(200);
    expect((await post(b, '/auth/logout-all-devices', one.bearer)).status).toBe(204);
    expect(await meAt(a, one.bearer)).toBe(401);
    expect(await meAt(a, two.bearer)).toBe(401);
    expect(await refreshAt(a, two.refresh_token, two.client_key)).toMatchObject({ refresh_status: 401 });
  });

  it("refuses a disabled user's tokens on both instances, and serves them again once enabled", async () => {
    const session = await loginAt(b);
    await cli(['users', 'disable', 'alice'], { env });
    expect(await meAt(a, session.bearer)).toBe(401);
    expect(await meAt(b, session.bearer)).toBe(401);
    await cli(['users', 'enable', 'alice'], { env });
    expect(await meAt(a, session.bearer)).toBe(200);
  });
});
