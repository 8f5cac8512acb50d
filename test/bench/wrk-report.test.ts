import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chooseLoader, findWrk, parseWrkReport } from '../../bench/lib/wrk.mjs';
import { tempDir } from '../helpers/runtime.js';

/**
 * The bench's reading of wrk (bench/lib/wrk.mjs): the one line its Lua hook prints is read into
 * figures, and anything else stops the bench with wrk's output instead of passing for a measurement.
 * The line itself, from a real wrk, is checked by the smoke test (required there under CI=true).
 */
const FIGURES = {
  requests: 28447,
  durationUs: 3001234,
  statusErrors: 0,
  connectErrors: 0,
  readErrors: 0,
  writeErrors: 0,
  timeouts: 0,
  p50Us: 4301,
  p99Us: 19950,
  utimeTicks: 8,
  stimeTicks: 15,
};
const HUMAN = 'Running 3s test @ http://127.0.0.1:1/api/me\n  1 threads and 50 connections\n  28447 requests in 3.00s, 9.1MB read\nRequests/sec:   9478.11\n';
const report = (figures: Record<string, unknown>) => `${HUMAN}wrk-report ${JSON.stringify(figures)}\n`;

describe('parseWrkReport', () => {
  it('reads the figures of the report line among the human-readable summary', () => {
    expect(parseWrkReport(report(FIGURES))).toEqual(FIGURES);
  });

  it.each([
    ['no report line (a wrk without the Lua hook)', HUMAN],
    ['two report lines', `${report(FIGURES)}${report(FIGURES)}`],
    ['a line that is not JSON', `${HUMAN}wrk-report {"requests":28447,\n`],
    ['a missing figure', report({ ...FIGURES, stimeTicks: undefined })],
    ['a figure that is no number', report({ ...FIGURES, requests: '28447' })],
    ['a negative figure', report({ ...FIGURES, timeouts: -1 })],
    ['a run of no time', report({ ...FIGURES, durationUs: 0 })],
  ])('throws, with wrk output, on %s', (_why, stdout) => {
    expect(() => parseWrkReport(stdout, 'stderr of wrk')).toThrow(/could not read wrk's report[\s\S]*Running 3s test[\s\S]*stderr of wrk/);
  });
});

describe('chooseLoader', () => {
  const temp = tempDir('jwe-auth-wrk-');
  afterAll(() => temp.remove());

  it('finds an executable wrk on a PATH and skips one that is not executable', () => {
    const bin = path.join(temp.dir, 'bin');
    const plain = path.join(temp.dir, 'plain');
    mkdirSync(bin);
    mkdirSync(plain);
    writeFileSync(path.join(bin, 'wrk'), '#!/bin/sh\n');
    chmodSync(path.join(bin, 'wrk'), 0o755);
    writeFileSync(path.join(plain, 'wrk'), '');
    expect(findWrk([plain, bin].join(path.delimiter))).toBe(path.join(bin, 'wrk'));
    expect(findWrk(plain)).toBeNull();
    expect(findWrk('')).toBeNull();
  });

  it('takes BENCH_LOADER=autocannon as the fallback whatever is installed, and refuses an unknown loader', () => {
    expect(chooseLoader('autocannon')).toEqual({ name: 'autocannon', wrk: null, why: 'BENCH_LOADER=autocannon' });
    expect(() => chooseLoader('ab')).toThrow(/BENCH_LOADER must be wrk or autocannon/);
  });
});
