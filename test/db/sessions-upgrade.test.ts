import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import { migrateSqlite, openDatabase } from '../../src/db/sqlite.js';
import { generateKeyFiles } from '../../src/keys/key-files.js';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { parseClientKey } from '../../src/tokens/client-key.js';
import { newRefreshToken } from '../../src/tokens/refresh.js';
import { PostgresUserDirectory } from '../../src/users/postgres.js';
import { SqliteUserDirectory } from '../../src/users/sqlite.js';
import { hashPassword } from '../../src/users/password.js';
import { makeClientKey, openAccessToken, type ClientKeyPair } from '../helpers/client.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { login } from '../helpers/flow.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { sqliteOf, startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';

/**
 * The sessions component from version 1 (before DPoP) to version 2 (the `dpop_jkt` column and the
 * `dpop_proofs` table), on SQLite and PostgreSQL: a database as version 1 left it, with a live
 * session in it, booted by this code. The session survives as it was (unbound), and DPoP works.
 */

/** The released version 1 of the sessions tables, as its migration made them (frozen: released migrations never change). */
const V1_COLUMNS = (integer: string) => `
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  client_jwk TEXT NOT NULL,
  client_kid TEXT NOT NULL,
  user_agent TEXT,
  epoch TEXT NOT NULL,
  created_at ${integer} NOT NULL,
  last_used_at ${integer} NOT NULL,
  expires_at ${integer} NOT NULL,
  idle_expires_at ${integer} NOT NULL,
  revoked_at ${integer},
  current_refresh_hash TEXT NOT NULL`;
const V1 = (integer: string) => `CREATE TABLE IF NOT EXISTS sessions (${V1_COLUMNS(integer)});
  CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
  CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    superseded_at ${integer}
  );
  CREATE INDEX IF NOT EXISTS refresh_by_session ON refresh_tokens (session_id);`;

const PASSWORD = 'correct horse battery';
const ISSUER = 'https://auth.example';
/** Sessions of a server that preserves them carry this epoch, so the version 1 row is honoured after the boot. */
const PRESERVING = { PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: 'a passphrase long enough for the keys', ISSUER };
const DAY = 24 * 3600_000;

/** The session row version 1 holds, and what its client keeps. */
interface V1Session {
  readonly row: Record<string, string | number | null>;
  readonly refreshToken: string;
  readonly client: ClientKeyPair;
}

async function v1Session(userId: string): Promise<V1Session> {
  const client = await makeClientKey();
  const key = await parseClientKey(client.publicJwk);
  const refresh = newRefreshToken();
  const now = Date.now();
  const row = {
    id: randomUUID(),
    user_id: userId,
    client_jwk: JSON.stringify(key.jwk),
    client_kid: key.kid,
    user_agent: 'a client of version 1',
    epoch: 'preserved',
    created_at: now - DAY,
    last_used_at: now - DAY,
    expires_at: now + 29 * DAY,
    idle_expires_at: now + 6 * DAY,
    revoked_at: null,
    current_refresh_hash: refresh.hash,
  };
  return { row, refreshToken: refresh.token, client };
}

/** Boots this code on `dir` with preserved sessions (key files made first, as `jwe-auth keys generate` does). */
async function bootV2(dir: string, env: Record<string, string> = {}): Promise<TestServer> {
  const all = { ...PRESERVING, KEYS_DIR: path.join(dir, 'keys'), SQLITE_PATH: path.join(dir, 'auth.db'), ...env };
  await generateKeyFiles(loadConfig(all), false);
  return startTestServer(all, dir);
}

const COLUMNS = ['id', 'user_id', 'client_jwk', 'client_kid', 'user_agent', 'epoch', 'created_at', 'last_used_at', 'expires_at', 'idle_expires_at', 'revoked_at', 'current_refresh_hash'];

/** What the upgraded server must show for a version 1 database: run against each backend. */
function describeUpgrade(boot: () => Promise<{ server: TestServer; v1: V1Session; version: () => Promise<number> }>): void {
  let server: TestServer;
  let v1: V1Session;
  let version: () => Promise<number>;
  beforeAll(async () => {
    ({ server, v1, version } = await boot());
  });
  afterAll(() => server?.close());

  it('records version 2 of the sessions component', async () => {
    expect(await version()).toBe(2);
  });

  it('keeps the version 1 session as it was, unbound', async () => {
    const session = await server.runtime.store.getSession(v1.row.id as string, Date.now());
    expect(session).toEqual({
      id: v1.row.id,
      userId: v1.row.user_id,
      clientJwk: JSON.parse(v1.row.client_jwk as string),
      clientKid: v1.row.client_kid,
      dpopJkt: null,
      userAgent: v1.row.user_agent,
      epoch: 'preserved',
      createdAt: v1.row.created_at,
      lastUsedAt: v1.row.last_used_at,
      expiresAt: v1.row.expires_at,
      idleExpiresAt: v1.row.idle_expires_at,
      revokedAt: null,
    });
  });

  it('refreshes the version 1 session with its refresh token, still as Bearer, to its client key', async () => {
    const res = await request(server.app).post('/auth/refresh').send({ refresh_token: v1.refreshToken }).expect(200);
    expect({ type: res.body.token_type, session: res.body.session_id }).toEqual({ type: 'Bearer', session: v1.row.id });
    const jws = await openAccessToken(res.body.access_token as string, v1.client);
    expect(JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString())).not.toHaveProperty('cnf');
  });

  it('binds new sessions with DPoP, serves them with proofs, and refuses a replayed proof (the new proof table)', async () => {
    const key = await makeProofKey();
    const bound = await login(server.app, 'alice', PASSWORD, { dpop: { key, origin: ISSUER } });
    expect(bound.body.token_type).toBe('DPoP');
    const proof = await makeProof(key, { htm: 'GET', htu: `${ISSUER}/api/me`, token: bound.bearer });
    const me = () => request(server.app).get('/api/me').set({ Authorization: `DPoP ${bound.bearer}`, DPoP: proof });
    expect((await me()).status).toBe(200);
    const replay = await me();
    expect({ status: replay.status, error: replay.body.error }).toEqual({ status: 401, error: 'invalid_dpop_proof' });
    const rotated = await request(server.app)
      .post('/auth/refresh')
      .set({ DPoP: await makeProof(key, { htm: 'POST', htu: `${ISSUER}/auth/refresh` }) })
      .send({ refresh_token: bound.refreshToken });
    expect({ status: rotated.status, type: rotated.body.token_type }).toEqual({ status: 200, type: 'DPoP' });
    const list = await request(server.app).get('/auth/sessions').set({ Authorization: `DPoP ${bound.bearer}`, DPoP: await makeProof(key, { htm: 'GET', htu: `${ISSUER}/auth/sessions`, token: bound.bearer }) });
    expect((list.body.sessions as Array<{ id: string }>).map((s) => s.id).sort()).toEqual([v1.row.id, bound.body.session_id].sort());
  });
}

