import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** Signing algorithms the server can sign access tokens with. */
export const SIGNING_ALGS = ['ES256', 'EdDSA', 'PS256'] as const;
/** Encryption key types the server can receive bearer tokens with. */
export const ENCRYPTION_KEY_TYPES = ['x25519', 'p256', 'rsa'] as const;
/** Session stores. `postgres` needs `DATABASE_URL`; `memory` is for tests only. */
export const STORES = ['sqlite', 'redis', 'postgres', 'memory'] as const;

/** A value of `SIGNING_ALG`: one of {@link SIGNING_ALGS}. */
export type SigningAlg = (typeof SIGNING_ALGS)[number];
/** A value of `ENCRYPTION_KEY_TYPE`: one of {@link ENCRYPTION_KEY_TYPES}. */
export type EncryptionKeyType = (typeof ENCRYPTION_KEY_TYPES)[number];
/** A value of `STORE`: one of {@link STORES}. */
export type StoreKind = (typeof STORES)[number];

/** The validated, frozen server configuration. Durations are in milliseconds. */
export interface Config {
  /** `PORT`: TCP port to listen on (0 picks a free port). */
  readonly port: number;
  /** `HOST`: interface to bind. */
  readonly host: string;
  /** `PRESERVE_SESSIONS_ON_REBOOT`: load keys from `keysDir` so sessions survive restarts; otherwise fresh keys and a new epoch per boot. */
  readonly preserveSessions: boolean;
  /** `PRIVATE_KEY_PASSPHRASE`: passphrase of the PEMs (at least 16 characters; required when preserving). */
  readonly privateKeyPassphrase: string | undefined;
  /** `KEYS_DIR`, resolved to an absolute path. */
  readonly keysDir: string;
  /** `STORE`: where sessions and refresh tokens live. */
  readonly store: StoreKind;
  /**
   * `SQLITE_PATH`, resolved to an absolute path (or `:memory:`): sessions with `STORE=sqlite`, and
   * users unless `databaseUrl` is set.
   */
  readonly sqlitePath: string;
  /**
   * `DATABASE_URL`: a `postgres://` (or `postgresql://`) URL. When set, users live in PostgreSQL
   * (server and CLI alike); required when `store` is `postgres`.
   */
  readonly databaseUrl: string | undefined;
  /** `REDIS_URL`: required when `store` is `redis`. */
  readonly redisUrl: string | undefined;
  /** `REDIS_PREFIX`: prefix of every Redis key. */
  readonly redisPrefix: string;
  /** `ISSUER`: the `iss` of access tokens. */
  readonly issuer: string;
  /** `AUDIENCE`: the `aud` of access tokens. */
  readonly audience: string;
  /** `ACCESS_TOKEN_TTL`: access token lifetime. */
  readonly accessTokenTtl: number;
  /** `REFRESH_TOKEN_TTL`: absolute session lifetime, from login. */
  readonly refreshTokenTtl: number;
  /** `SESSION_IDLE_TTL`: a session not refreshed for this long ends. */
  readonly sessionIdleTtl: number;
  /** `REFRESH_REUSE_GRACE`: how long a rotated refresh token may be presented again without revoking its session. */
  readonly refreshReuseGrace: number;
  /** `SIGNING_ALG`: the algorithm access tokens are signed with. */
  readonly signingAlg: SigningAlg;
  /** `ENCRYPTION_KEY_TYPE`: the kind of key clients seal bearer tokens to. */
  readonly encryptionKeyType: EncryptionKeyType;
  /** `COOKIE_SECURE`: mark the refresh cookie `Secure`. */
  readonly cookieSecure: boolean;
  /** `LOGIN_RATE_LIMIT`: failed logins a minute for one client IP and username (also failed password changes a minute per user). */
  readonly loginRateLimit: number;
  /** `LOGIN_IP_RATE_LIMIT`: failed logins a minute for one client IP, across usernames. */
  readonly loginIpRateLimit: number;
  /** `LOGIN_CONCURRENCY`: password hashes computed at once by this process (`auto`: {@link defaultLoginConcurrency}). */
  readonly loginConcurrency: number;
  /**
   * `LOGIN_RATE_WHEN_BUSY`: while the event loop is saturated, the password checks this process
   * starts per second at most (0: never paced).
   */
  readonly loginRateWhenBusy: number;
  /**
   * `HASH_PRIORITY`: how the threads that compute password hashes yield the cores to requests:
   * `idle` (default; Linux's SCHED_IDLE, else nice 19) or a nice value, 0 (the process's priority) to 19.
   */
  readonly hashPriority: HashPriority;
  /** `SHUTDOWN_TIMEOUT`: the longest a SIGTERM/SIGINT drain may take before the process exits 1. */
  readonly shutdownTimeout: number;
  /** `REQUEST_TIMEOUT`: a request whose headers and body are not fully received by then is answered 408 and closed. */
  readonly requestTimeout: number;
  /** `WORKERS`: server processes (node:cluster workers); `auto` is one per core. 1: no cluster. */
  readonly workers: number;
  /**
   * `TRUST_PROXY`: how many reverse proxies stand in front of the server; the client IP is taken
   * that many hops from the right of `X-Forwarded-For` (0: the socket address).
   */
  readonly trustProxyHops: number;
  /** `LOG_LEVEL`: the pino log level. */
  readonly logLevel: string;
  /** `KEY_RELOAD_INTERVAL`: how often a preserving server looks for rotated keys (0: never). */
  readonly keyReloadInterval: number;
  /** `METRICS_PORT`: where `GET /metrics` listens (0 picks a free port); `undefined` (the default): no metrics. */
  readonly metricsPort: number | undefined;
  /** `METRICS_HOST`: the interface of the metrics listener, loopback by default. */
  readonly metricsHost: string;
  /** `DPOP_REQUIRED`: refuse logins without a DPoP proof (RFC 9449), so every session is bound to a key. */
  readonly dpopRequired: boolean;
}

