import { readdirSync, readFileSync } from 'node:fs';
import {
  ARGON2_OPTIONS,
  DEFAULT_HASH_NICE,
  closePasswordHashing,
  configurePasswordHashing,
  hashPassword,
  verifyPassword,
} from '../../src/users/password.js';

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

/** The nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): Map<number, number> {
  const values = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      values.set(Number(tid), Number(fields[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return values;
}

(process.platform === 'linux' ? describe : describe.skip)('the hashing threads (Linux: a nice value per thread)', () => {
  afterEach(() => configurePasswordHashing({ nice: DEFAULT_HASH_NICE }));

  it.each([7, 19])('run at HASH_NICE=%i while the event loop keeps the process priority', async (nice) => {
    await configurePasswordHashing({ threads: 1, nice });
    const before = new Set([...threadNiceValues()].filter(([, value]) => value === nice).map(([tid]) => tid));
    await hashPassword(PASSWORD);
    const after = threadNiceValues();
    const lowered = [...after].filter(([tid, value]) => value === nice && !before.has(tid));
    expect(lowered).toHaveLength(1);
    expect(after.get(process.pid)).toBe(0);
  });

  it('hash at the process priority with HASH_NICE=0', async () => {
    await configurePasswordHashing({ threads: 1, nice: 0 });
    const before = new Set(threadNiceValues().keys());
    await hashPassword(PASSWORD);
    const started = [...threadNiceValues()].filter(([tid]) => !before.has(tid));
    expect(started.length).toBeGreaterThan(0);
    for (const [, value] of started) expect(value).toBe(0);
  });
});