describe('a SQLite file at sessions version 1, booted by version 2', () => {
  const temp = tempDir('jwe-auth-upgrade-');
  afterAll(() => temp.remove());

  describeUpgrade(async () => {
    const file = path.join(temp.dir, 'auth.db');
    const db = openDatabase(file);
    const alice = await new SqliteUserDirectory(db).add('alice', await hashPassword(PASSWORD), Date.now());
    migrateSqlite(db, 'sessions', [V1('INTEGER')]);
    const v1 = await v1Session(alice.id);
    db.prepare(`INSERT INTO sessions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`).run(v1.row);
    db.prepare('INSERT INTO refresh_tokens (hash, session_id, superseded_at) VALUES (?, ?, NULL)').run(v1.row.current_refresh_hash, v1.row.id);
    expect(db.prepare("SELECT version FROM schema_migrations WHERE component = 'sessions'").get()).toEqual({ version: 1 });
    db.close();
    const server = await bootV2(temp.dir);
    const version = async () => (sqliteOf(server).prepare("SELECT version FROM schema_migrations WHERE component = 'sessions'").get() as { version: number }).version;
    return { server, v1, version };
  });
});

describeWithPostgres('a PostgreSQL database at sessions version 1, booted by version 2', () => {
  const temp = tempDir('jwe-auth-upgrade-pg-');
  let database: TestDatabase;
  afterAll(async () => {
    await database?.drop();
    temp.remove();
  });

  const query = async (sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };

  describeUpgrade(async () => {
    database = await createTestDatabase();
    const db = await PostgresDatabase.connect(database.url, { max: 2 });
    let v1: V1Session;
    try {
      const alice = await (await PostgresUserDirectory.open(db)).add('alice', await hashPassword(PASSWORD), Date.now());
      await db.migrate('sessions', [V1('BIGINT')]);
      v1 = await v1Session(alice.id);
      await query(`INSERT INTO sessions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_c, i) => `$${i + 1}`).join(', ')})`, COLUMNS.map((c) => v1.row[c]));
      await query('INSERT INTO refresh_tokens (hash, session_id, superseded_at) VALUES ($1, $2, NULL)', [v1.row.current_refresh_hash, v1.row.id]);
      expect(await query("SELECT version FROM jwe_auth_migrations WHERE component = 'sessions'")).toEqual([{ version: 1 }]);
      expect(await query("SELECT to_regclass('dpop_proofs') AS found")).toEqual([{ found: null }]);
    } finally {
      await db.close();
    }
    const server = await bootV2(temp.dir, { STORE: 'postgres', DATABASE_URL: database.url });
    const version = async () => Number((await query("SELECT version FROM jwe_auth_migrations WHERE component = 'sessions'"))[0]?.version);
    return { server, v1, version };
  });
});
