import os from 'node:os';
import path from 'node:path';
import { ConfigError, defaultLoginConcurrency, loadConfig } from '../../src/config/index.js';
import { parseDuration } from '../../src/config/duration.js';
import { runNode, SERVER_JS } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';

const PASSPHRASE = 'a passphrase of some length';

/** The ConfigError loadConfig throws for this environment. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** Checks the error is one line that starts with the variable's name. */
function expectRefusal(env: Record<string, string>, variable: string): void {
  const { message } = configError(env);
  expect(message).toMatch(new RegExp(`^${variable}\\b`));
  expect(message).not.toMatch(/[\r\n]/);
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      preserveSessions: false,
      privateKeyPassphrase: undefined,
      keysDir: path.resolve('server/keys'),
      store: 'sqlite',
      sqlitePath: path.resolve('data/auth.db'),
      redisUrl: undefined,
      databaseUrl: undefined,
      issuer: 'http://localhost:3000',
      audience: 'jwe-auth-server',
      accessTokenTtl: 15 * 60_000,
      refreshTokenTtl: 7 * 86_400_000,
      refreshReuseGrace: 10_000,
      signingAlg: 'ES256',
      encryptionKeyType: 'x25519',
      cookieSecure: true,
      loginRateLimit: 10,
      loginIpRateLimit: 100,
      shutdownTimeout: 10_000,
      requestTimeout: 30_000,
      workers: 1,
      loginConcurrency: Math.max(1, os.availableParallelism() - 1),
      hashPriority: 'idle',
      dpopRequired: false,
    });
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PRESERVE_SESSIONS_ON_REBOOT: '', STORE: '', ACCESS_TOKEN_TTL: '' })).toMatchObject({
      preserveSessions: false,
      store: 'sqlite',
      accessTokenTtl: 15 * 60_000,
    });
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ SOMETHING_ELSE: 'x' })).not.toHaveProperty('SOMETHING_ELSE');
  });
});

describe('PRESERVE_SESSIONS_ON_REBOOT', () => {
  it.each([
    ['0', false],
    ['false', false],
    ['1', true],
    ['true', true],
  ] as const)('accepts %s', (value, expected) => {
    const env = { PRESERVE_SESSIONS_ON_REBOOT: value, PRIVATE_KEY_PASSPHRASE: PASSPHRASE };
    expect(loadConfig(env).preserveSessions).toBe(expected);
  });

  it.each(['yes', 'no', '2', '-1', '1.0', 'on', 'maybe', 'truee', 'TRUE', 'False', ' 1', '0 '])('refuses %s with one line naming the variable', (value) => {
    expectRefusal({ PRESERVE_SESSIONS_ON_REBOOT: value, PRIVATE_KEY_PASSPHRASE: PASSPHRASE }, 'PRESERVE_SESSIONS_ON_REBOOT');
  });

  it('keeps the message on one line even when the value holds a newline', () => {
    expectRefusal({ PRESERVE_SESSIONS_ON_REBOOT: '1\nSTORE=memory' }, 'PRESERVE_SESSIONS_ON_REBOOT');
  });

  it('needs a passphrase of at least 16 characters when on', () => {
    expectRefusal({ PRESERVE_SESSIONS_ON_REBOOT: '1' }, 'PRIVATE_KEY_PASSPHRASE');
    expectRefusal({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: 'x'.repeat(15) }, 'PRIVATE_KEY_PASSPHRASE');
    expect(loadConfig({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: 'x'.repeat(16) }).privateKeyPassphrase).toBe('x'.repeat(16));
  });

  it('never echoes the passphrase in an error', () => {
    const { message } = configError({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: 'short-secret' });
    expect(message).not.toContain('short-secret');
  });

  it('refuses STORE=memory when on', () => {
    expectRefusal({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE, STORE: 'memory' }, 'STORE');
    // The message names every store that can preserve sessions.
    expect(() => loadConfig({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE, STORE: 'memory' })).toThrow(/sqlite, redis or postgres/);
    expect(loadConfig({ STORE: 'memory' }).store).toBe('memory');
  });
});

