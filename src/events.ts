/**
 * What the server reports about itself while it works: audit events (one JSON log line each) and the
 * counters metrics are made of. The domain (`sessions/`, `cli/`) calls an {@link AuthEvents}; the
 * process decides where the events go (the audit log, Prometheus), so the domain imports neither.
 */

/** The audit events of the contract, one JSON line each with `event` set to the name. */
export type AuditEventName =
  | 'login_succeeded'
  | 'login_failed'
  | 'refresh_reuse_detected'
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'password_changed'
  | 'user_created'
  | 'user_disabled'
  | 'user_enabled'
  | 'user_deleted'
  | 'user_password_reset';

/** Fields of an audit event: ids, names, counts. Never a token, password, key or proof. */
export type AuditFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** How a refresh ended, as `refreshes_total{outcome}` counts it. */
export type RefreshOutcome = 'rotated' | 'duplicate' | 'reuse_revoked' | 'invalid';

/** How a login ended, as `logins_total{outcome}` counts it. */
export type LoginOutcome = 'succeeded' | 'failed' | 'throttled' | 'invalid_request' | 'unavailable';

/** Where the domain reports what happened. Every method is synchronous and never throws. */
export interface AuthEvents {
  /** An audit event (see {@link AuditEventName}). */
  audit(event: AuditEventName, fields?: AuditFields): void;
  /** A login finished with this outcome. */
  login(outcome: LoginOutcome): void;
  /** A refresh finished with this outcome. */
  refresh(outcome: RefreshOutcome): void;
  /** An access token (or its proof) was refused; `reason` is internal and low-cardinality. */
  tokenRefused(reason: string): void;
}

/** Reports nothing: the default for tests and embedders that do not care. */
export const NO_EVENTS: AuthEvents = Object.freeze({
  audit() {},
  login() {},
  refresh() {},
  tokenRefused() {},
});

/**
 * Sends every event to each sink in turn (the audit log and the metrics, say). A sink that throws is
 * skipped, so reporting never fails the request that reported.
 *
 * @example const events = combineEvents(auditLog(logger), metricsEvents(metrics));
 */
export function combineEvents(...sinks: readonly AuthEvents[]): AuthEvents {
  const each =
    <K extends keyof AuthEvents>(method: K) =>
    (...args: Parameters<AuthEvents[K]>): void => {
      for (const sink of sinks) {
        try {
          (sink[method] as (...a: Parameters<AuthEvents[K]>) => void)(...args);
        } catch {
          // A broken sink must not break the domain; the others still get the event.
        }
      }
    };
  return { audit: each('audit'), login: each('login'), refresh: each('refresh'), tokenRefused: each('tokenRefused') };
}
