import { Agent, request as httpRequest, type IncomingMessage, type RequestListener } from 'node:http';
import { connect, type Socket } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/http/app.js';
import { GracefulServer, type GracefulServerOptions } from '../../src/http/drain.js';
import { startTestServer } from '../helpers/runtime.js';

/** A response the test lets go when it wants. */
function held(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

let server: GracefulServer | undefined;
afterEach(async () => {
  if (server && !server.draining) await server.drain();
  server = undefined;
});

async function start(listener: RequestListener, options: Partial<GracefulServerOptions> = {}): Promise<number> {
  server = new GracefulServer(listener, { requestTimeoutMs: 30_000, shutdownTimeoutMs: 10_000, ...options });
  return (await server.listen(0, '127.0.0.1')).port;
}

/** GET on a keep-alive agent; resolves with the response, its body and the connection it came on. */
function get(port: number, path: string, agent: Agent): Promise<{ res: IncomingMessage; body: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      const socket = res.socket;
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ res, body, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a new TCP connection to `port` is refused. */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });

describe('GracefulServer.drain', () => {
  it('stops listening at once and answers a request in flight with Connection: close before it resolves', async () => {
    const response = held();
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const port = await start(async (_req, res) => {
      received();
      await response.promise;
      res.end('done');
    });
    const agent = new Agent({ keepAlive: true });
    const answer = get(port, '/slow', agent);
    await arrived;
    const drained = server!.drain();
    expect(await refused(port)).toBe(true);
    response.release();
    const { res, body } = await answer;
    expect([res.statusCode, body, res.headers.connection]).toEqual([200, 'done', 'close']);
    expect(await drained).toMatchObject({ drained: true, cut: [] });
    agent.destroy();
  });

  it('answers a request sent on an idle keep-alive connection during the quiet delay, then closes it', async () => {
    const port = await start((_req, res) => res.end('ok'), { idleCloseDelayMs: 5000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(port, '/one', agent);
    expect(first.res.headers.connection).toBe('keep-alive');
    const socketClosed = new Promise<boolean>((resolve) => first.socket.once('close', (hadError: boolean) => resolve(hadError)));
    const drained = server!.drain();
    // The client reuses its idle connection just after the drain began: answered, not reset.
    const second = await get(port, '/two', agent);
    expect([second.res.statusCode, second.res.headers.connection]).toEqual([200, 'close']);
    expect(await socketClosed).toBe(false);
    expect(await drained).toMatchObject({ drained: true });
    agent.destroy();
  });

  it('closes an idle keep-alive connection that stays quiet, without an error on the client', async () => {
    const port = await start((_req, res) => res.end('ok'), { idleCloseDelayMs: 50 });
    const agent = new Agent({ keepAlive: true });
    const { socket } = await get(port, '/', agent);
    const socketClosed = new Promise<boolean>((resolve) => socket.once('close', (hadError: boolean) => resolve(hadError)));
    expect(await server!.drain()).toMatchObject({ drained: true });
    expect(await socketClosed).toBe(false);
    agent.destroy();
  });

  it('cuts what is left at the shutdown timeout and says what it cut', async () => {
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const port = await start(() => received(), { shutdownTimeoutMs: 200 });
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST /auth/login?user=x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    await arrived;
    expect(await server!.drain()).toMatchObject({ drained: false, cut: ['POST /auth/login'], idleCut: 0 });
  });
});

/** Sends `head`, then `body` one byte every `everyMs`, and returns everything the server sent until it closed. */
function trickle(port: number, head: string, body: string, everyMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    const timer = setInterval(() => (sent < body.length ? socket.write(body[sent++] as string) : undefined), everyMs);
    socket.write(head);
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
      clearInterval(timer);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearInterval(timer);
      resolve(received);
    });
  });
}

describe('REQUEST_TIMEOUT', () => {
  const jsonBody = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { error: string };

  it('answers a body that trickles in too slowly 408 request_timeout in JSON and closes the connection', async () => {
    const port = await start((req, res) => req.resume().on('end', () => res.end('read it all')), { requestTimeoutMs: 400 });
    const body = JSON.stringify({ username: 'alice', password: 'x'.repeat(100) });
    const response = await trickle(port, `POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body, 50);
    expect(response).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(response).toContain('Content-Type: application/json');
    expect(jsonBody(response).error).toBe('request_timeout');
  });

  it('answers headers that trickle in too slowly the same way', async () => {
    const port = await start((_req, res) => res.end('never'), { requestTimeoutMs: 400 });
    const response = await trickle(port, 'GET / HTTP/1.1\r\n', `Host: x\r\nX-Slow: ${'y'.repeat(200)}\r\n\r\n`, 50);
    expect(jsonBody(response).error).toBe('request_timeout');
  });

  it('answers malformed HTTP 400 invalid_request in JSON', async () => {
    const port = await start((_req, res) => res.end('never'));
    const response = await trickle(port, 'NOT HTTP AT ALL\r\n\r\n', '', 1000);
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(jsonBody(response).error).toBe('invalid_request');
  });
});

describe('/readyz during a shutdown', () => {
  it('answers 503 temporarily_unavailable with Retry-After once the app is told the process is shutting down', async () => {
    const test = await startTestServer();
    try {
      let shuttingDown = false;
      const app = createApp(test.runtime, { isShuttingDown: () => shuttingDown });
      expect((await request(app).get('/readyz')).status).toBe(200);
      shuttingDown = true;
      const res = await request(app).get('/readyz');
      expect([res.status, res.body.error, res.headers['retry-after']]).toEqual([503, 'temporarily_unavailable', '1']);
    } finally {
      await test.close();
    }
  });
});
