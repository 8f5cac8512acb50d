/** The types of wrk.mjs, for the tests (the bench runs it as plain JavaScript). */

export interface Loader {
  name: 'wrk' | 'autocannon';
  wrk: string | null;
  why: string;
}

/** The figures of the `wrk-report` line of bench/lib/wrk-report.lua. */
export interface WrkReport {
  requests: number;
  durationUs: number;
  statusErrors: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  p50Us: number;
  p99Us: number;
  utimeTicks: number;
  stimeTicks: number;
}

export function findWrk(searchPath?: string): string | null;
export function chooseLoader(choice?: string): Loader;
export function parseWrkReport(stdout: string, stderr?: string): WrkReport;
