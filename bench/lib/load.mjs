/**
 * One measured run: autocannon drives GET requests at a target process while the bench reads that
 * process's CPU time before and after, so the figure is the server's own cost per answered request
 * whatever the load generator (sharing the same cores) costs.
 */
import autocannon from 'autocannon';
import { machineBusySeconds } from './processes.mjs';

/**
 * The headers of each request. `fixedHeaders` sends the same headers every time.
 */
export function fixedHeaders(headers) {
  return { requests: undefined, headers, madeDuringRun: () => 0 };
}

/**
 * `pooledHeaders` hands out the next entry of a pool built before the run (a fresh sealing, a fresh
 * DPoP proof) on every request, and makes one with `make()` when the pool runs out, so no entry is ever
 * sent twice; `madeDuringRun()` counts those (their cost falls on the load generator, not the server).
 */
export function pooledHeaders(size, make) {
  const pool = Array.from({ length: size }, make);
  let next = 0;
  let made = 0;
  const request = {
    setupRequest(req) {
      let headers = pool[next];
      if (headers === undefined) {
        made++;
        headers = make();
      } else pool[next++] = undefined;
      return { ...req, headers: { ...req.headers, ...headers } };
    },
  };
  return { requests: [request], headers: {}, madeDuringRun: () => made };
}

/**
 * Sends GET `path` to `target` for `seconds` over `connections` and measures:
 * - `cpuUsPerRequest`: CPU µs of the target's processes divided by its 2xx answers;
 * - `rps`: 2xx answers per second; `p50`/`p99`: latency in ms; `non2xx`, `errors` (sockets, timeouts);
 * - `madeDuringRun`: pooled headers the load generator had to make during the run;
 * - `cores`: the target's CPU time over the run's wall time (a Node process uses a little more than
 *   one core: its GC and compiler threads);
 * - `loaderCpuUsPerRequest`: CPU µs of the load generator (autocannon runs in the bench's own process)
 *   per 2xx answer;
 * - `otherCores`: how many cores, on average over the run, went to neither the target nor the load
 *   generator (another job on the machine: the figures of a run with much of it are not quiet).
 */
export async function measure(target, { path = '/api/me', seconds, connections, headers }) {
  const before = target.cpuSeconds();
  const loaderBefore = process.cpuUsage();
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const result = await autocannon({
    url: `${target.url}${path}`,
    connections,
    duration: seconds,
    headers: headers.headers,
    requests: headers.requests,
  });
  const loader = process.cpuUsage(loaderBefore);
  const cpu = target.cpuSeconds() - before;
  const busy = machineBusySeconds() - busyBefore;
  const wall = (performance.now() - started) / 1000;
  const ok = result['2xx'];
  const duration = result.duration || seconds;
  return {
    cpuUsPerRequest: ok > 0 ? (cpu * 1e6) / ok : null,
    rps: ok / duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    madeDuringRun: headers.madeDuringRun(),
    cpuSeconds: cpu,
    cores: cpu / wall,
    loaderCpuUsPerRequest: ok > 0 ? (loader.user + loader.system) / ok : null,
    otherCores: otherCores(busy, cpu, (loader.user + loader.system) / 1e6, wall),
  };
}

/** Cores busy with neither the target nor the load generator, on average over a run (never below 0). */
export function otherCores(machineBusy, targetCpu, loaderCpu, seconds) {
  return Math.max(0, (machineBusy - targetCpu - loaderCpu) / seconds);
}

/** The median of numbers (null entries ignored); null when there are none. */
export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A percentile (0..100) of numbers, nearest rank; null when there are none. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Medians of every figure of several runs of one case, with the sums of the counts. */
export function summarize(runs) {
  const pick = (key) => median(runs.map((run) => run[key]));
  const sum = (key) => runs.reduce((total, run) => total + run[key], 0);
  return {
    cpuUsPerRequest: pick('cpuUsPerRequest'),
    rps: pick('rps'),
    loaderCpuUsPerRequest: pick('loaderCpuUsPerRequest'),
    otherCores: pick('otherCores'),
    cores: pick('cores'),
    p50: pick('p50'),
    p99: pick('p99'),
    ok: sum('ok'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    madeDuringRun: sum('madeDuringRun'),
    rounds: runs,
  };
}
