import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SessionRecord } from './types.js';

/**
 * The Redis layout of {@link RedisSessionStore} (keys, session hashes) and the Lua scripts behind
 * every step that must be atomic. Redis runs a script without interleaving any other command, so
 * each step does all of its change or none.
 *
 * Key layout under the prefix `P` (see {@link redisKeys}):
 * - `P session:<id>`: hash of the session's fields plus `current` (hash of its live refresh token);
 *   expires at the session's absolute end.
 * - `P refresh:<hash>`: hash `{sid, supersededAt?}`; expires with its session.
 * - `P session:<id>:tokens`: set of the session's refresh hashes (so purging can delete them).
 * - `P user:<userId>:sessions`: set of the user's session ids; expires with its longest session.
 * - `P dpop:<proof id>`: a DPoP proof id seen (`SET NX PXAT`); expires when it may be forgotten.
 * - channel `P revocations`: JSON arrays of revoked session ids.
 *
 * Scripts build the keys of a session found through its refresh token from the prefix, so the store
 * targets a standalone Redis (or a primary with replicas), not Redis Cluster.
 *
 * @module
 */

/** A Lua script and its SHA-1, sent with EVALSHA and loaded with EVAL on `NOSCRIPT`. */
export interface RedisScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): RedisScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Key names under a prefix. Prefix and ids are used as they are. */
export function redisKeys(prefix: string) {
  return {
    prefix,
    session: (id: string) => `${prefix}session:${id}`,
    tokens: (id: string) => `${prefix}session:${id}:tokens`,
    refresh: (hash: string) => `${prefix}refresh:${hash}`,
    user: (userId: string) => `${prefix}user:${userId}:sessions`,
    /** SCAN pattern matching every user index (glob characters of the prefix escaped). */
    userPattern: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}user:*:sessions`,
    channel: `${prefix}revocations`,
    /** A remembered DPoP proof id; expires at the end given with it. */
    proof: (id: string) => `${prefix}dpop:${id}`,
  };
}

/** The session's fields (and its current refresh hash) as a flat HSET argument list; `null` fields are left out. */
export function encodeSession(session: SessionRecord, refreshHash: string): string[] {
  const fields: Record<string, string | null> = {
    id: session.id,
    userId: session.userId,
    clientJwk: JSON.stringify(session.clientJwk),
    clientKid: session.clientKid,
    dpopJkt: session.dpopJkt,
    userAgent: session.userAgent,
    epoch: session.epoch,
    createdAt: String(session.createdAt),
    lastUsedAt: String(session.lastUsedAt),
    expiresAt: String(session.expiresAt),
    idleExpiresAt: String(session.idleExpiresAt),
    revokedAt: session.revokedAt === null ? null : String(session.revokedAt),
    current: refreshHash,
  };
  return Object.entries(fields).flatMap(([name, value]) => (value === null ? [] : [name, value]));
}

/**
 * A session hash back into a record, or `null` for a missing (empty) hash. Takes HGETALL's object or
 * the flat field/value list a script returns.
 */
export function decodeSession(hash: Record<string, string> | readonly unknown[]): SessionRecord | null {
  const fields = Array.isArray(hash) ? pairs(hash) : (hash as Record<string, string>);
  if (fields.id === undefined || fields.userId === undefined || fields.clientJwk === undefined) return null;
  return {
    id: fields.id,
    userId: fields.userId,
    clientJwk: JSON.parse(fields.clientJwk) as SessionRecord['clientJwk'],
    clientKid: fields.clientKid ?? '',
    dpopJkt: fields.dpopJkt ?? null,
    userAgent: fields.userAgent ?? null,
    epoch: fields.epoch ?? '',
    createdAt: Number(fields.createdAt),
    lastUsedAt: Number(fields.lastUsedAt),
    expiresAt: Number(fields.expiresAt),
    idleExpiresAt: Number(fields.idleExpiresAt),
    revokedAt: fields.revokedAt === undefined ? null : Number(fields.revokedAt),
  };
}

/** A flat field/value list (as a script returns a hash) as an object. */
export function pairs(flat: readonly unknown[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  return fields;
}

/** Shared Lua helpers: key names from the prefix, and "is this session hash live at now". */
const LUA_PRELUDE = `
local function session_key(prefix, id) return prefix .. 'session:' .. id end
local function is_live(revoked, expires, idle, now)
  return not revoked and expires and now < tonumber(expires) and now < tonumber(idle)
end
`;

/**
 * KEYS: session, refresh, tokens, user index. ARGV: expiresAt, refreshHash, sessionId, then the
 * session's field/value pairs. Refuses (error reply) an id or refresh hash that already exists.
 */
export const CREATE_SESSION = script(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('jwe-auth: session or refresh token already exists')
end
local expires = ARGV[1]
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], expires)
redis.call('HSET', KEYS[2], 'sid', ARGV[3])
redis.call('PEXPIREAT', KEYS[2], expires)
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[3], expires)
local ttl = redis.call('PTTL', KEYS[4])
redis.call('SADD', KEYS[4], ARGV[3])
local time = redis.call('TIME')
local wanted = tonumber(expires) - (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
if ttl < 0 or ttl < wanted then redis.call('PEXPIREAT', KEYS[4], expires) end
return 1
`);

