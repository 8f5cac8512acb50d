/**
 * wrk (C, epoll) as the load generator where the load generator's own cost matters: in the WORKERS
 * section the generator shares the two cores with the servers, and autocannon (JavaScript) costs two to
 * three times wrk's CPU per request. wrk sends one prebuilt request with fixed headers; a fresh header
 * per request (the cold and DPoP cases) stays with autocannon's pooled headers.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../../test/helpers/probes.mjs';
import { otherCores } from './load.mjs';
import { machineBusySeconds, TICKS_PER_SECOND } from './processes.mjs';

const REPORT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wrk-report.lua');
const MARKER = 'wrk-report ';

/** The path of an executable `wrk` on PATH, or null. */
export function findWrk(searchPath = process.env.PATH ?? '') {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'wrk');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

/**
 * Which generator drives the WORKERS section: `BENCH_LOADER=wrk` requires wrk, `autocannon` forces the
 * fallback, unset picks wrk when it is installed.
 *
 * @returns `{name: 'wrk' | 'autocannon', wrk: path | null, why}`
 */
export function chooseLoader(choice = process.env.BENCH_LOADER || 'auto') {
  if (!['auto', 'wrk', 'autocannon'].includes(choice)) throw new Error(`BENCH_LOADER must be wrk or autocannon, not ${JSON.stringify(choice)}`);
  if (choice === 'autocannon') return { name: 'autocannon', wrk: null, why: 'BENCH_LOADER=autocannon' };
  const wrk = findWrk();
  if (wrk) return { name: 'wrk', wrk, why: choice === 'wrk' ? 'BENCH_LOADER=wrk' : 'installed' };
  if (choice === 'wrk') throw new Error('BENCH_LOADER=wrk but no wrk on PATH (Debian/Ubuntu: apt-get install wrk)');
  return { name: 'autocannon', wrk: null, why: 'wrk is not installed' };
}

const REPORT_FIELDS = ['requests', 'durationUs', 'statusErrors', 'connectErrors', 'readErrors', 'writeErrors', 'timeouts', 'p50Us', 'p99Us', 'utimeTicks', 'stimeTicks'];

/**
 * The figures of the `wrk-report` line our Lua script prints at the end of a run; throws (with wrk's
 * whole output) when the line is missing, is not JSON or lacks a figure, so a changed wrk cannot pass
 * for a run that measured nothing.
 */
export function parseWrkReport(stdout, stderr = '') {
  const fail = (why) => new Error(`could not read wrk's report (${why}); its output:\n${stdout}${stderr}`);
  const lines = stdout.split('\n').filter((line) => line.startsWith(MARKER));
  if (lines.length !== 1) throw fail(`${lines.length} report lines`);
  let report;
  try {
    report = JSON.parse(lines[0].slice(MARKER.length));
  } catch (error) {
    throw fail(error.message);
  }
  for (const field of REPORT_FIELDS) {
    if (!Number.isFinite(report[field]) || report[field] < 0) throw fail(`${field} is ${JSON.stringify(report[field])}`);
  }
  if (report.durationUs === 0) throw fail('a run of no time');
  return report;
}

/** Runs wrk to its end; resolves with its output, rejects when it cannot start or exits non-zero. */
function runWrk(wrk, args, env) {
  const child = spawn(wrk, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`wrk exited ${code ?? signal}:\n${stdout}${stderr}`))));
  });
}

/**
 * `measure` (load.mjs) with wrk: one thread (so it stays on one core), `connections` connections, the
 * fixed headers of `headers` (as `-H` would send them, handed over in the environment), for `seconds`
 * rounded up to whole seconds (wrk takes no fractions). wrk counts answers of 400 and above as errors (`non2xx` here; `/api/me` answers 200 or 401).
 * `loaderCpuUsPerRequest` is wrk's own CPU time per answered request; the other figures are those of
 * `measure`.
 */
export async function measureWithWrk(wrk, target, { path: urlPath = '/api/me', seconds, connections, headers }) {
  if (headers.requests !== undefined) throw new Error('wrk sends fixed headers only: pooled headers need autocannon');
  const args = ['-t', '1', '-c', String(connections), '-d', `${Math.max(1, Math.ceil(seconds))}s`, '-s', REPORT_SCRIPT, `${target.url}${urlPath}`];
  // What `-H` would send, through the environment: the bearer stays off wrk's command line.
  const lines = Object.entries(headers.headers).map(([name, value]) => `${name}: ${value}`);
  if (lines.some((line) => /[\r\n]/.test(line))) throw new Error('a header with a line break');
  const env = childEnv({ BENCH_WRK_HEADERS: lines.join('\n') });
  const before = target.cpuSeconds();
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const { stdout, stderr } = await runWrk(wrk, args, env);
  const cpu = target.cpuSeconds() - before;
  const busy = machineBusySeconds() - busyBefore;
  const wall = (performance.now() - started) / 1000;
  const report = parseWrkReport(stdout, stderr);
  const ok = report.requests - report.statusErrors;
  const loaderCpu = (report.utimeTicks + report.stimeTicks) / TICKS_PER_SECOND;
  return {
    cpuUsPerRequest: ok > 0 ? (cpu * 1e6) / ok : null,
    rps: ok / (report.durationUs / 1e6),
    p50: report.p50Us / 1000,
    p99: report.p99Us / 1000,
    ok,
    non2xx: report.statusErrors,
    errors: report.connectErrors + report.readErrors + report.writeErrors + report.timeouts,
    madeDuringRun: 0,
    cpuSeconds: cpu,
    cores: cpu / wall,
    loaderCpuUsPerRequest: ok > 0 ? (loaderCpu * 1e6) / ok : null,
    otherCores: otherCores(busy, cpu, loaderCpu, wall),
  };
}
