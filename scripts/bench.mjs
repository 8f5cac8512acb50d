// `npm run bench`: this server side by side with what a user would pick instead, each in its own
// process, measured from outside by server CPU time per answered request. Method: docs/performance.md.
//
//   node scripts/bench.mjs [--rounds 3] [--section-rounds 5] [--seconds 5] [--connections 50] [--trials 20]
//                          [--login-clients 4] [--json file] [--svg file] [--smoke]
//
// Environment: BENCH_ROUNDS, BENCH_SECTION_ROUNDS (the login-isolation and WORKERS sections), BENCH_SECONDS,
// BENCH_CONNECTIONS, BENCH_TRIALS, BENCH_LOGIN_CLIENTS;
// BENCH_LOADER (wrk or autocannon for the WORKERS section; default wrk when installed);
// BENCH_REDIS_URL (default redis://127.0.0.1:6379) and BENCH_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres, where a fresh database is created and dropped) for the
// revocation lag. A full run (not --smoke) also
// writes bench/results/latest.json and latest.svg.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addUser, login } from '../bench/lib/client.mjs';
import { inProcessFigures } from '../bench/lib/in-process.mjs';
import { fixedHeaders, measure, pooledHeaders, summarize } from '../bench/lib/load.mjs';
import { makeProof, makeProofKey, signJwt } from '../bench/lib/native-jose.mjs';
import { canReadCpu, startPeer, startServer, stopEveryChild } from '../bench/lib/processes.mjs';
import { chartSvg, ratios, tableLines } from '../bench/lib/report.mjs';
import { revocationLag, revocationStores, startPair } from '../bench/lib/revocation.mjs';
import { loginIsolation, workersComparison } from '../bench/lib/sections.mjs';
import { chooseLoader } from '../bench/lib/wrk.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' }, 'section-rounds': { type: 'string' }, seconds: { type: 'string' }, connections: { type: 'string' }, trials: { type: 'string' }, 'login-clients': { type: 'string' },
    json: { type: 'string' }, svg: { type: 'string' },
  },
});
const number = (flag, variable, full, smoke) => Number(flag ?? process.env[variable] ?? (flags.smoke ? smoke : full));
const options = {
  rounds: number(flags.rounds, 'BENCH_ROUNDS', 3, 1),
  // Their figures are one ratio of two p99s or of two throughputs, which move more between runs of the
  // same load than a CPU time per request does: a median over more rounds.
  sectionRounds: number(flags['section-rounds'], 'BENCH_SECTION_ROUNDS', 5, 1),
  seconds: number(flags.seconds, 'BENCH_SECONDS', 5, 0.5),
  connections: number(flags.connections, 'BENCH_CONNECTIONS', 50, 20),
  trials: number(flags.trials, 'BENCH_TRIALS', 20, 3),
  loginClients: number(flags['login-clients'], 'BENCH_LOGIN_CLIENTS', 4, 4),
  warmupSeconds: flags.smoke ? 0 : 1,
};
const redisUrl = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const postgresUrl = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const serverJs = path.join(root, 'dist', 'server.js');
const cliJs = path.join(root, 'dist', 'cli', 'index.js');
const out = (line = '') => process.stdout.write(`${line}\n`);
/** Where the run is, on stderr (a full run takes minutes). */
const progress = (line) => process.stderr.write(`… ${line}\n`);

if (!canReadCpu()) throw new Error('the bench reads server CPU time from /proc: it runs on Linux only');
const loader = chooseLoader();
/** Other work on the machine (cores, median over a section's runs) above which the WORKERS ratio is flagged. */
const OTHER_WORK_CORES = 0.1;
if (!existsSync(serverJs)) throw new Error('dist/ is not built: run `npm run build` (or `npm run bench`, which builds first)');

