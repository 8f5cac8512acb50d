import type { Metrics } from '../metrics/registry.js';
import type { SessionStore } from './types.js';

/**
 * The operations timed. `getSessionWithUser` is left out: a wrapped store does not offer it, so with
 * metrics on a protected request reads its session with `getSession`, timed as such.
 */
type Operation = Exclude<keyof SessionStore, 'close' | 'getSessionWithUser'>;

/**
 * Wraps a {@link SessionStore} so that every call is timed into
 * `jwe_auth_store_operation_duration_seconds{operation}` and every call that rejects is counted in
 * `jwe_auth_store_errors_total{operation}`. Behaviour is the wrapped store's, unchanged: results and
 * errors pass through as they are.
 *
 * @example const store = instrumentStore(await createStore(config, db), metrics);
 */
export function instrumentStore(store: SessionStore, metrics: Pick<Metrics, 'storeDuration' | 'storeErrors'>): SessionStore {
  const timed =
    <K extends Operation>(operation: K) =>
    async (...args: Parameters<SessionStore[K]>): Promise<Awaited<ReturnType<SessionStore[K]>>> => {
      const stop = metrics.storeDuration.startTimer({ operation });
      try {
        return await (store[operation] as (...params: Parameters<SessionStore[K]>) => ReturnType<SessionStore[K]>).apply(store, args);
      } catch (error) {
        metrics.storeErrors.inc({ operation });
        throw error;
      } finally {
        stop();
      }
    };
  return {
    createSession: timed('createSession'),
    getSession: timed('getSession'),
    findRefreshToken: timed('findRefreshToken'),
    advanceRefreshToken: timed('advanceRefreshToken'),
    touchSession: timed('touchSession'),
    revokeSession: timed('revokeSession'),
    revokeUserSessions: timed('revokeUserSessions'),
    listSessions: timed('listSessions'),
    purgeExpired: timed('purgeExpired'),
    rememberProofId: timed('rememberProofId'),
    ping: timed('ping'),
    close: () => store.close(),
  };
}
