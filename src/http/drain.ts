import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { answerClientError } from './client-errors.js';

/** How long a connection must stay idle during a drain before it is closed (capped to a quarter of the timeout). */
export const IDLE_CLOSE_DELAY_MS = 1000;

/** Timeouts of a {@link GracefulServer}, in milliseconds. */
export interface GracefulServerOptions {
  /** `REQUEST_TIMEOUT`: headers and body must be received by then, else 408 and the connection is closed. */
  readonly requestTimeoutMs: number;
  /** `SHUTDOWN_TIMEOUT`: the longest a drain may take before what is left is cut. */
  readonly shutdownTimeoutMs: number;
  /** Quiet time before an idle connection is closed during a drain; default {@link IDLE_CLOSE_DELAY_MS}. */
  readonly idleCloseDelayMs?: number;
}

/** How a drain ended. */
export interface DrainOutcome {
  /** Every request was answered and every connection closed in time. */
  readonly drained: boolean;
  /** Requests still unanswered when the timeout cut them, as `METHOD /path`. */
  readonly cut: readonly string[];
  /** Connections without a request in flight that the timeout closed. */
  readonly idleCut: number;
  /** How long the drain took. */
  readonly elapsedMs: number;
}

/** A connection and the responses in flight on it. */
interface Connection {
  readonly responses: Set<ServerResponse>;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * `METHOD /path` of a response's request, without the query, short enough for a log line. The path
 * as received (Express's `originalUrl`): inside a mounted router, `url` lacks the mount path, and a
 * body is read there, by the route that takes it.
 */
const describe = (res: ServerResponse): string => {
  const req = res.req as ServerResponse['req'] & { originalUrl?: string };
  return `${req.method ?? '?'} ${(req.originalUrl ?? req.url ?? '').split('?')[0]?.slice(0, 100) ?? ''}`;
};

/**
 * An HTTP server that times out slow requests and drains the way a load balancer does.
 *
 * - A request whose headers and body are not in within `requestTimeoutMs` gets 408 `request_timeout`
 *   (JSON) and its connection is closed (Node's `requestTimeout` and `headersTimeout`).
 * - {@link GracefulServer.drain}: stops listening at once; every request already received is answered;
 *   every response from then on carries `Connection: close`; a connection with nothing in flight is
 *   closed only after it stayed quiet for `idleCloseDelayMs`, so a client that sends on it in the
 *   meantime is answered instead of reset; past `shutdownTimeoutMs` whatever is left is cut.
 *
 * @example
 * const http = new GracefulServer(app, { requestTimeoutMs: 30_000, shutdownTimeoutMs: 10_000 });
 * await http.listen(3000, '0.0.0.0');
 * process.once('SIGTERM', async () => process.exit((await http.drain()).drained ? 0 : 1));
 */
export class GracefulServer {
  /** The Node server (for `address()` and events). */
  readonly server: Server;
  readonly #connections = new Map<Socket, Connection>();
  readonly #idleDelayMs: number;
  #draining = false;
  #drained: Promise<DrainOutcome> | undefined;
  #onQuiet: () => void = () => undefined;

  constructor(
    listener: RequestListener,
    private readonly options: GracefulServerOptions,
  ) {
    const timeout = options.requestTimeoutMs;
    // Node checks the timeouts on an interval (30 s by default): check often enough to keep the bound.
    const checkEvery = Math.max(100, Math.min(1000, Math.floor(timeout / 4)));
    this.server = createServer({ requestTimeout: timeout, headersTimeout: timeout, connectionsCheckingInterval: checkEvery }, (req, res) => {
      this.#track(req.socket, res);
      if (this.#draining) res.setHeader('Connection', 'close');
      listener(req, res);
    });
    this.#idleDelayMs = Math.min(options.idleCloseDelayMs ?? IDLE_CLOSE_DELAY_MS, Math.floor(options.shutdownTimeoutMs / 4));
    this.server.on('connection', (socket: Socket) => this.#open(socket));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      const responses = this.#connections.get(socket)?.responses ?? new Set();
      answerClientError(error, socket, [...responses].some((res) => res.headersSent));
    });
  }

  /** Whether a drain has begun (readiness answers 503 from then on). */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Listens on `port` and `host`.
   *
   * @throws the listen error (`EADDRINUSE`...).
   */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Drains (see the class): resolves once every connection is closed, or at `shutdownTimeoutMs` with
   * what was cut. Calling it again returns the same drain.
   */
  drain(): Promise<DrainOutcome> {
    this.#drained ??= new Promise((resolve) => {
      this.#draining = true;
      const started = performance.now();
      const elapsedMs = () => Math.round(performance.now() - started);
      const timer = setTimeout(() => {
        const open = [...this.#connections];
        const cut = open.flatMap(([, connection]) => [...connection.responses].map(describe));
        const idleCut = open.filter(([, connection]) => connection.responses.size === 0).length;
        for (const [socket] of open) socket.destroy();
        resolve({ drained: false, cut, idleCut, elapsedMs: elapsedMs() });
      }, this.options.shutdownTimeoutMs);
      this.#onQuiet = () => {
        if (this.#connections.size > 0) return;
        clearTimeout(timer);
        resolve({ drained: true, cut: [], idleCut: 0, elapsedMs: elapsedMs() });
      };
      // Not http.Server#close(): it also closes idle keep-alive connections at once, which resets a
      // request a client is sending on one at that instant. The listening socket closes all the same.
      NetServer.prototype.close.call(this.server);
      for (const [socket, connection] of this.#connections) {
        for (const res of connection.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
        if (connection.responses.size === 0) this.#closeWhenQuiet(socket, connection);
      }
      this.#onQuiet();
    });
    return this.#drained;
  }

  #open(socket: Socket): void {
    const connection: Connection = { responses: new Set(), idleTimer: undefined };
    this.#connections.set(socket, connection);
    socket.once('close', () => {
      clearTimeout(connection.idleTimer);
      this.#connections.delete(socket);
      if (this.#draining) this.#onQuiet();
    });
    if (this.#draining) this.#closeWhenQuiet(socket, connection);
  }

  #track(socket: Socket, res: ServerResponse): void {
    const connection = this.#connections.get(socket);
    if (!connection) return;
    clearTimeout(connection.idleTimer);
    connection.responses.add(res);
    res.once('close', () => {
      connection.responses.delete(res);
      if (this.#draining && connection.responses.size === 0) this.#closeWhenQuiet(socket, connection);
    });
  }

  #closeWhenQuiet(socket: Socket, connection: Connection): void {
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => {
      if (connection.responses.size === 0) socket.destroy();
    }, this.#idleDelayMs);
  }
}
