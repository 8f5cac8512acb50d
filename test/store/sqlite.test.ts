import path from 'node:path';
import { openDatabase } from '../../src/db/sqlite.js';
import { SqliteSessionStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/runtime.js';
import { describeStoreContract } from './contract.js';

const temp = tempDir('jwe-auth-store-');
afterAll(() => temp.remove());

let files = 0;
describeStoreContract('sqlite', async () => new SqliteSessionStore(openDatabase(path.join(temp.dir, `store-${files++}.db`))));