/** Raised when the environment cannot be turned into a configuration; `message` is one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Stable code for logs and tests. */
  readonly code = 'config_invalid';
}

/** The shortest passphrase accepted for the private key PEMs. */
export const MIN_PASSPHRASE_LENGTH = 16;

/** A value as quoted in an error message: escaped (so the message stays one line) and shortened. */
const shown = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

const bool = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      // Exactly these four spellings: a value like "yes", "TRUE" or " 1" is more likely a mistake
      // than a choice, and a boolean that guesses wrong can leave keys or cookies unprotected.
      if (value === '1' || value === 'true') return true;
      if (value === '0' || value === 'false') return false;
      ctx.addIssue({ code: 'custom', message: `must be 0, 1, true or false (got ${shown(value)})` });
      return z.NEVER;
    });

const duration = (fallback: string, minimumMs = 1000) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null || !Number.isSafeInteger(ms)) {
        ctx.addIssue({ code: 'custom', message: `must be a duration such as 30s, 15m, 7d (got ${shown(value)})` });
        return z.NEVER;
      }
      if (ms < minimumMs) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${minimumMs} ms (got ${shown(value)})` });
        return z.NEVER;
      }
      return ms;
    });

const oneOf = <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      if ((values as readonly string[]).includes(value)) return value as T[number];
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')} (got ${shown(value)})` });
      return z.NEVER;
    });

