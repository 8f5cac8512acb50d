/**
 * The bench's extra sections that need only this server: `/api/me` while clients hammer the login
 * (argon2 competing for the cores), and WORKERS=2 against WORKERS=1.
 */
import { fixedHeaders, measure, median, percentile, summarize } from './load.mjs';
import { loginBody, makeClientKey } from './client.mjs';
import { measureWithWrk } from './wrk.mjs';

/**
 * One run of warm `GET /api/me` on `target`, the bearer `sealed` reused, driven by `loader` (wrk.mjs
 * `chooseLoader`): wrk when it names wrk, else autocannon.
 */
function warmRun(loader, target, sealed, { seconds, connections }) {
  const options = { seconds, connections, headers: fixedHeaders({ authorization: `Bearer ${sealed}` }) };
  return loader?.name === 'wrk' ? measureWithWrk(loader.wrk, target, options) : measure(target, options);
}

/**
 * `clients` loops of POST /auth/login (a correct password: only the hashing gate can refuse them)
 * until `stop()`: counts answers by status, and 429/503 answers that carry `Retry-After`.
 */
function loginLoops(url, clients, clientKey) {
  const counts = { ok: 0, tooMany: 0, unavailable: 0, withRetryAfter: 0, other: 0 };
  const latencies = [];
  const refusedLatencies = [];
  let running = true;
  const body = loginBody(clientKey);
  const loop = async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
        const took = performance.now() - started;
        latencies.push(took);
        if (res.status === 429 || res.status === 503) refusedLatencies.push(took);
        if (res.status === 200) counts.ok++;
        else if (res.status === 429) counts.tooMany++;
        else if (res.status === 503) counts.unavailable++;
        else counts.other++;
        if ((res.status === 429 || res.status === 503) && res.headers.get('retry-after') !== null) counts.withRetryAfter++;
      } catch {
        counts.other++;
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, loop));
  return {
    async stop() {
      running = false;
      await done;
      return {
        ...counts, total: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99),
        refusedP50Ms: percentile(refusedLatencies, 50), refusedP99Ms: percentile(refusedLatencies, 99),
      };
    },
  };
}

/**
 * Per round: `/api/me` (warm) alone, then the same while `clients` loop logins, then alone again.
 * Reports medians and the p99 ratio (during / the first alone; the goal is at most 2), the ratio of
 * each round, and the machine's noise floor: how far apart the two alone runs of a round are (the
 * larger p99 over the smaller), median over the rounds. A ratio near that floor says nothing about the
 * logins: on a shared virtual machine two runs of the same load can differ that much. `loader`
 * (wrk.mjs `chooseLoader`) drives the `/api/me` load: wrk when installed, which reports latencies in
 * µs (autocannon's are whole ms, and a p99 of 3 ms moves the ratio by a third with one millisecond)
 * and runs in its own process, so the login loops here do not delay the reading of `/api/me`'s answers.
 */
export async function loginIsolation(server, sealed, { rounds, seconds, connections, clients, loader }) {
  const run = () => warmRun(loader, server, sealed, { seconds, connections });
  const clientKey = await makeClientKey();
  const alone = [];
  const during = [];
  const aloneAgain = [];
  const logins = [];
  for (let round = 0; round < rounds; round++) {
    alone.push(await run());
    const loops = loginLoops(server.url, clients, clientKey);
    during.push(await run());
    logins.push(await loops.stop());
    aloneAgain.push(await run());
  }
  const a = summarize(alone);
  const d = summarize(during);
  const ratioOf = (x, y) => (x.p99 && y.p99 ? x.p99 / y.p99 : null);
  const spread = (x, y) => (x.p99 && y.p99 ? Math.max(x.p99, y.p99) / Math.min(x.p99, y.p99) : null);
  const floors = alone.map((r, i) => spread(r, aloneAgain[i]));
  const sum = (key) => logins.reduce((total, round) => total + round[key], 0);
  return {
    clients,
    loader: loader?.name ?? 'autocannon',
    alone: a,
    during: d,
    p99Ratio: ratioOf(d, a),
    p99RatioByRound: during.map((r, i) => ratioOf(r, alone[i])),
    aloneAgain: summarize(aloneAgain),
    noiseFloor: median(floors),
    noiseFloorByRound: floors,
    rpsRatio: a.rps ? d.rps / a.rps : null,
    logins: {
      total: sum('total'), ok: sum('ok'), tooMany: sum('tooMany'), unavailable: sum('unavailable'),
      withRetryAfter: sum('withRetryAfter'), other: sum('other'), p50Ms: median(logins.map((r) => r.p50Ms)), p99Ms: median(logins.map((r) => r.p99Ms)),
      refusedP50Ms: median(logins.map((r) => r.refusedP50Ms)), refusedP99Ms: median(logins.map((r) => r.refusedP99Ms)),
    },
  };
}

/**
 * Warm `/api/me` on the WORKERS=1 server and on the WORKERS=2 one (CPU summed over its processes),
 * interleaved: one run of each per round, medians, after an unrecorded warm-up run of each. `loader` (wrk.mjs `chooseLoader`) drives the load: wrk when
 * installed, else autocannon. The ceiling is what two workers can reach over one when the load
 * generator shares the two cores: with server CPU S and generator CPU X per request, one worker is held
 * to one core (1/S requests per second), two workers and the generator to two (2/(S+X)): 2S/(S+X),
 * if a request costs both servers the same (a lone saturated worker may pay more: docs/performance.md).
 * `otherCores` (median over the runs) is how much of the machine went to other work meanwhile.
 */
export async function workersComparison(one, two, sealedOne, sealedTwo, { rounds, seconds, connections, warmupSeconds, loader }) {
  const run = (target, sealed, runSeconds) => warmRun(loader, target, sealed, { seconds: runSeconds, connections });
  // As long as a round: the cluster's workers have served nothing yet, each sees half the requests, and
  // a fresh cluster measured 268, 162, 156, 141 µs per request over its first four seconds, then ~120
  // (one-second runs on a shared machine).
  if (warmupSeconds > 0) {
    await run(one, sealedOne, Math.max(warmupSeconds, seconds));
    await run(two, sealedTwo, Math.max(warmupSeconds, seconds));
  }
  const single = [];
  const double = [];
  for (let round = 0; round < rounds; round++) {
    single.push(await run(one, sealedOne, seconds));
    double.push(await run(two, sealedTwo, seconds));
  }
  const w1 = summarize(single);
  const w2 = summarize(double);
  const s = w1.cpuUsPerRequest;
  const both = [...single, ...double];
  const x = median(both.map((r) => r.loaderCpuUsPerRequest));
  return {
    loader: loader.name,
    loaderWhy: loader.why,
    workers1: w1,
    workers2: w2,
    rpsRatio: w1.rps ? w2.rps / w1.rps : null,
    rpsRatioByRound: single.map((r, i) => (r.rps ? double[i].rps / r.rps : null)),
    loaderCpuUsPerRequest: x,
    ceiling: s && x !== null ? (2 * s) / (s + x) : null,
    otherCores: median(both.map((r) => r.otherCores)),
  };
}
