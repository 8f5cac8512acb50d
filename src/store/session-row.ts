import type { SessionRecord } from './types.js';

/**
 * A row of the `sessions` table, as SQLite (numbers) and PostgreSQL (BIGINT as strings) return it.
 * Both SQL stores share the column layout.
 */
export interface SessionRow {
  id: string;
  user_id: string;
  client_jwk: string;
  client_kid: string;
  dpop_jkt: string | null;
  user_agent: string | null;
  epoch: string;
  created_at: number | string;
  last_used_at: number | string;
  expires_at: number | string;
  idle_expires_at: number | string;
  revoked_at: number | string | null;
  current_refresh_hash: string;
}

/** A `sessions` row as a {@link SessionRecord}. */
export function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientJwk: JSON.parse(row.client_jwk) as SessionRecord['clientJwk'],
    clientKid: row.client_kid,
    dpopJkt: row.dpop_jkt,
    userAgent: row.user_agent,
    epoch: row.epoch,
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    expiresAt: Number(row.expires_at),
    idleExpiresAt: Number(row.idle_expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}
