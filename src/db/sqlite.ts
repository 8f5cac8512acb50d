import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../errors.js';

/** How long a write waits for another process's lock before the store reports itself unavailable. */
export const BUSY_TIMEOUT_MS = 250;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     password_changed_at INTEGER NOT NULL
   );
   CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     client_jwk TEXT NOT NULL,
     client_kid TEXT NOT NULL,
     user_agent TEXT,
     epoch TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     idle_expires_at INTEGER NOT NULL,
     revoked_at INTEGER,
     current_refresh_hash TEXT NOT NULL
   );
   CREATE INDEX sessions_by_user ON sessions (user_id);
   CREATE TABLE refresh_tokens (
     hash TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
     superseded_at INTEGER
   );
   CREATE INDEX refresh_by_session ON refresh_tokens (session_id);`,
];

/**
 * Opens (creating when needed) the SQLite database at `file` in WAL mode and brings its schema
 * up to date. Users and sessions share this file; the CLI opens it while the server runs.
 *
 * @param file - A path, or `:memory:` for a private in-memory database.
 */
export function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  const pending = MIGRATIONS.slice(version);
  if (pending.length > 0) {
    db.transaction(() => {
      for (const sql of pending) db.exec(sql);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }
  return db;
}

/** SQLite error codes that mean "cannot answer now", not "bad request". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN|FULL|PROTOCOL|NOTADB|CORRUPT)/;

/**
 * Runs a database step, translating "cannot answer" failures into {@link StoreUnavailableError}.
 * better-sqlite3 rolls a failed transaction back, so nothing is half-written.
 */
export function guarded<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((typeof code === 'string' && UNAVAILABLE.test(code)) || !(error instanceof Error) || /not open/.test(error.message)) {
      throw new StoreUnavailableError(`sqlite: ${typeof code === 'string' ? code : 'unavailable'}`);
    }
    throw error;
  }
}