const dir = mkdtempSync(path.join(os.tmpdir(), 'jwe-auth-bench-'));
const running = [];
const track = async (started) => {
  const proc = await started;
  running.push(proc);
  return proc;
};
const stopAll = () => Promise.all(running.splice(0).map((proc) => proc.stop()));
/** The revocation pairs boot with everything else but outlive the first sections. */
const pairsRunning = [];
const stopPairs = () => Promise.all(pairsRunning.splice(0).map((pair) => pair.stop()));
/** Their stores: a PostgreSQL database to drop, Redis keys to delete, whatever happens. */
const stores = [];
const cleanStores = () => Promise.all(stores.splice(0).map((store) => store.cleanup?.()));
/** Stops every process, deletes what the run made; once, whether the run ends, fails or is interrupted. */
let cleaning;
const cleanUp = () =>
  (cleaning ??= (async () => {
    await Promise.all([stopAll(), stopPairs()]);
    await stopEveryChild();
    await cleanStores();
    rmSync(dir, { recursive: true, force: true });
  })());
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  void cleanUp().finally(() => process.exit(130));
});

/** A server as `npm start` runs it, with its own SQLite file and the bench user. */
async function ourServer(name, extra = {}) {
  const env = { SQLITE_PATH: path.join(dir, `${name}.db`), LOG_LEVEL: 'silent', COOKIE_SECURE: 'false', ...extra };
  await addUser(cliJs, env);
  return track(startServer(name, serverJs, env));
}

