import { PostgresDatabase } from '../../src/db/postgres.js';
import { PostgresUserDirectory } from '../../src/users/postgres.js';
import { describeWithPostgres, emptyTables, RELAXED_TIMEOUTS, testDatabasePerFile } from '../helpers/postgres.js';
import { describeUserDirectoryContract } from './contract.js';

describeWithPostgres('PostgresUserDirectory', () => {
  const url = testDatabasePerFile();

  describeUserDirectoryContract('postgres', async () => {
    await emptyTables(url(), ['users']);
    return PostgresUserDirectory.open(await PostgresDatabase.connect(url(), { max: 4, ...RELAXED_TIMEOUTS }));
  });
});
