import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** What one request of a load loop ended with. */
export interface Outcome {
  readonly kind: string;
  /** Which instance answered (or failed): its base URL. */
  readonly url: string;
  readonly status?: number;
  /** The response said `Connection: close`. */
  readonly closing?: boolean;
  /** The error code of a request that got no answer (`ECONNRESET`, `ECONNREFUSED`...). */
  readonly error?: string;
  /** Sent before, and answered after, the moment {@link LoadRun.mark} was called. */
  readonly spannedMark: boolean;
}

/** A request a loop sends. */
export interface LoopRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Errors that mean the instance never took the connection (a load balancer moves on); any other lost request is a failure. */
export const NOT_RECEIVED = new Set(['ECONNREFUSED']);

/**
 * Loops of keep-alive requests, as clients behind a load balancer would send them: each loop keeps
 * one connection to its instance and moves to the next instance once told `Connection: close` (or
 * refused a connection), the way a balancer stops routing to an instance that is draining. A loop
 * told so by the last instance of its list stops: there is nowhere left to send it.
 */
export class LoadRun {
  readonly outcomes: Outcome[] = [];
  #marked = false;
  #stopped = false;
  readonly #loops: Promise<void>[] = [];

  constructor(private readonly urls: readonly string[]) {}

  /** Starts a loop of `request` on `urls[0]`, moving along the list when told to. */
  loop(kind: string, request: () => LoopRequest): void {
    this.#loops.push(this.#run(kind, request));
  }

  /** Marks the moment of interest (the SIGTERM): outcomes record whether they spanned it. */
  mark(): void {
    this.#marked = true;
  }

  /** Resolves once every loop made at least `count` requests. */
  async warmedUp(count: number, loops: number): Promise<void> {
    for (;;) {
      const perKind = new Map<string, number>();
      for (const outcome of this.outcomes) perKind.set(outcome.kind, (perKind.get(outcome.kind) ?? 0) + 1);
      if (perKind.size >= loops && [...perKind.values()].every((n) => n >= count)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops every loop after its request in flight and waits for them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  /** The outcomes that lost a request the instance had received (resets, hang-ups). */
  failures(): Outcome[] {
    return this.outcomes.filter((outcome) => outcome.error !== undefined && !NOT_RECEIVED.has(outcome.error));
  }

  async #run(kind: string, request: () => LoopRequest): Promise<void> {
    let index = 0;
    let agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (!this.#stopped) {
      const url = this.urls[index] as string;
      const markedBefore = this.#marked;
      const outcome = await send(url, request(), agent).then(
        (answer) => ({ kind, url, ...answer }),
        (error: NodeJS.ErrnoException) => ({ kind, url, error: error.code ?? error.message }),
      );
      this.outcomes.push({ ...outcome, spannedMark: !markedBefore && this.#marked });
      if ('closing' in outcome ? outcome.closing : NOT_RECEIVED.has(outcome.error)) {
        if (index === this.urls.length - 1) break;
        agent.destroy();
        agent = new Agent({ keepAlive: true, maxSockets: 1 });
        index++;
      }
    }
    agent.destroy();
  }
}

/** One request on `agent`; resolves with the status and whether the response closes the connection. */
function send(url: string, request: LoopRequest, agent: Agent): Promise<{ status: number; closing: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${request.path}`, { method: request.method, headers: request.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, closing: res.headers.connection === 'close' }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

/**
 * Sends a request whose body trickles in: the headers at once, then the body in `pieces` pieces
 * `everyMs` apart. Resolves with the status line and whether it closes the connection, or the error.
 */
export function slowBody(url: string, path: string, body: string, pieces: number, everyMs: number): Promise<{ status?: number; closing?: boolean; error?: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const size = Math.ceil(body.length / pieces);
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < body.length) socket.write(body.slice(sent, (sent += size)));
    }, everyMs);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const done = (error?: string) => {
      clearInterval(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      resolve(status ? { status: Number(status), closing: /\r\nConnection: close\r\n/i.test(received) } : { error: error ?? 'no answer' });
    };
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code));
    socket.once('close', () => done());
  });
}
