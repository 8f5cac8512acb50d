import type { Logger } from 'pino';
import type { AuthEvents } from '../events.js';

/** The `msg` of every audit line; the event itself is in the `event` field. */
export const AUDIT_MESSAGE = 'audit';

/**
 * The {@link AuthEvents} sink of the audit log: one JSON line per audit event, at `info`, with `event`
 * and the event's fields (ids, names, counts: never a secret). Outcomes that are only counted
 * (login, refresh, refused token) write nothing here; the access log and the metrics have them.
 *
 * @example auditLog(logger).audit('user_disabled', { username: 'bob' });
 * // {"level":30,...,"event":"user_disabled","username":"bob","msg":"audit"}
 */
export function auditLog(logger: Logger): AuthEvents {
  return {
    audit: (event, fields = {}) => logger.info({ ...fields, event }, AUDIT_MESSAGE),
    login() {},
    refresh() {},
    tokenRefused() {},
  };
}
