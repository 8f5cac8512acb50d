// @ts-check
/**
 * A password hashing thread of the pool in password.ts (piscina loads this file in each thread; it is
 * plain JavaScript so the same file runs from src/ under the tests and from dist/ in production).
 * It lowers its own CPU priority first: on Linux a thread's nice value is its own, so argon2 here
 * yields the cores to the event loop (requests) whenever both want them.
 */
import os from 'node:os';
import { hashSync, verifySync } from '@node-rs/argon2';
import Piscina from 'piscina';

/** `Algorithm.Argon2id` (a const enum in the package's types, so named here by its value). */
const ARGON2ID = 2;

const { nice } = /** @type {{ nice: number }} */ (Piscina.workerData);
if (nice > 0) {
  try {
    os.setPriority(nice);
  } catch {
    // A system without per-thread priorities: hash at the process's own.
  }
}

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
