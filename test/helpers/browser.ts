import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { runNode, ROOT } from './process.js';

/** Debian's chromium: the only browser the tests drive (never a downloaded one). */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet headless chromium in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether the browser suite can run. Without chromium it fails in CI (`CI=true`) and is skipped
 * elsewhere, saying so in one line.
 *
 * @example const describeBrowser = browserSuite() ? describe : describe.skip;
 */
export function browserSuite(): boolean {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return true;
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium); in CI they are required`);
  return false;
}

/** An app listening on 127.0.0.1, counting the requests it received by `METHOD /path`. */
export interface Listening {
  readonly url: string;
  hits(key: string): number;
  close(): Promise<void>;
}

/**
 * Makes the app listen on a free port of 127.0.0.1, for clients that need a real socket (the SDK's
 * `fetch`, a browser), and counts requests without touching the app.
 *
 * @example
 * const http = await listen(server.app);
 * await fetch(`${http.url}/healthz`);
 * expect(http.hits('GET /healthz')).toBe(1);
 */
export async function listen(app: Express): Promise<Listening> {
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const key = `${req.method ?? 'GET'} ${new URL(req.url ?? '/', 'http://x').pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: (key) => counts.get(key) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Builds the demo page into dist/web (the jest global setup only runs tsc). */
export async function buildDemoPage(): Promise<void> {
  const result = await runNode(path.join(ROOT, 'scripts', 'build-web.mjs'), [], { cwd: ROOT, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`scripts/build-web.mjs failed: ${result.stderr}${result.stdout}`);
}