/**
 * KEYS: presented refresh. ARGV: prefix, now. Returns `{}` when the token is unknown or its session
 * has vanished or is past its absolute end, else `{supersededAt or '', ...session hash fields}`
 * (the fields include `current`). Read in one script, so the facts are one consistent snapshot.
 */
export const FIND_REFRESH_TOKEN = script(`${LUA_PRELUDE}
local sid = redis.call('HGET', KEYS[1], 'sid')
if not sid then return {} end
local skey = session_key(ARGV[1], sid)
local expires = redis.call('HGET', skey, 'expiresAt')
if not expires or tonumber(ARGV[2]) >= tonumber(expires) then return {} end
local reply = {redis.call('HGET', KEYS[1], 'supersededAt') or ''}
for _, v in ipairs(redis.call('HGETALL', skey)) do reply[#reply + 1] = v end
return reply
`);

/**
 * KEYS: session, its current (expected) refresh, the next refresh, the session's token set.
 * ARGV: sessionId, expectedHash, nextHash, now, idleExpiresAt. The compare-and-set of
 * `SessionStore.advanceRefreshToken`: returns `{}` unless the session is live at `now` with
 * `expectedHash` current, else the updated session hash fields.
 */
export const ADVANCE_REFRESH_TOKEN = script(`${LUA_PRELUDE}
local now = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'revokedAt', 'expiresAt', 'idleExpiresAt', 'current')
if not is_live(s[1], s[2], s[3], now) or s[4] ~= ARGV[2] then return {} end
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('HEXISTS', KEYS[2], 'supersededAt') == 0 then
  redis.call('HSET', KEYS[2], 'supersededAt', ARGV[4])
end
redis.call('HSET', KEYS[3], 'sid', ARGV[1])
redis.call('PEXPIREAT', KEYS[3], s[2])
redis.call('SADD', KEYS[4], ARGV[3])
local idle = ARGV[5]
if tonumber(idle) > tonumber(s[2]) then idle = s[2] end
redis.call('HSET', KEYS[1], 'current', ARGV[3], 'lastUsedAt', ARGV[4], 'idleExpiresAt', idle)
return redis.call('HGETALL', KEYS[1])
`);

/** KEYS: session. ARGV: lastUsedAt. Never recreates a vanished session. */
export const TOUCH_SESSION = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1]) end
return 1
`);

/** KEYS: session. ARGV: now, channel, sessionId. Returns 1 when it revoked a session now. */
export const REVOKE_SESSION = script(`
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'revokedAt') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1])
redis.call('PUBLISH', ARGV[2], cjson.encode({ARGV[3]}))
return 1
`);

/**
 * KEYS: user index. ARGV: prefix, now, exceptId, channel. Revokes every unrevoked session of the
 * user but `exceptId`, drops ids whose session has vanished, and returns the ids revoked.
 */
export const REVOKE_USER_SESSIONS = script(`${LUA_PRELUDE}
local revoked = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local skey = session_key(ARGV[1], id)
  if redis.call('EXISTS', skey) == 0 then
    redis.call('SREM', KEYS[1], id)
  elseif id ~= ARGV[3] and redis.call('HEXISTS', skey, 'revokedAt') == 0 then
    redis.call('HSET', skey, 'revokedAt', ARGV[2])
    revoked[#revoked + 1] = id
  end
end
if #revoked > 0 then redis.call('PUBLISH', ARGV[4], cjson.encode(revoked)) end
return revoked
`);

/**
 * KEYS: user index. ARGV: prefix, now. Deletes the user's sessions that are not live at `now` with
 * their refresh tokens, forgets ids whose session expired by TTL, and returns how many it deleted.
 */
export const PURGE_USER_SESSIONS = script(`${LUA_PRELUDE}
local prefix, now, purged = ARGV[1], tonumber(ARGV[2]), 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local skey = session_key(prefix, id)
  local s = redis.call('HMGET', skey, 'revokedAt', 'expiresAt', 'idleExpiresAt')
  if not s[2] then
    redis.call('SREM', KEYS[1], id)
  elseif not is_live(s[1], s[2], s[3], now) then
    for _, hash in ipairs(redis.call('SMEMBERS', skey .. ':tokens')) do redis.call('DEL', prefix .. 'refresh:' .. hash) end
    redis.call('DEL', skey, skey .. ':tokens')
    redis.call('SREM', KEYS[1], id)
    purged = purged + 1
  end
end
return purged
`);

/**
 * Runs a script by its SHA, loading it with EVAL when this Redis has not seen it yet (first use,
 * restart, `SCRIPT FLUSH`).
 */
export async function runScript(client: Redis, script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}