describe('durations', () => {
  it.each([
    ['15m', 900_000],
    ['7d', 604_800_000],
    ['10s', 10_000],
    ['250ms', 250],
    ['2h', 7_200_000],
    ['30', 30_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['15 minutes', '-5m', '1.5h', '15M', 'm', '15m30s', '0x10', '99999999999999999999d'])(
    'refuses ACCESS_TOKEN_TTL=%s with one line naming the variable',
    (value) => expectRefusal({ ACCESS_TOKEN_TTL: value }, 'ACCESS_TOKEN_TTL'),
  );

  it('refuses an access token lifetime under one second', () => {
    expectRefusal({ ACCESS_TOKEN_TTL: '0' }, 'ACCESS_TOKEN_TTL');
    expectRefusal({ ACCESS_TOKEN_TTL: '999ms' }, 'ACCESS_TOKEN_TTL');
  });

  it.each(['REFRESH_TOKEN_TTL', 'REFRESH_REUSE_GRACE', 'SESSION_IDLE_TTL', 'KEY_RELOAD_INTERVAL'])('refuses a bad %s', (variable) => {
    expectRefusal({ [variable]: 'soon' }, variable);
  });

  it('allows a zero REFRESH_REUSE_GRACE', () => {
    expect(loadConfig({ REFRESH_REUSE_GRACE: '0' }).refreshReuseGrace).toBe(0);
  });
});

describe('one-of variables', () => {
  it.each([
    ['STORE', 'mysql'],
    ['STORE', 'SQLITE'],
    ['SIGNING_ALG', 'HS256'],
    ['SIGNING_ALG', 'RS256'],
    ['SIGNING_ALG', 'none'],
    ['SIGNING_ALG', 'es256'],
    ['ENCRYPTION_KEY_TYPE', 'x448'],
    ['ENCRYPTION_KEY_TYPE', 'RSA1_5'],
    ['COOKIE_SECURE', 'maybe'],
    ['DPOP_REQUIRED', 'yes'],
    ['PORT', '65536'],
    ['PORT', 'http'],
    ['LOGIN_RATE_LIMIT', '0'],
    ['ISSUER', 'localhost'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '11'],
  ])('refuses %s=%s with one line naming the variable', (variable, value) => {
    expectRefusal({ [variable]: value }, variable);
  });

  it.each(['ES256', 'EdDSA', 'PS256'])('accepts SIGNING_ALG=%s', (alg) => {
    expect(loadConfig({ SIGNING_ALG: alg }).signingAlg).toBe(alg);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
  ])('reads DPOP_REQUIRED=%s', (value, expected) => {
    expect(loadConfig({ DPOP_REQUIRED: value }).dpopRequired).toBe(expected);
  });

  it('reads TRUST_PROXY as a hop count, 0 by default', () => {
    expect(loadConfig({}).trustProxyHops).toBe(0);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxyHops).toBe(2);
  });

  it.each(['x25519', 'p256', 'rsa'])('accepts ENCRYPTION_KEY_TYPE=%s', (type) => {
    expect(loadConfig({ ENCRYPTION_KEY_TYPE: type }).encryptionKeyType).toBe(type);
  });
});

describe('DATABASE_URL', () => {
  it('is required with STORE=postgres', () => {
    expectRefusal({ STORE: 'postgres' }, 'DATABASE_URL');
    expect(configError({ STORE: 'postgres' }).code).toBe('config_invalid');
  });

  it('must be a postgres:// or postgresql:// URL', () => {
    expectRefusal({ DATABASE_URL: 'mysql://db.example/auth' }, 'DATABASE_URL');
    expectRefusal({ DATABASE_URL: 'postgres://' + ' bad url' }, 'DATABASE_URL');
    expect(loadConfig({ DATABASE_URL: 'postgresql://auth@db.example:5433/auth' }).databaseUrl).toBe('postgresql://auth@db.example:5433/auth');
    expect(loadConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://db.example/auth' })).toMatchObject({ store: 'postgres', databaseUrl: 'postgres://db.example/auth' });
  });

  it('never echoes the URL, which may hold a password, in an error', () => {
    expect(configError({ DATABASE_URL: 'mysql://admin:s3cret@db/auth' }).message).not.toContain('s3cret');
  });
});

describe('running as a fleet', () => {
  it.each([
    ['LOGIN_IP_RATE_LIMIT', '0'],
    ['LOGIN_CONCURRENCY', '0'],
    ['LOGIN_CONCURRENCY', 'many'],
    ['LOGIN_RATE_WHEN_BUSY', '-1'],
    ['LOGIN_RATE_WHEN_BUSY', '2.5'],
    ['LOGIN_RATE_WHEN_BUSY', 'fast'],
    ['LOGIN_RATE_WHEN_BUSY', '100001'],
    ['HASH_PRIORITY', '-1'],
    ['HASH_PRIORITY', '20'],
    ['HASH_PRIORITY', 'low'],
    ['HASH_PRIORITY', 'IDLE'],
    ['WORKERS', '0'],
    ['WORKERS', '2.5'],
    ['WORKERS', 'all'],
    ['SHUTDOWN_TIMEOUT', 'soon'],
    ['SHUTDOWN_TIMEOUT', '500ms'],
    ['REQUEST_TIMEOUT', '0'],
  ])('refuses %s=%s with one line naming the variable', (variable, value) => {
    expectRefusal({ [variable]: value }, variable);
  });

  it.each([
    [1, 1, 1],
    [2, 1, 1],
    [4, 1, 3],
    [8, 1, 7],
    [8, 2, 3],
    [8, 8, 1],
    [2, 2, 1],
    [16, 3, 4],
  ])('LOGIN_CONCURRENCY=auto on %i cores with %i worker(s): %i hashes at once per process, a core per worker kept for requests', (cores, workers, expected) => {
    expect(defaultLoginConcurrency(cores, workers)).toBe(expected);
  });

  it('reads HASH_PRIORITY as idle or a nice value from 0 (the process priority) to 19 (the lowest)', () => {
    expect(loadConfig({}).loginRateWhenBusy).toBe(5);
    expect(loadConfig({ LOGIN_RATE_WHEN_BUSY: '0' }).loginRateWhenBusy).toBe(0);
    expect(loadConfig({ LOGIN_RATE_WHEN_BUSY: '40' }).loginRateWhenBusy).toBe(40);
    expect(loadConfig({ HASH_PRIORITY: 'idle' }).hashPriority).toBe('idle');
    expect(loadConfig({ HASH_PRIORITY: '0' }).hashPriority).toBe(0);
    expect(loadConfig({ HASH_PRIORITY: '19' }).hashPriority).toBe(19);
  });

  it('reads WORKERS=auto as one worker per core, and shares the cores among them for hashing', () => {
    const cores = os.availableParallelism();
    expect(loadConfig({ WORKERS: 'auto' })).toMatchObject({ workers: cores, loginConcurrency: 1 });
    expect(loadConfig({ WORKERS: '3', LOGIN_CONCURRENCY: '2' })).toMatchObject({ workers: 3, loginConcurrency: 2 });
  });

  it('refuses WORKERS above 1 with STORE=memory, whose sessions and throttle are private to each process', () => {
    expectRefusal({ STORE: 'memory', WORKERS: '2' }, 'WORKERS');
    expect(loadConfig({ STORE: 'memory', WORKERS: '1' }).workers).toBe(1);
  });

});

describe('REDIS_URL', () => {
  it('is required with STORE=redis', () => {
    expectRefusal({ STORE: 'redis' }, 'REDIS_URL');
  });

  it('must be a redis:// or rediss:// URL', () => {
    expectRefusal({ STORE: 'redis', REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL');
    expect(loadConfig({ STORE: 'redis', REDIS_URL: 'rediss://cache.example:6380/0' }).redisUrl).toBe('rediss://cache.example:6380/0');
  });
});

describe('METRICS_PORT and METRICS_HOST', () => {
  it('leave metrics off by default, on loopback when turned on', () => {
    expect(loadConfig({})).toMatchObject({ metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '9464' })).toMatchObject({ metricsPort: 9464, metricsHost: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '0', METRICS_HOST: '10.0.0.5' })).toMatchObject({ metricsPort: 0, metricsHost: '10.0.0.5' });
  });

  it.each(['65536', '-1', 'http', '94.64'])('refuses METRICS_PORT=%s with one line naming it', (value) => {
    expectRefusal({ METRICS_PORT: value }, 'METRICS_PORT');
  });
});

describe('node dist/server.js refuses to boot', () => {
  let dir: string;
  let removeDir: () => void;
  beforeEach(() => {
    ({ dir, remove: removeDir } = tempDir('jwe-auth-boot-'));
  });
  afterEach(() => removeDir());

  const boot = (env: Record<string, string>) =>
    runNode(SERVER_JS, [], {
      env: { HOST: '127.0.0.1', PORT: '0', SQLITE_PATH: path.join(dir, 'auth.db'), KEYS_DIR: path.join(dir, 'keys'), ...env },
    });

  function expectOneLine(stderr: string): string {
    expect(stderr).toMatch(/^[^\n]+\n$/);
    expect(stderr).not.toMatch(/\n\s+at /);
    return stderr.trimEnd();
  }

  it('with exit code 1 and one line naming PRESERVE_SESSIONS_ON_REBOOT=maybe', async () => {
    const { code, stderr } = await boot({ PRESERVE_SESSIONS_ON_REBOOT: 'maybe' });
    expect(code).toBe(1);
    expect(expectOneLine(stderr)).toMatch(/PRESERVE_SESSIONS_ON_REBOOT must be 0, 1, true or false/);
  });

  it('with exit code 1 and one line naming the missing key file when preserving', async () => {
    const { code, stderr } = await boot({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE });
    expect(code).toBe(1);
    expect(expectOneLine(stderr)).toContain(path.join(dir, 'keys', 'signing.pem'));
  });

  it('with exit code 1 and one line naming PRIVATE_KEY_PASSPHRASE when it is missing', async () => {
    const { code, stderr } = await boot({ PRESERVE_SESSIONS_ON_REBOOT: 'true' });
    expect(code).toBe(1);
    expect(expectOneLine(stderr)).toMatch(/PRIVATE_KEY_PASSPHRASE/);
  });
});
