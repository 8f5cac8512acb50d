import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** With `CI=true` a suite that needs an outside service fails instead of being skipped. */
export const REQUIRED = process.env.CI === 'true';

/**
 * Prints one line on stderr, once per test run (Jest workers share a marker file keyed by the run's
 * main process), so a skipped suite is visible without repeating itself per file.
 */
function announceOnce(line: string): void {
  const runner = process.send ? process.ppid : process.pid;
  const marker = path.join(os.tmpdir(), `jwe-auth-skip-${runner}-${line.length}-${line.charCodeAt(0)}`);
  try {
    if (Date.now() - statSync(marker).mtimeMs > 10 * 60_000) unlinkSync(marker);
  } catch {
    // No marker yet.
  }
  try {
    closeSync(openSync(marker, 'wx'));
  } catch {
    return;
  }
  process.stderr.write(`${line}\n`);
}

/**
 * `describe` for a suite that needs an outside service (`resource`: Redis, PostgreSQL): runs it
 * when `available`; otherwise fails it under `CI=true`, or skips it with one visible line.
 *
 * @param hint - How to point the suites at one (`set REDIS_TEST_URL`).
 */
export function describeNeeding(resource: string, available: boolean, why: string, hint: string, name: string, body: () => void): void {
  if (available) return describe(name, body);
  if (REQUIRED) {
    return describe(name, () => {
      it(`has ${resource} available (required with CI=true)`, () => {
        throw new Error(`${why}; CI=true requires the ${resource} suites to run`);
      });
    });
  }
  announceOnce(`${resource} suites skipped: ${why} (${hint}, or CI=true to require it)`);
  return describe.skip(name, body);
}
