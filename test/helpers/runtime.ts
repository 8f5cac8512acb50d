import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import type { Express } from 'express';
import { loadConfig, type Config } from '../../src/config/index.js';
import { buildRuntime, type Runtime, type RuntimeOptions } from '../../src/boot.js';
import { createApp } from '../../src/http/app.js';
import { hashPassword } from '../../src/users/password.js';

/** A running app over a temporary directory (SQLite file, key files), for supertest. */
export interface TestServer {
  readonly app: Express;
  readonly runtime: Runtime;
  readonly config: Config;
  readonly dir: string;
  /** Adds a user with a password and returns its id. */
  addUser(username: string, password: string): Promise<string>;
  close(): Promise<void>;
}

export const silentLogger = pino({ level: 'silent' });

/** Makes a temporary directory removed by the returned function. */
export function tempDir(prefix = 'jwe-auth-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Gives every test of the calling file its own temporary directory, removed after the test.
 *
 * @returns A function answering the current test's directory.
 */
export function tempDirPerTest(prefix: string): () => string {
  let current: ReturnType<typeof tempDir> | undefined;
  beforeEach(() => {
    current = tempDir(prefix);
  });
  afterEach(() => current?.remove());
  return () => (current as ReturnType<typeof tempDir>).dir;
}

/**
 * Boots the app over a fresh temporary directory. `env` overrides the defaults (SQLite store in the
 * directory, insecure cookies, high login rate limits); `options` injects a clock, an events sink, or
 * a logger (silent unless a test captures it).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  dir?: string,
  options: RuntimeOptions & { readonly logger?: Logger } = {},
): Promise<TestServer> {
  const temp = dir ? { dir, remove: () => undefined } : tempDir();
  const config = loadConfig({
    SQLITE_PATH: path.join(temp.dir, 'auth.db'),
    KEYS_DIR: path.join(temp.dir, 'keys'),
    COOKIE_SECURE: 'false',
    LOGIN_RATE_LIMIT: '1000',
    LOGIN_IP_RATE_LIMIT: '10000',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const runtime = await buildRuntime(config, options.logger ?? silentLogger, options);
  const app = createApp(runtime);
  return {
    app,
    runtime,
    config,
    dir: temp.dir,
    async addUser(username, password) {
      return (await runtime.users.add(username, await hashPassword(password), Date.now())).id;
    },
    async close() {
      await runtime.close();
      temp.remove();
    },
  };
}

/** The server's SQLite database (its configuration uses one). */
export function sqliteOf(server: TestServer): Database.Database {
  const db = server.runtime.db;
  if (!db) throw new Error('this test server has no SQLite database');
  return db;
}

/** Runs `during` while another connection holds the server database's write lock: every write times out. */
export async function whileLocked(server: TestServer, during: () => Promise<void>): Promise<void> {
  const locker = new Database(server.config.sqlitePath);
  locker.exec('BEGIN EXCLUSIVE');
  try {
    await during();
  } finally {
    locker.exec('ROLLBACK');
    locker.close();
  }
}
