import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeWithPostgres, PG_TEST_URL } from '../helpers/postgres.js';
import { ROOT, runNode, type ProcessResult } from '../helpers/process.js';
import { describeWithRedis, REDIS_TEST_URL } from '../helpers/redis.js';
import { REQUIRED } from '../helpers/requirement.js';
import { tempDir } from '../helpers/runtime.js';

/**
 * `npm run bench` in its short form (`--smoke`: one round of half a second, a few trials) against the
 * built dist/: it must start every peer and every server process, print the whole table and write its
 * JSON and SVG. The figures themselves are not asserted (a shared machine is noisy); that every valid
 * request got a 2xx is.
 */
const CASES = [
  'empty Express 5 route',
  'express-jwt HS256 (KeyObject secret)',
  'express-jwt RS256 (KeyObject public key)',
  'this server, warm (one sealed token reused)',
  'this server, cold (a fresh sealing per request)',
  'this server, DPoP (fresh proof per request)',
];
const RATIOS = ['warm vs express-jwt HS256', 'warm vs empty Express 5', 'cold vs express-jwt RS256', "DPoP vs warm (the proof check's price)"];

interface CaseResult {
  label: string;
  cpuUsPerRequest: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
}
interface LagResult {
  skipped?: string;
  p50Ms?: number;
  p99Ms?: number;
  timeouts?: number;
}
interface BenchResults {
  cases: Record<string, CaseResult>;
  ratios: Record<string, number>;
  loginIsolation: { loader: string; p99Ratio: number; p99RatioByRound: number[]; noiseFloor: number; noiseFloorByRound: number[]; logins: { total: number; ok: number } };
  workers: {
    loader: string;
    rpsRatio: number;
    ceiling: number;
    loaderCpuUsPerRequest: number;
    workers1: CaseResult & { loaderCpuUsPerRequest: number };
    workers2: CaseResult & { loaderCpuUsPerRequest: number };
  };
  revocation: Record<string, LagResult>;
  inProcess: { label: string; usPerOp: number }[];
}

