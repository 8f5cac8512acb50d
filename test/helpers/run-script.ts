import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled entry points (jest's globalSetup builds dist/ first). */
export const DIST_SERVER = path.join(ROOT, 'dist', 'server.js');
export const DIST_CLI = path.join(ROOT, 'dist', 'cli', 'index.js');

/** How a finished script ended and what it wrote. */
export interface ScriptResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node <script> ...args` to its end. The child gets only PATH and HOME from this process plus
 * `env`, and runs in the temp directory so no `.env` file of the repository reaches it.
 *
 * @example const { code, stderr } = await runScript(DIST_CLI, ['users', 'list'], { env: { SQLITE_PATH } });
 */
export function runScript(
  script: string,
  args: readonly string[] = [],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<ScriptResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...options.env };
  const child = spawn(process.execPath, [script, ...args], { cwd: os.tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