const wholeNumber =
  (min: number, max: number) =>
  (value: string, ctx: z.RefinementCtx): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got ${shown(value)})` });
      return z.NEVER;
    }
    return n;
  };

const integer = (fallback: string, min: number, max: number) => z.string().default(fallback).transform(wholeNumber(min, max));

/** A whole number with no default: unset stays `undefined` (a feature that is off). */
const optionalInteger = (min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => (value === undefined ? undefined : wholeNumber(min, max)(value, ctx)));

/** A whole number from `min` to `max`, or `auto` (read as `null`). */
const countOrAuto = (fallback: string, min: number, max: number) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      if (value === 'auto') return null;
      if (/^\d+$/.test(value) && Number(value) >= min && Number(value) <= max) return Number(value);
      ctx.addIssue({ code: 'custom', message: `must be auto or a whole number from ${min} to ${max} (got ${shown(value)})` });
      return z.NEVER;
    });

/**
 * How the password hashing threads yield the CPU (`HASH_PRIORITY`): `idle` (Linux's SCHED_IDLE: they
 * run only on a core nothing else wants) or a nice value, 0 (the process's own priority) to 19.
 */
export type HashPriority = 'idle' | number;

/** The hashing threads' priority unless `HASH_PRIORITY` (or `configurePasswordHashing`) sets one. */
export const DEFAULT_HASH_PRIORITY: HashPriority = 'idle';

/** `idle` or a nice value from 0 to 19 (`HASH_PRIORITY`). */
const hashPriority = () =>
  z
    .string()
    .default(String(DEFAULT_HASH_PRIORITY))
    .transform((value, ctx): HashPriority => {
      if (value === 'idle') return value;
      if (/^\d+$/.test(value) && Number(value) <= 19) return Number(value);
      ctx.addIssue({ code: 'custom', message: `must be idle or a nice value from 0 to 19 (got ${shown(value)})` });
      return z.NEVER;
    });

const url = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((value) => URL.canParse(value), { message: 'must be an absolute URL' });

const nonEmpty = (fallback: string) => z.string().default(fallback).refine((v) => v.trim() !== '', 'must not be empty');

const schema = z.object({
  PORT: integer('3000', 0, 65535),
  HOST: nonEmpty('0.0.0.0'),
  PRESERVE_SESSIONS_ON_REBOOT: bool('0'),
  PRIVATE_KEY_PASSPHRASE: z.string().optional(),
  KEYS_DIR: nonEmpty('server/keys'),
  STORE: oneOf(STORES, 'sqlite'),
  SQLITE_PATH: nonEmpty('data/auth.db'),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  REDIS_PREFIX: nonEmpty('jwe-auth:'),
  ISSUER: url('http://localhost:3000'),
  AUDIENCE: nonEmpty('jwe-auth-server'),
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('7d'),
  SESSION_IDLE_TTL: duration('7d'),
  REFRESH_REUSE_GRACE: duration('10s', 0),
  SIGNING_ALG: oneOf(SIGNING_ALGS, 'ES256'),
  ENCRYPTION_KEY_TYPE: oneOf(ENCRYPTION_KEY_TYPES, 'x25519'),
  COOKIE_SECURE: bool('true'),
  LOGIN_RATE_LIMIT: integer('10', 1, 1_000_000),
  LOGIN_IP_RATE_LIMIT: integer('100', 1, 1_000_000),
  LOGIN_CONCURRENCY: countOrAuto('auto', 1, 1024),
  LOGIN_RATE_WHEN_BUSY: integer('5', 0, 100_000),
  HASH_PRIORITY: hashPriority(),
  SHUTDOWN_TIMEOUT: duration('10s'),
  REQUEST_TIMEOUT: duration('30s'),
  WORKERS: countOrAuto('1', 1, 256),
  TRUST_PROXY: integer('0', 0, 10),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  KEY_RELOAD_INTERVAL: duration('30s', 0),
  METRICS_PORT: optionalInteger(0, 65535),
  METRICS_HOST: nonEmpty('127.0.0.1'),
  DPOP_REQUIRED: bool('false'),
});

/**
 * The one rule for `PRIVATE_KEY_PASSPHRASE`: set, and at least {@link MIN_PASSPHRASE_LENGTH} characters.
 *
 * @param when - Why it is needed, for the message (`when PRESERVE_SESSIONS_ON_REBOOT is on`).
 * @returns The passphrase.
 * @throws {ConfigError} naming the variable.
 * @example const passphrase = checkPassphrase(config.privateKeyPassphrase, 'to write key files');
 */
export function checkPassphrase(passphrase: string | undefined, when: string): string {
  if (passphrase === undefined || passphrase === '') throw new ConfigError(`PRIVATE_KEY_PASSPHRASE is required ${when}`);
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new ConfigError(`PRIVATE_KEY_PASSPHRASE must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  return passphrase;
}