try {
  const started = new Date();
  out(`jwe-auth-server bench, ${started.toISOString()}: node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  out(`${options.rounds} rounds of ${options.seconds} s per case, interleaved, ${options.connections} connections, medians${flags.smoke ? ' (smoke run)' : ''}`);

  progress('starting the peers and the servers');
  const hsSecret = randomBytes(32);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const peerClaims = { sub: 'bench', username: 'bench', sid: 'bench-session', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 };
  const peerScript = path.join(root, 'bench', 'peers', 'express-jwt.mjs');
  await revocationStores({ redisUrl, postgresUrl, dir, stores });
  const measuredStores = [...stores];
  const pairsStarting = Promise.all(stores.filter((store) => !store.skipped).map(async (store) => {
    const pair = await startPair(store, { serverJs, cliJs, dir });
    pairsRunning.push(pair);
    return pair;
  }));
  pairsStarting.catch(() => undefined); // Awaited (and so thrown) in the revocation section.
  const [empty, hs256, rs256, server, cluster] = await Promise.all([
    track(startPeer('empty Express', path.join(root, 'bench', 'peers', 'empty.mjs'))),
    track(startPeer('express-jwt HS256', peerScript, { BENCH_PEER_ALG: 'HS256', BENCH_PEER_KEY: hsSecret.toString('base64url') })),
    track(startPeer('express-jwt RS256', peerScript, { BENCH_PEER_ALG: 'RS256', BENCH_PEER_KEY: rsa.publicKey })),
    ourServer('server'),
    ourServer('workers2', { WORKERS: '2' }),
  ]);
  const warm = await login(server.url);
  const proofKey = makeProofKey();
  const bound = await login(server.url, proofKey);
  if (bound.tokenType !== 'DPoP') throw new Error(`a login with a DPoP proof gave a ${bound.tokenType} token`);
  const htu = `${server.url}/api/me`;

  const seenRate = {};
  // Sized for 1.5 times the fastest rate seen so far (before any, 2000 req/s; 500 in a smoke run):
  // what runs out is made during the run.
  const poolSize = (id, seconds) => Math.ceil((seenRate[id] ?? (flags.smoke ? 500 : 2000)) * seconds * 1.5) + options.connections * 2;
  const caseList = [
    { id: 'empty', label: 'empty Express 5 route', target: empty, headers: () => fixedHeaders({ authorization: `Bearer ${signJwt('HS256', hsSecret, peerClaims)}` }) },
    { id: 'hs256', label: 'express-jwt HS256 (KeyObject secret)', target: hs256, headers: () => fixedHeaders({ authorization: `Bearer ${signJwt('HS256', hsSecret, peerClaims)}` }) },
    { id: 'rs256', label: 'express-jwt RS256 (KeyObject public key)', target: rs256, headers: () => fixedHeaders({ authorization: `Bearer ${signJwt('RS256', rsa.privateKey, peerClaims)}` }) },
    { id: 'warm', label: 'this server, warm (one sealed token reused)', ours: true, target: server, headers: () => fixedHeaders({ authorization: `Bearer ${warm.sealed}` }) },
    {
      id: 'cold', label: 'this server, cold (a fresh sealing per request)', ours: true, target: server,
      headers: (seconds) => pooledHeaders(poolSize('cold', seconds), () => ({ authorization: `Bearer ${warm.seal()}` })),
    },
    {
      id: 'dpop', label: 'this server, DPoP (fresh proof per request)', ours: true, target: server,
      headers: (seconds) => pooledHeaders(poolSize('dpop', seconds), () => ({ authorization: `DPoP ${bound.sealed}`, dpop: makeProof(proofKey, { htm: 'GET', htu, token: bound.sealed }) })),
    },
  ];
  const run = async (spec, seconds, what) => {
    progress(`${what}: ${spec.label}`);
    const result = await measure(spec.target, { seconds, connections: options.connections, headers: spec.headers(seconds) });
    seenRate[spec.id] = Math.max(seenRate[spec.id] ?? 0, result.rps);
    return result;
  };

  if (options.warmupSeconds > 0) for (const spec of caseList) await run(spec, options.warmupSeconds, 'warm-up');
  const runs = Object.fromEntries(caseList.map(({ id }) => [id, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const spec of caseList) runs[spec.id].push(await run(spec, options.seconds, `round ${round + 1}/${options.rounds}`));
  }
  const cases = Object.fromEntries(caseList.map(({ id }) => [id, summarize(runs[id])]));
  const computed = ratios(cases);
  out();
  for (const line of tableLines(caseList, cases, computed)) out(line);

  const isolationLoad = loader.name === 'wrk' ? 'wrk (one thread; latencies in µs)' : 'autocannon (latencies in whole ms)';
  out(`\nlogin isolation: GET /api/me (warm) alone, then while ${options.loginClients} clients loop POST /auth/login, then alone again, ${options.sectionRounds} rounds; load by ${isolationLoad}`);
  const isolation = await loginIsolation(server, warm.sealed, { ...options, rounds: options.sectionRounds, clients: options.loginClients, loader });
  const fmt = (value, digits = 1) => (value === null ? '–' : value.toFixed(digits));
  out(`  p99 alone ${fmt(isolation.alone.p99, 2)} ms, during ${fmt(isolation.during.p99, 2)} ms: ${fmt(isolation.p99Ratio, 2)}× (goal ≤ 2×); req/s ${fmt(isolation.alone.rps, 0)} → ${fmt(isolation.during.rps, 0)}`);
  const byRound = (list) => list.map((value) => fmt(value, 2)).join(' ');
  out(`  by round: ${byRound(isolation.p99RatioByRound)}; noise floor (the two alone runs of a round apart, larger p99 over smaller) ${fmt(isolation.noiseFloor, 2)}× (by round ${byRound(isolation.noiseFloorByRound)})`);
  const l = isolation.logins;
  const refusedIn = l.refusedP50Ms === null ? '' : `; refusals in p50 ${fmt(l.refusedP50Ms, 0)} ms, p99 ${fmt(l.refusedP99Ms, 0)} ms`;
  out(`  logins: ${l.total} answered: ${l.ok} 200, ${l.tooMany} 429, ${l.unavailable} 503 (${l.withRetryAfter} of those with Retry-After), ${l.other} other; p50 ${fmt(l.p50Ms, 0)} ms, p99 ${fmt(l.p99Ms, 0)} ms${refusedIn}`);

  out(`\nWORKERS=2 against WORKERS=1, warm GET /api/me (CPU summed over the workers and the primary), ${options.sectionRounds} rounds, load by ${loader.name === 'wrk' ? 'wrk (one thread)' : 'autocannon'}`);
  if (loader.name === 'autocannon') {
    out(`  ${loader.why}: autocannon drives this section instead of wrk, and its own CPU per request holds two workers back (apt-get install wrk; docs/performance.md)`);
  }
  const clusterToken = await login(cluster.url);
  const workers = await workersComparison(server, cluster, warm.sealed, clusterToken.sealed, { ...options, rounds: options.sectionRounds, loader });
  for (const [name, w] of [['WORKERS=1', workers.workers1], ['WORKERS=2', workers.workers2]]) {
    out(`  ${name}: ${fmt(w.rps, 0)} req/s, ${fmt(w.cpuUsPerRequest, 0)} CPU µs/req (${fmt(w.cores, 2)} cores), p50 ${fmt(w.p50)} ms, p99 ${fmt(w.p99)} ms, ${w.ok} 2xx, ${w.non2xx} non-2xx${w.errors ? `, ${w.errors} socket errors` : ''}; ${loader.name} ${fmt(w.loaderCpuUsPerRequest, 0)} CPU µs/req; other work ${fmt(w.otherCores, 2)} cores`);
  }
  out(`  throughput ratio ${fmt(workers.rpsRatio, 2)}× (goal ≥ 1.6×; by round ${workers.rpsRatioByRound.map((r) => fmt(r, 2)).join(' ')})`);
  out(`  expected from one worker's cost with this load generator on the same two cores, 2S/(S+X): ${fmt(workers.ceiling, 2)}× (S ${fmt(workers.workers1.cpuUsPerRequest, 0)} µs one worker's CPU per request, X ${fmt(workers.loaderCpuUsPerRequest, 0)} µs ${loader.name}'s)`);
  if (workers.ceiling && workers.rpsRatio && workers.rpsRatio > workers.ceiling) {
    out(`  (above it because each of the two workers cost less per request than one worker alone: ${fmt(workers.workers2.cpuUsPerRequest, 0)} against ${fmt(workers.workers1.cpuUsPerRequest, 0)} µs; see docs/performance.md)`);
  }
  if (workers.otherCores > OTHER_WORK_CORES) out(`  the machine was not quiet: other processes took ${fmt(workers.otherCores, 2)} cores (median of the runs), so two workers had less than the two cores to share and the ratio understates them`);
  await stopAll();

  out(`\nrevocation lag between two instances (logout on A → first 401 on B), ${options.trials} trials`);
  const revocation = {};
  try {
    const pairs = await pairsStarting;
    for (const store of measuredStores) {
      const pair = pairs.find((p) => p.store === store.name);
      if (!pair) {
        out(`  ${store.name}: skipped: ${store.skipped}`);
        revocation[store.name] = { skipped: store.skipped };
        continue;
      }
      const lag = await revocationLag(pair, options.trials);
      revocation[store.name] = lag;
      out(`  ${store.name}: p50 ${fmt(lag.p50Ms)} ms, p99 ${fmt(lag.p99Ms)} ms, max ${fmt(lag.maxMs)} ms${lag.timeouts ? `, ${lag.timeouts} still accepted after 5 s` : ''}`);
    }
  } finally {
    await pairsStarting.catch(() => undefined);
    await stopPairs();
    await cleanStores();
  }

  out('\nin process (no HTTP)');
  const inProcess = await inProcessFigures(flags.smoke ? 0.05 : 1);
  for (const f of inProcess) out(`  ${f.label.padEnd(52)} ${f.opsPerSecond.toFixed(0).padStart(8)} ops/s ${f.usPerOp.toFixed(1).padStart(9)} µs/op`);

  const results = {
    date: started.toISOString(), node: process.version, cores: os.cpus().length, loadAverage: os.loadavg(), smoke: flags.smoke, options,
    cases: Object.fromEntries(caseList.map(({ id, label, ours }) => [id, { label, ours: Boolean(ours), ...cases[id] }])),
    ratios: computed, loginIsolation: isolation, workers, revocation, inProcess,
  };
  const caption = `${results.date.slice(0, 10)}, node ${process.version}, ${results.cores} cores, load average ${results.loadAverage[0].toFixed(1)} at the start; medians of ${options.rounds} × ${options.seconds} s, ${options.connections} connections`;
  const svg = chartSvg(caseList, cases, caption);
  const write = (file, text, shown = file) => {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, text);
    out(`wrote ${shown}`);
  };
  out();
  if (flags.json) write(flags.json, `${JSON.stringify(results, null, 2)}\n`);
  if (flags.svg) write(flags.svg, svg);
  if (!flags.smoke) {
    write(path.join(root, 'bench', 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`, 'bench/results/latest.json');
    write(path.join(root, 'bench', 'results', 'latest.svg'), svg, 'bench/results/latest.svg');
  }
} catch (error) {
  // Ctrl-C stops the processes a step was waiting for: that step's failure is no news.
  if (!interrupted) throw error;
} finally {
  await cleanUp();
}