/** Whether `wrk` is on PATH, as the bench (which gets this PATH) looks for it. */
const wrkInstalled = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter(Boolean)
  .some((dir) => {
    try {
      accessSync(path.join(dir, 'wrk'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

const temp = tempDir('jwe-auth-bench-smoke-');
let run: ProcessResult;
let results: BenchResults;

beforeAll(async () => {
  run = await runNode(
    path.join(ROOT, 'scripts', 'bench.mjs'),
    ['--smoke', '--json', path.join(temp.dir, 'bench.json'), '--svg', path.join(temp.dir, 'bench.svg')],
    { env: { BENCH_REDIS_URL: REDIS_TEST_URL, BENCH_PG_URL: PG_TEST_URL }, timeoutMs: 170_000 },
  );
  if (run.code !== 0) throw new Error(`the bench exited ${String(run.code ?? run.signal)}:\n${run.stderr}\n${run.stdout}`);
  results = JSON.parse(readFileSync(path.join(temp.dir, 'bench.json'), 'utf8')) as BenchResults;
}, 180_000);
afterAll(() => temp.remove());

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('npm run bench --smoke', () => {
  it.each(CASES)('prints a row of figures for %s, every request answered 2xx', (label) => {
    const row = new RegExp(`^${escape(label)} +(\\d+) +(\\d+) +([\\d.]+) +([\\d.]+) +(\\d+) +(\\d+)`, 'm').exec(run.stdout);
    expect(row).not.toBeNull();
    const [, cpu, , , , ok, non2xx] = (row as RegExpExecArray).map(Number);
    expect(cpu).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    expect(non2xx).toBe(0);
  });

  it('writes every case to the JSON with its CPU per request, throughput and latencies', () => {
    expect(Object.values(results.cases).map((c) => c.label)).toEqual(CASES);
    for (const c of Object.values(results.cases)) {
      expect(c).toMatchObject({ non2xx: 0 });
      for (const figure of [c.cpuUsPerRequest, c.rps, c.p50, c.p99]) expect(Number.isFinite(figure)).toBe(true);
    }
  });

  it.each(RATIOS)('prints the ratio %s', (label) => {
    expect(run.stdout).toMatch(new RegExp(`^  ${escape(label)} +\\d+\\.\\d\\d×`, 'm'));
  });

  it('measures /api/me under a login flood and WORKERS=2 against one worker', () => {
    expect(results.loginIsolation.logins.total).toBeGreaterThan(0);
    expect(Number.isFinite(results.loginIsolation.p99Ratio)).toBe(true);
    expect(run.stdout).toMatch(/^  p99 alone [\d.]+ ms, during [\d.]+ ms: [\d.]+× \(goal ≤ 2×\)/m);
    // The control: each round's ratio, and how far its two alone runs were apart (at least 1 by construction).
    expect(results.loginIsolation.p99RatioByRound.every((r) => Number.isFinite(r) && r > 0)).toBe(true);
    expect(results.loginIsolation.noiseFloorByRound.every((r) => Number.isFinite(r) && r >= 1)).toBe(true);
    expect(results.loginIsolation.noiseFloor).toBeGreaterThanOrEqual(1);
    expect(run.stdout).toMatch(/^  by round: [\d. ]+; noise floor \(.*\) [\d.]+× \(by round [\d. ]+\)/m);
    expect(results.workers.workers2).toMatchObject({ non2xx: 0 });
    expect(results.workers.workers2.ok).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/^  throughput ratio [\d.]+×/m);
  });

  // .ci/run installs wrk: under CI=true the wrk path (its report parsed) is required, so a change in
  // wrk's output fails here; a machine without wrk passes on the autocannon fallback, which says so.
  it(`drives the WORKERS and login isolation sections with wrk where installed (required with CI=true), else says it fell back to autocannon`, () => {
    const expected = REQUIRED || wrkInstalled ? 'wrk' : 'autocannon';
    expect(results.workers.loader).toBe(expected);
    // The login isolation section too: wrk's latencies are in µs, autocannon's in whole ms.
    expect(results.loginIsolation.loader).toBe(expected);
    expect(run.stdout).toMatch(new RegExp(`^login isolation: .*; load by ${expected}`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^WORKERS=2 against WORKERS=1, .*, load by ${expected}`, 'm'));
    if (expected === 'autocannon') expect(run.stdout).toMatch(/^  wrk is not installed: autocannon drives this section/m);
    for (const w of [results.workers.workers1, results.workers.workers2]) {
      expect(w.ok).toBeGreaterThan(0);
      expect(w.non2xx).toBe(0);
      expect(w.loaderCpuUsPerRequest).toBeGreaterThan(0);
    }
    expect(results.workers.ceiling).toBeGreaterThan(1);
    expect(results.workers.ceiling).toBeLessThanOrEqual(2);
    expect(run.stdout).toMatch(new RegExp(`^  WORKERS=2: \\d+ req/s, .*; ${expected} \\d+ CPU µs/req`, 'm'));
    expect(run.stdout).toMatch(/^  expected from one worker's cost with this load generator on the same two cores, 2S\/\(S\+X\): [\d.]+× \(S \d+ µs/m);
  });

  it('keeps the in-process figures', () => {
    expect(results.inProcess.map((f) => f.label)).toEqual([
      expect.stringMatching(/^issue: /),
      expect.stringMatching(/^accept: /),
      expect.stringMatching(/^refuse: /),
      expect.stringMatching(/^DPoP proof: /),
      expect.stringMatching(/^argon2id hash/),
    ]);
  });

  it('draws a bar per case in the SVG chart', () => {
    const svg = readFileSync(path.join(temp.dir, 'bench.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect x="\d+"/g)).toHaveLength(CASES.length);
    for (const label of CASES) expect(svg).toContain(label);
  });
});

/** The revocation section runs where the store is reachable (required under CI=true), else says it skipped. */
const expectLag = (store: string) => {
  const lag = results.revocation[store] as LagResult;
  expect(lag.skipped).toBeUndefined();
  expect(lag.timeouts).toBe(0);
  expect(Number.isFinite(lag.p50Ms)).toBe(true);
  expect(Number.isFinite(lag.p99Ms)).toBe(true);
  expect(run.stdout).toMatch(new RegExp(`^  ${store}: p50 [\\d.]+ ms, p99 [\\d.]+ ms`, 'm'));
};

describeWithRedis('npm run bench --smoke on Redis', () => {
  it('reports the revocation lag between two instances', () => expectLag('redis'));
});

describeWithPostgres('npm run bench --smoke on PostgreSQL', () => {
  it('reports the revocation lag between two instances', () => expectLag('postgres'));
});
