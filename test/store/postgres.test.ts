import { PostgresDatabase } from '../../src/db/postgres.js';
import { PostgresSessionStore } from '../../src/store/postgres.js';
import { describeWithPostgres, emptyTables, RELAXED_TIMEOUTS, testDatabasePerFile } from '../helpers/postgres.js';
import { describeStoreContract } from './contract.js';

describeWithPostgres('PostgresSessionStore', () => {
  const url = testDatabasePerFile();

  /** A store on its own pool of several connections, as one instance of a fleet holds. */
  const open = async () => PostgresSessionStore.open(await PostgresDatabase.connect(url(), { max: 5, ...RELAXED_TIMEOUTS }));

  describeStoreContract(
    'postgres',
    async () => {
      await emptyTables(url(), ['refresh_tokens', 'sessions']);
      return open();
    },
    { peerOf: open },
  );
});
