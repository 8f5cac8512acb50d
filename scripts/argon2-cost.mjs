#!/usr/bin/env node
// Measures what one password check costs with the server's argon2id parameters: process CPU time per
// hash and per verification (what a core spends, whatever else loads the machine), wall time, and
// checks a second at 1, 2 and 4 at once. Run after `npm run build`: node scripts/argon2-cost.mjs [rounds]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ARGON2_OPTIONS, hashPassword, verifyPassword } from '../dist/users/password.js';

const rounds = Number(process.argv[2] ?? 40);

/** CPU and wall milliseconds per call of `step`, over `rounds` calls one after another. */
async function cost(step) {
  await step();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await step();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / rounds, wallMs: (performance.now() - started) / rounds };
}

/** Checks a second with `concurrency` of them in flight. */
async function throughput(hash, concurrency) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < rounds) await verifyPassword(hash, 'wrong password'); }));
  return (rounds / (performance.now() - started)) * 1000;
}

const hash = await hashPassword('correct horse battery staple');
const hashing = await cost(() => hashPassword('correct horse battery staple'));
const verifying = await cost(() => verifyPassword(hash, 'wrong password'));
const f = (n) => n.toFixed(1);
console.log(`argon2id m=${ARGON2_OPTIONS.memoryCost} KiB t=${ARGON2_OPTIONS.timeCost} p=${ARGON2_OPTIONS.parallelism}; ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(1)}`);
console.log(`hash:   ${f(hashing.cpuMs)} ms CPU, ${f(hashing.wallMs)} ms wall`);
console.log(`verify: ${f(verifying.cpuMs)} ms CPU, ${f(verifying.wallMs)} ms wall`);
for (const concurrency of [1, 2, 4]) console.log(`${concurrency} at once: ${(await throughput(hash, concurrency)).toFixed(0)} checks/s`);
