/**
 * The processes the bench measures: peers and server instances, each its own `node` child, and
 * their CPU time read from Linux's /proc (utime + stime of every thread, the cluster's workers
 * included), so nothing in the measured process has to cooperate.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { childEnv, freePort, healthy } from '../../test/helpers/probes.mjs';

/** Linux clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
export const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system, all threads) a live process has used so far. */
export function cpuSecondsOf(pid) {
  const fields = statFields(pid);
  // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The live processes whose parent is `pid` (a cluster primary's workers). */
export function childPids(pid) {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(entry)[1]) === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

/**
 * CPU seconds the whole machine has been busy (every core: user, nice, system, irq, softirq and steal
 * time from /proc/stat), so a run can tell how much of the machine went to processes it did not measure.
 */
export function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / TICKS_PER_SECOND;
}

/** Whether CPU time can be read here (Linux /proc). */
export function canReadCpu() {
  try {
    cpuSecondsOf(process.pid);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every child started here and not yet exited (ready or still booting), with how to await its exit. */
const live = new Map();

/** SIGTERM (SIGKILL after `graceMs`) to a child, resolved once it exited. */
function terminate(child, exited, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  return exited.finally(() => clearTimeout(timer));
}

/** Stops every child this module started that is still running, booting ones included (Ctrl-C, a failed start). */
export function stopEveryChild() {
  return Promise.all([...live].map(([child, exited]) => terminate(child, exited)));
}

/**
 * Starts `node script` (in the temp directory, so a `.env` of the repository cannot leak in) and
 * waits until it is ready: `ready(child, output)` resolves with its base URL.
 *
 * @returns `{url, pid, cpuSeconds(), stop()}`; `cpuSeconds()` sums the process and its children.
 */
async function startNode(name, script, env, ready) {
  const child = spawn(process.execPath, [script], { cwd: os.tmpdir(), env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output.stderr += chunk));
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
  live.set(child, exited);
  void exited.then(() => live.delete(child));
  const url = await Promise.race([ready(child, output), exited.then((code) => Promise.reject(new Error(`${name} exited with ${code}: ${output.stderr.trim()}`)))]);
  let pids = [child.pid];
  return {
    name,
    url,
    pid: child.pid,
    /** Looks up the workers (call once the process is serving). */
    refreshPids() {
      pids = [child.pid, ...childPids(child.pid)];
      return pids.length;
    },
    cpuSeconds: () => pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
    stderr: () => output.stderr,
    stop: () => terminate(child, exited),
  };
}

/** Starts a peer from bench/peers/, which announces `{"port": N}` on stdout. */
export function startPeer(name, script, env = {}) {
  return startNode(name, script, env, (_child, output) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not announce its port`)), 15_000);
    const poll = setInterval(() => {
      const line = output.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(`http://127.0.0.1:${JSON.parse(line).port}`);
    }, 20);
  }));
}

/**
 * Starts `node dist/server.js` as `npm start` would, on a free port of 127.0.0.1, and waits for
 * GET /healthz (and for every worker when `WORKERS` > 1). Retries on another port when it was taken.
 */
export async function startServer(name, serverJs, env) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const server = await startNode(name, serverJs, { HOST: '127.0.0.1', ...env, PORT: String(port) }, async (child) => {
        const deadline = Date.now() + 30_000;
        while (!(await healthy(url))) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not become healthy`);
          await sleep(50);
        }
        return url;
      });
      const workers = Number(env.WORKERS ?? 1);
      const deadline = Date.now() + 30_000;
      while (workers > 1 && server.refreshPids() < workers + 1) {
        if (Date.now() > deadline) throw new Error(`${name}: fewer than ${workers} workers came up`);
        await sleep(100);
      }
      return server;
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error.message))) throw error;
    }
  }
}
