import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Why a port could not be bound, in words, by `error.code`. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'it is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not available on this machine',
};

/** A listener could not be started; `message` is one line naming the variable, the port and the host. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  /** Stable code for callers and tests. */
  readonly code = 'listen_failed';
  constructor(
    message: string,
    /** The system error code (`EADDRINUSE`, `EACCES`...). */
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * Binds a server and resolves with the port it listens on (useful when `port` is 0).
 *
 * @param variable - The setting that chose the port (`PORT`, `METRICS_PORT`), named in the error.
 * @throws {ListenError} `cannot listen on port 3000 of 0.0.0.0 (PORT): it is already in use (EADDRINUSE)`.
 * @example const port = await listen(createServer(app), config.port, config.host, 'PORT');
 */
export function listen(server: Server, port: number, host: string, variable: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      const code = error.code ?? 'unknown';
      const reason = REASONS[code] ?? error.message.split('\n')[0];
      reject(new ListenError(`cannot listen on port ${port} of ${host} (${variable}): ${reason} (${code})`, code));
    };
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * The base URL a person on this machine opens for a server bound to `host`: a wildcard address
 * (`0.0.0.0`, `::`) becomes `localhost`, and an IPv6 address gets its brackets.
 *
 * @example browsableUrl('0.0.0.0', 3000); // 'http://localhost:3000'
 */
export function browsableUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}
