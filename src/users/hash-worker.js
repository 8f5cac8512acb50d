// @ts-check
/**
 * A password hashing thread of the pool in password.ts (piscina loads this file in each thread; it is
 * plain JavaScript so the same file runs from src/ under the tests and from dist/ in production).
 * It lowers its own CPU priority first (Linux keeps a scheduling policy and a nice value per thread):
 * - `idle`: SCHED_IDLE, through util-linux's `chrt` on this thread's id. The thread then runs only
 *   on a core nothing else wants, and a request waking the event loop takes the core back at once;
 *   where that cannot be set, nice 19.
 * - a number from 1 to 19: that nice value. 0 leaves the thread at the process's priority.
 */
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { hashSync, verifySync } from '@node-rs/argon2';
import Piscina from 'piscina';

/** `Algorithm.Argon2id` (a const enum in the package's types, so named here by its value). */
const ARGON2ID = 2;
const LOWEST_NICE = 19;

/** Lowers this thread's priority as `priority` says; where the system cannot, the thread keeps the process's. */
function lowerPriority(/** @type {'idle' | number} */ priority) {
  if (priority === 'idle') {
    try {
      // /proc/thread-self is /proc/<pid>/task/<tid>: this thread's id.
      const tid = readlinkSync('/proc/thread-self').split('/').pop() ?? '';
      execFileSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 5000 });
      return;
    } catch {
      priority = LOWEST_NICE;
    }
  }
  if (priority > 0) {
    try {
      os.setPriority(priority);
    } catch {
      // No per-thread priority here: hash at the process's.
    }
  }
}

lowerPriority(/** @type {{ priority: 'idle' | number }} */ (Piscina.workerData).priority);

/**
 * One hashing task.
 *
 * @param {{ op: 'hash', password: string, memoryCost: number, timeCost: number, parallelism: number }
 *   | { op: 'verify', hash: string, password: string }} task
 * @returns {string | boolean}
 */
export default function run(task) {
  if (task.op === 'hash') {
    const { memoryCost, timeCost, parallelism } = task;
    return hashSync(task.password, { algorithm: ARGON2ID, memoryCost, timeCost, parallelism });
  }
  return verifySync(task.hash, task.password);
}
