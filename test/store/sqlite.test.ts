import path from 'node:path';
import { openDatabase } from '../../src/db/sqlite.js';
import { SqliteSessionStore } from '../../src/store/sqlite.js';
import type { SessionStore } from '../../src/store/types.js';
import { tempDir } from '../helpers/runtime.js';
import { describeStoreContract } from './contract.js';

const temp = tempDir('jwe-auth-store-');
afterAll(() => temp.remove());

/** The file each store was opened on, so a peer opens a second connection to the same file. */
const fileOf = new WeakMap<SessionStore, string>();
let files = 0;

describeStoreContract(
  'sqlite',
  async () => {
    const file = path.join(temp.dir, `store-${files++}.db`);
    const store = new SqliteSessionStore(openDatabase(file));
    fileOf.set(store, file);
    return store;
  },
  { peerOf: async (store) => new SqliteSessionStore(openDatabase(fileOf.get(store) as string)) },
);
