import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MigrationError, StoreUnavailableError } from '../errors.js';

/** How long a write waits for another process's lock before the store reports itself unavailable. */
export const BUSY_TIMEOUT_MS = 250;

/** Mode of a SQLite file the server creates; SQLite gives its `-wal` and `-shm` files the same. */
export const DATABASE_FILE_MODE = 0o600;
/** Mode of the folder the server creates for the SQLite file. */
export const DATABASE_FOLDER_MODE = 0o700;

/**
 * Opens (creating when needed) the SQLite database at `file` in WAL mode. Each part of the server
 * owns its tables and brings them up to date itself ({@link migrateSqlite}): the user directory its
 * `users`, the session store its `sessions` and `refresh_tokens`. The CLI opens it while the server runs.
 *
 * A folder or file created here is private to the server's user: the folder 0700, the database 0600
 * (and so its `-wal` and `-shm`, which SQLite creates with the database's mode). Existing ones keep
 * their modes.
 *
 * @param file - A path, or `:memory:` for a private in-memory database.
 * @example const db = openDatabase('data/auth.db');
 */
export function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') {
    mkdirSync(path.dirname(file), { recursive: true, mode: DATABASE_FOLDER_MODE });
    // Created before SQLite opens it, with the mode given at creation (no window where it is 0644).
    if (!existsSync(file)) closeSync(openSync(file, 'a', DATABASE_FILE_MODE));
  }
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Brings one component's tables up to date: runs the migrations past the version recorded for
 * `component` in `schema_migrations`, all in one `IMMEDIATE` transaction (so two processes opening
 * the file at once serialise), and records the new version. Idempotent.
 *
 * @param component - Who owns the tables (`users`, `sessions`).
 * @param migrations - SQL scripts in order; index + 1 is the version. Never edit a released one.
 * @throws {MigrationError} when the file records a newer version than this code knows, or a script fails.
 * @throws {StoreUnavailableError} when the database is locked or cannot be written.
 */
export function migrateSqlite(db: Database.Database, component: string, migrations: readonly string[]): void {
  guarded(() =>
    db
      .transaction(() => {
        db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
        const row = db.prepare<[string], { version: number }>('SELECT version FROM schema_migrations WHERE component = ?').get(component);
        const version = row?.version ?? 0;
        if (version > migrations.length) {
          throw new MigrationError(`the ${component} tables are at version ${version}, newer than this server knows (${migrations.length})`);
        }
        if (version === migrations.length) return;
        try {
          for (const sql of migrations.slice(version)) db.exec(sql);
        } catch (error) {
          if (typeof (error as { code?: unknown }).code === 'string' && UNAVAILABLE.test((error as { code: string }).code)) throw error;
          throw new MigrationError(`cannot migrate the ${component} tables: ${(error as Error).message}`);
        }
        db.prepare('INSERT INTO schema_migrations (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version').run(
          component,
          migrations.length,
        );
      })
      .immediate(),
  );
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
    throw translate(error);
  }
}

/**
 * A failure as the caller should see it. Decided by the error's `code` and `message`, not by
 * `instanceof`: the native driver may build its errors in another realm (as under Jest).
 */
function translate(error: unknown): unknown {
  if (error instanceof MigrationError || error instanceof StoreUnavailableError) return error;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return UNAVAILABLE.test(code) ? new StoreUnavailableError(`sqlite: ${code}`) : error;
  }
  // A closed database, or something thrown that is not an error at all: the store cannot answer.
  if (typeof message !== 'string' || /not open/.test(message)) return new StoreUnavailableError('sqlite: unavailable');
  return error;
}
