import type { AuthEvents } from '../events.js';
import type { Metrics } from './registry.js';

/**
 * The {@link AuthEvents} sink that counts: logins, refreshes and refused tokens by outcome, and audit
 * events by name.
 *
 * @example const events = combineEvents(auditLog(logger), metricsEvents(metrics));
 */
export function metricsEvents(metrics: Pick<Metrics, 'logins' | 'refreshes' | 'tokensRefused' | 'auditEvents'>): AuthEvents {
  return {
    audit: (event) => metrics.auditEvents.inc({ event }),
    login: (outcome) => metrics.logins.inc({ outcome }),
    refresh: (outcome) => metrics.refreshes.inc({ outcome }),
    tokenRefused: (reason) => metrics.tokensRefused.inc({ reason }),
  };
}
