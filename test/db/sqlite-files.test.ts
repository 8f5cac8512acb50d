import { statSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../src/db/sqlite.js';
import { SqliteSessionStore } from '../../src/store/sqlite.js';
import { SqliteUserDirectory } from '../../src/users/sqlite.js';
import { tempDirPerTest } from '../helpers/runtime.js';

const dir = tempDirPerTest('jwe-auth-files-');
const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('the SQLite files the server creates', () => {
  it('are private: the folder 0700, the database and its -wal and -shm 0600', async () => {
    const file = path.join(dir(), 'new', 'nested', 'auth.db');
    const db = openDatabase(file);
    const users = new SqliteUserDirectory(db);
    new SqliteSessionStore(db);
    await users.add('alice', 'hash', Date.now());
    try {
      expect(modeOf(path.join(dir(), 'new'))).toBe(0o700);
      expect(modeOf(path.dirname(file))).toBe(0o700);
      for (const made of [file, `${file}-wal`, `${file}-shm`]) expect({ file: made, mode: modeOf(made).toString(8) }).toEqual({ file: made, mode: '600' });
    } finally {
      db.close();
    }
  });

  it('keep an existing folder as it is', () => {
    const before = modeOf(dir());
    openDatabase(path.join(dir(), 'auth.db')).close();
    expect(modeOf(dir())).toBe(before);
    expect(modeOf(path.join(dir(), 'auth.db'))).toBe(0o600);
  });
});
