import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, freePort, healthy } from './probes.mjs';

/** The minimal environment of a child, and a free port (the suites import them from here). */
export { childEnv, freePort };

/** The repository root (this file lives in test/helpers/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled server, CLI and the contract client example. */
export const SERVER_JS = path.join(ROOT, 'dist', 'server.js');
export const CLI_JS = path.join(ROOT, 'dist', 'cli', 'index.js');
export const CONTRACT_CLIENT = path.join(ROOT, 'examples', 'contract-client.mjs');

/** What a finished child process left behind. */
export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra environment; the child does NOT inherit the test's environment beyond PATH, HOME and temp dirs. */
  readonly env?: Record<string, string>;
  /** Written to standard input, then closed. */
  readonly stdin?: string;
  /**
   * Working directory. Defaults to the system temp directory so that a `.env` file in the repository
   * (read by dotenv) cannot leak into the child.
   */
  readonly cwd?: string;
  /** Kill the child (SIGKILL) after this many ms. */
  readonly timeoutMs?: number;
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Every child started here and not yet exited, so {@link killAll} can clean up after a failed test. */
const live = new Map<ChildProcess, Promise<Exit>>();

/** Spawns `node script ...args`; `done` resolves once the child exited and its output streams closed. */
function spawnNode(script: string, args: readonly string[], options: RunOptions): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd ?? os.tmpdir(),
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  live.set(child, done);
  void done.then(() => live.delete(child));
  child.stdin?.on('error', () => undefined);
  if (options.stdin !== undefined) child.stdin?.write(options.stdin);
  child.stdin?.end();
  return { child, done };
}

/** Runs a Node script to completion and collects its output. */
export async function runNode(script: string, args: readonly string[] = [], options: RunOptions = {}): Promise<ProcessResult> {
  const { child, done } = spawnNode(script, args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const { code, signal } = await done;
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** Runs the `jwe-auth` CLI (`node dist/cli/index.js ...args`). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return runNode(CLI_JS, args, options);
}

/** Runs the CLI and throws with its output when it does not exit 0. */
export async function cli(args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const result = await runCli(args, options);
  if (result.code !== 0) {
    throw new Error(`jwe-auth ${args.join(' ')} exited ${String(result.code)}: ${result.stderr}${result.stdout}`);
  }
  return result;
}

/** A server running as a child process. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the server wrote to standard error so far. */
  stderr(): string;
  /** Everything the server wrote to standard output so far. */
  stdout(): string;
  /** Resolves when the process exits. */
  readonly exited: Promise<Exit>;
  /** SIGTERM, then wait for the exit (SIGKILL after `graceMs`). Safe to call twice. */
  stop(graceMs?: number): Promise<Exit>;
}

export interface StartOptions extends RunOptions {
  /** How long to wait for GET /healthz to answer 200. */
  readonly readyTimeoutMs?: number;
}

/** The server refused to start or never became healthy; carries what it wrote. */
export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly result: ProcessResult,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startOnce(options: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child, done: exited } = spawnNode(SERVER_JS, [], {
    ...options,
    env: { HOST: '127.0.0.1', ...options.env, PORT: String(port) },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  while (!(await healthy(url))) {
    if (hasExited || Date.now() > deadline) {
      if (!hasExited) child.kill('SIGKILL');
      const { code, signal } = await exited;
      throw new ServerStartError(
        hasExited ? `the server exited with ${String(code ?? signal)}: ${stderr}` : `the server did not become healthy: ${stderr}`,
        { code, signal, stdout, stderr },
      );
    }
    await sleep(50);
  }

  return {
    url,
    port,
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    async stop(graceMs = 8000) {
      if (!hasExited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}

/**
 * Starts `node dist/server.js` on a free port of 127.0.0.1 with `env` and waits until GET /healthz
 * answers 200. Retries on another port if the chosen one was taken in the meantime.
 *
 * @throws {ServerStartError} when the server exits or never becomes healthy.
 */
export async function startServerProcess(options: StartOptions = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      const portTaken = error instanceof ServerStartError && /cannot listen on port \d+ of [^ ]+ \(PORT\)/.test(error.result.stderr);
      if (!portTaken || attempt >= 3) throw error;
    }
  }
}

/**
 * Starts the server expecting it to refuse: waits for it to exit and returns what it wrote.
 * Throws when it becomes healthy instead (and stops it).
 */
export async function startServerExpectingFailure(options: StartOptions = {}): Promise<ProcessResult> {
  try {
    const server = await startServerProcess(options);
    await server.stop();
  } catch (error) {
    if (error instanceof ServerStartError) return error.result;
    throw error;
  }
  throw new Error('the server started, but it was expected to refuse');
}

/** Kills every child process started by this module that is still running (for afterAll/afterEach). */
export async function killAll(): Promise<void> {
  const children = [...live];
  for (const [child] of children) child.kill('SIGKILL');
  await Promise.all(children.map(([, done]) => done));
}

/** What the contract client printed: its one JSON line. */
export type ClientOutput = Record<string, unknown> & { ok: boolean; error?: string };

/**
 * Runs examples/contract-client.mjs as a separate process and parses its JSON line.
 *
 * @param args - `[baseUrl, username, kind]` (or just `[baseUrl]` in replay modes).
 * @param env - CLIENT_PASSWORD, REPLAY_BEARER, REPLAY_JWS, REPLAY_REFRESH, CLIENT_KEY, EXPORT_CLIENT_KEY...
 */
export async function runContractClient(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ProcessResult & { output: ClientOutput }> {
  const result = await runNode(CONTRACT_CLIENT, args, { env });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  let output: ClientOutput;
  try {
    output = JSON.parse(line) as ClientOutput;
  } catch {
    output = { ok: false, error: `no JSON line; stdout: ${result.stdout} stderr: ${result.stderr}` };
  }
  return { ...result, output };
}
