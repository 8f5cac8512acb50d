import Database from 'better-sqlite3';

/** The tables whose rows a refused request must leave exactly as they were. */
const TABLES = ['users', 'sessions', 'refresh_tokens'] as const;
export type TableName = (typeof TABLES)[number];

/** A read-only view of the server's SQLite file, from a second connection (as the CLI would see it). */
export interface TableView {
  /** Every row of every table, in a stable order. */
  snapshot(): Record<TableName, unknown[]>;
  count(table: TableName): number;
  close(): void;
}

/**
 * Opens a server's SQLite file read-only to look at what it stored.
 *
 * @example const tables = openTables(server.config.sqlitePath); expect(tables.count('sessions')).toBe(1);
 */
export function openTables(file: string): TableView {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    snapshot() {
      const rows = {} as Record<TableName, unknown[]>;
      for (const table of TABLES) rows[table] = db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
      return rows;
    },
    count(table) {
      return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    },
    close() {
      db.close();
    },
  };
}