/** Whether `value` is a `postgres://` or `postgresql://` URL. */
function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//.test(value) && URL.canParse(value);
}

/**
 * `LOGIN_CONCURRENCY=auto`: the password hashes one process computes at once. The host keeps one
 * core per worker for answering requests (each worker's event loop) and shares the other cores among
 * the workers' hashes, at least one per worker: 1 on 2 cores with one worker, 7 on 8. Hashing on
 * every core would leave the event loop to compete with argon2 for CPU, and a login flood would
 * multiply the latency of every other request (`docs/serving.md`).
 *
 * @example defaultLoginConcurrency(8, 1); // 7
 */
export function defaultLoginConcurrency(cores: number, workers: number): number {
  return Math.max(1, Math.floor((cores - workers) / workers));
}

/**
 * Validates the environment once and returns a frozen configuration.
 *
 * Empty strings count as unset, so `FOO=` in a `.env` file falls back to the default.
 *
 * @param env - The environment, usually `process.env` after dotenv has loaded `.env`.
 * @throws {ConfigError} with one line naming the first bad variable and what is wrong with it.
 * @example const config = loadConfig({ ...process.env, STORE: 'memory' });
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`${name} ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  if (e.PRESERVE_SESSIONS_ON_REBOOT) {
    checkPassphrase(e.PRIVATE_KEY_PASSPHRASE, 'when PRESERVE_SESSIONS_ON_REBOOT is on');
    if (e.STORE === 'memory') {
      throw new ConfigError('STORE=memory cannot preserve sessions; use sqlite, redis or postgres with PRESERVE_SESSIONS_ON_REBOOT');
    }
  }
  if (e.STORE === 'postgres' && e.DATABASE_URL === undefined) {
    throw new ConfigError('DATABASE_URL is required when STORE=postgres');
  }
  if (e.DATABASE_URL !== undefined && !isPostgresUrl(e.DATABASE_URL)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  if (e.STORE === 'redis' && e.REDIS_URL === undefined) {
    throw new ConfigError('REDIS_URL is required when STORE=redis');
  }
  if (e.REDIS_URL !== undefined && !/^rediss?:\/\//.test(e.REDIS_URL)) {
    throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
  }
  const cores = os.availableParallelism();
  const workers = e.WORKERS ?? cores;
  if (workers > 1 && e.STORE === 'memory') {
    throw new ConfigError(`WORKERS must be 1 with STORE=memory (got ${workers}): memory is private to each process`);
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    preserveSessions: e.PRESERVE_SESSIONS_ON_REBOOT,
    privateKeyPassphrase: e.PRIVATE_KEY_PASSPHRASE,
    keysDir: path.resolve(e.KEYS_DIR),
    store: e.STORE,
    sqlitePath: e.SQLITE_PATH === ':memory:' ? e.SQLITE_PATH : path.resolve(e.SQLITE_PATH),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    issuer: e.ISSUER,
    audience: e.AUDIENCE,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    sessionIdleTtl: e.SESSION_IDLE_TTL,
    refreshReuseGrace: e.REFRESH_REUSE_GRACE,
    signingAlg: e.SIGNING_ALG,
    encryptionKeyType: e.ENCRYPTION_KEY_TYPE,
    cookieSecure: e.COOKIE_SECURE,
    loginRateLimit: e.LOGIN_RATE_LIMIT,
    loginIpRateLimit: e.LOGIN_IP_RATE_LIMIT,
    loginConcurrency: e.LOGIN_CONCURRENCY ?? defaultLoginConcurrency(cores, workers),
    loginRateWhenBusy: e.LOGIN_RATE_WHEN_BUSY,
    hashPriority: e.HASH_PRIORITY,
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
    requestTimeout: e.REQUEST_TIMEOUT,
    workers,
    trustProxyHops: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    keyReloadInterval: e.KEY_RELOAD_INTERVAL,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    dpopRequired: e.DPOP_REQUIRED,
  });
}
