import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real service, which a test can cut (connections reset,
 * new ones refused: the service is gone) or stall (connections stay open, nothing goes through: the
 * service hangs), then restore. For failure tests against a shared service nobody may stop.
 */
export class TcpProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  #stalled = false;

  private constructor(
    private readonly targetPort: number,
    private readonly targetHost: string,
    public port: number,
  ) {}

  /** Starts forwarding 127.0.0.1:<free port> to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost, 0);
    await proxy.restore();
    return proxy;
  }

  /** Forwards again, on the same port. */
  async restore(): Promise<void> {
    this.#stalled = false;
    if (this.#server) return;
    const server = createServer((client) => this.#pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** The service vanishes: every open connection is reset and new ones are refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    this.#sockets.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** The service hangs: connections stay open (and new ones are accepted) but no byte goes through. */
  stall(): void {
    this.#stalled = true;
  }

  /** Stops the proxy for good. */
  close(): Promise<void> {
    return this.cut();
  }

  #pipe(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk: Buffer) => !this.#stalled && to.write(chunk));
    forward(client, upstream);
    forward(upstream, client);
  }
}
