import path from 'node:path';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { freePort, killAll, runNode, SERVER_JS, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';

/** `node dist/server.js` as an operator runs it: its first log line, its metrics port, a busy port. */
const temp = tempDir('jwe-auth-server-process-');
const env = { SQLITE_PATH: path.join(temp.dir, 'auth.db'), KEYS_DIR: path.join(temp.dir, 'keys') };
let server: ServerProcess;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  server = await startServerProcess({ env: { ...env, METRICS_PORT: String(metricsPort) } });
}, 30_000);
afterAll(async () => {
  await server?.stop();
  await killAll();
  temp.remove();
});

it('names the home page, the demo, the API reference, the JWKS and the metrics in its startup line', () => {
  const startup = server
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => String(line.msg).startsWith('jwe-auth-server listening'));
  const home = `http://127.0.0.1:${server.port}`;
  expect(startup).toMatchObject({
    port: server.port,
    demo: `${home}/demo`,
    docs: `${home}/docs`,
    jwks: `${home}/.well-known/jwks.json`,
    metrics: `http://127.0.0.1:${metricsPort}/metrics`,
  });
  expect(startup?.msg).toContain(`open ${home}/ (demo /demo, API reference /docs, JWKS /.well-known/jwks.json)`);
});

it('serves /metrics on METRICS_PORT, counting the requests of the public port', async () => {
  await fetch(`${server.url}/healthz`);
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.status).toBe(200);
  const samples = parseExposition(await res.text());
  expect(valueOf(samples, 'jwe_auth_http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBeGreaterThanOrEqual(1);
  expect(samples.some((sample) => sample.name === 'process_start_time_seconds')).toBe(true);
  expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
});

it('writes an access log line per request with the echoed request id', async () => {
  const res = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'probe-42' } });
  expect(res.headers.get('x-request-id')).toBe('probe-42');
  const deadline = Date.now() + 5000;
  while (!server.stdout().includes('"request_id":"probe-42"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const line = server
    .stdout()
    .split('\n')
    .find((text) => text.includes('"request_id":"probe-42"'));
  expect(JSON.parse(line ?? '{}')).toMatchObject({ msg: 'request', method: 'GET', route: '/healthz', status: 200 });
});

it.each([
  ['PORT', () => ({ PORT: String(server.port) })],
  ['METRICS_PORT', () => ({ METRICS_PORT: String(metricsPort) })],
])('exits 1 with one line naming the port when %s is already in use', async (variable, ports) => {
  const busy = ports();
  const port = Object.values(busy)[0] as string;
  const result = await runNode(SERVER_JS, [], { env: { ...env, HOST: '127.0.0.1', PORT: '0', ...busy, SQLITE_PATH: path.join(temp.dir, `${variable}.db`) } });
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(`jwe-auth-server: cannot listen on port ${port} of 127.0.0.1 (${variable}): it is already in use (EADDRINUSE)\n`);
}, 30_000);
