import path from 'node:path';
import { openDatabase } from '../../src/db/sqlite.js';
import { SqliteUserDirectory } from '../../src/users/sqlite.js';
import { tempDir } from '../helpers/runtime.js';
import { describeUserDirectoryContract } from './contract.js';

const temp = tempDir('jwe-auth-users-');
afterAll(() => temp.remove());

let files = 0;
describeUserDirectoryContract('sqlite', async () => new SqliteUserDirectory(openDatabase(path.join(temp.dir, `users-${files++}.db`))));
