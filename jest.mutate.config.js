import base from './jest.config.js';

const TOKEN_UNITS = ['tokens/accept', 'tokens/accept-native', 'tokens/accept-cache', 'tokens/client-key', 'tokens/issue', 'tokens/refresh', 'tokens/refusal', 'tokens/dpop', 'tokens/dpop-native'];
const SESSION_UNITS = ['sessions/rotation', 'sessions/service', 'sessions/life-cycle', 'sessions/proofs'];
const STORE_CONTRACTS = ['store/memory', 'store/sqlite', 'store/redis', 'store/postgres'];
const HTTP_TOKENS = ['http/error-handler', 'http/negative-tokens', 'http/negative-client-keys', 'http/dpop-login', 'http/dpop-resource', 'http/dpop-refresh'];
const HTTP_SESSIONS = ['http/login-flow', 'http/sessions', 'http/session-state', 'http/routes', 'http/dpop-login', 'http/dpop-resource', 'http/dpop-refresh'];

/**
 * The in-process suites per folder under mutation (`MUTATE_SCOPE`, default `all`): a run over one
 * folder loads only the suites that exercise it, which is most of a mutant's cost on a small machine.
 * The `-unit` scopes keep to the in-process unit and contract suites (no HTTP app): what
 * docs/testing.md reports, as the HTTP suites cost seconds per mutant on a small machine.
 */
const SUITES = {
  'tokens-unit': TOKEN_UNITS,
  'sessions-unit': SESSION_UNITS,
  'store-unit': [...STORE_CONTRACTS, ...SESSION_UNITS],
  tokens: [...TOKEN_UNITS, ...HTTP_TOKENS],
  sessions: [...SESSION_UNITS, ...HTTP_SESSIONS],
  store: [...STORE_CONTRACTS, ...SESSION_UNITS, 'store/redis-failure', 'store/postgres-failure', 'db/postgres-migrations', 'db/sqlite-files'],
  all: [...new Set([...TOKEN_UNITS, ...SESSION_UNITS, ...STORE_CONTRACTS, ...HTTP_TOKENS, ...HTTP_SESSIONS])],
};

/** A scope named above, or suites listed by path (`MUTATE_SCOPE=store/memory,sessions/service`). */
function suitesOf(scope) {
  if (scope.includes('/')) return scope.split(',');
  return SUITES[scope] ?? SUITES.all;
}

/**
 * The suites Stryker runs for every mutant (`npm run mutate`): the in-process ones that exercise
 * src/tokens, src/sessions and src/store. No globalSetup: none of them runs dist/. The fuzzing and
 * the Wycheproof vectors stay out: seconds per mutant for mutants the unit tests already kill.
 */
export default {
  ...base,
  globalSetup: undefined,
  testMatch: suitesOf(process.env.MUTATE_SCOPE ?? 'all').map((suite) => `<rootDir>/test/${suite}.test.ts`),
};
