import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ARGON2_OPTIONS,
  closePasswordHashing,
  configurePasswordHashing,
  hashPassword,
  verifyPassword,
} from '../../src/users/password.js';
import { DEFAULT_HASH_PRIORITY } from '../../src/config/index.js';
import { ROOT } from '../helpers/process.js';

/**
 * Password hashing: argon2id with OWASP's parameters, on a pool of threads (src/users/hash-worker.js)
 * at a lowered priority, so the event loop keeps answering while a hash is computed.
 */
const PASSWORD = 'correct horse battery staple';

afterAll(() => closePasswordHashing());

describe('hashPassword and verifyPassword', () => {
  it('hashes with argon2id, 19 MiB, 2 iterations, 1 lane, a fresh salt each time', async () => {
    const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
    expect(ARGON2_OPTIONS).toMatchObject({ algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    for (const hash of [first, second]) expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword(first, PASSWORD)).toBe(true);
    expect(await verifyPassword(second, PASSWORD)).toBe(true);
    expect(await verifyPassword(first, `${PASSWORD}.`)).toBe(false);
    expect(await verifyPassword(first, '')).toBe(false);
  });

  it('verifies the hashes of earlier releases (node-argon2, the reference C code, parameters in another order)', async () => {
    // Made by argon2@0.45.1 (`argon2.hash('password-123', { type: argon2id, memoryCost: 19456, timeCost: 2 })`),
    // which earlier releases used: user databases hold such hashes.
    const earlier = '$argon2id$v=19$m=19456,p=1,t=2$VOhezq3lQMXs0vG0qmJhpA$tMCn1y+QAwIrUkXhOzzVAJSCtFjhF1+bSrBBmCNoDk4';
    expect(await verifyPassword(earlier, 'password-123')).toBe(true);
    expect(await verifyPassword(earlier, 'password-124')).toBe(false);
  });

  it('counts a malformed hash as a mismatch instead of throwing', async () => {
    for (const hash of ['', 'not a hash', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$', '$2b$10$abcdefghijklmnopqrstuu'])
      expect(await verifyPassword(hash, PASSWORD)).toBe(false);
  });

  it('keeps the event loop free while it hashes', async () => {
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    try {
      await hashPassword(PASSWORD);
    } finally {
      clearInterval(ticking);
    }
    // On the event loop, the whole hash would run between two turns.
    expect(turns).toBeGreaterThan(0);
  });

  it('starts the threads again after closePasswordHashing', async () => {
    const hash = await hashPassword(PASSWORD);
    await closePasswordHashing();
    expect(await verifyPassword(hash, PASSWORD)).toBe(true);
  });
});

/** A thread's scheduling: its nice value and policy (Linux: fields 19 and 41 of /proc/self/task/<tid>/stat). */
interface Scheduling {
  readonly nice: number;
  /** 0 SCHED_OTHER (normal), 5 SCHED_IDLE. */
  readonly policy: number;
}
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

function threadScheduling(): Map<number, Scheduling> {
  const threads = new Map<number, Scheduling>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      threads.set(Number(tid), { nice: Number(fields[16]), policy: Number(fields[38]) });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads;
}

/** The scheduling of the threads a first hash with `options` starts (a fresh pool). */
async function hashingThreads(options: Parameters<typeof configurePasswordHashing>[0]): Promise<Scheduling[]> {
  await configurePasswordHashing({ threads: 1, ...options });
  const before = new Set(threadScheduling().keys());
  await hashPassword(PASSWORD);
  return [...threadScheduling()].filter(([tid]) => !before.has(tid)).map(([, scheduling]) => scheduling);
}

const chrtInstalled = spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0;

(process.platform === 'linux' ? describe : describe.skip)('the hashing threads (Linux: a policy and a nice value per thread)', () => {
  afterEach(() => configurePasswordHashing({ priority: DEFAULT_HASH_PRIORITY }));

  it(`run under SCHED_IDLE by default (HASH_PRIORITY=idle)${chrtInstalled ? '' : ', at nice 19 where chrt is missing'}, the event loop at the process priority`, async () => {
    expect(DEFAULT_HASH_PRIORITY).toBe('idle');
    const started = await hashingThreads({ priority: 'idle' });
    expect(started).toEqual([chrtInstalled ? { nice: 0, policy: SCHED_IDLE } : { nice: 19, policy: SCHED_OTHER }]);
    expect(threadScheduling().get(process.pid)).toEqual({ nice: 0, policy: SCHED_OTHER });
  });

  it('fall back to nice 19 where SCHED_IDLE cannot be set (dist/, in a process without chrt on PATH)', async () => {
    // The test's own process.env is Jest's copy, which the hashing threads do not see: a child process.
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
      import { hashPassword } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'users', 'password.js')).href)};
      const before = new Set(readdirSync('/proc/self/task'));
      await hashPassword('a password to hash');
      const started = readdirSync('/proc/self/task').filter((tid) => !before.has(tid)).map((tid) => {
        const fields = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').replace(/^.*\\) /s, '').split(' ');
        return { nice: Number(fields[16]), policy: Number(fields[38]) };
      });
      console.log(JSON.stringify(started));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: '/nonexistent' }, encoding: 'utf8', timeout: 20_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual([{ nice: 19, policy: SCHED_OTHER }]);
  });

  it.each([7, 19])('run at nice %i when HASH_PRIORITY is that number', async (nice) => {
    expect(await hashingThreads({ priority: nice })).toEqual([{ nice, policy: SCHED_OTHER }]);
  });

  it('hash at the process priority with HASH_PRIORITY=0', async () => {
    expect(await hashingThreads({ priority: 0 })).toEqual([{ nice: 0, policy: SCHED_OTHER }]);
  });
});
