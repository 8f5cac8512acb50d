import base from './jest.config.js';

/** In-process suites per folder under mutation; `MUTATE_SCOPE=tokens` keeps to the token unit tests. */
const SUITES = {
  tokens: ['tokens/accept', 'tokens/accept-cache', 'tokens/client-key', 'tokens/refresh', 'tokens/dpop'],
  all: [
    'tokens/accept',
    'tokens/accept-cache',
    'tokens/client-key',
    'tokens/refresh',
    'tokens/dpop',
    'store/memory',
    'store/sqlite',
    'sessions/rotation',
    'sessions/service',
    'sessions/proofs',
    'http/error-handler',
    'http/negative-tokens',
    'http/negative-client-keys',
    'http/login-flow',
    'http/sessions',
    'http/session-state',
    'http/routes',
    'http/dpop-login',
    'http/dpop-resource',
    'http/dpop-refresh',
  ],
};

/**
 * The suites Stryker runs for every mutant (`npm run mutate`): the in-process ones that exercise
 * src/tokens, src/sessions and src/store. No globalSetup: none of them runs dist/. The fuzzing and
 * the Wycheproof vectors stay out: seconds per mutant for mutants the unit tests already kill.
 */
export default {
  ...base,
  globalSetup: undefined,
  testMatch: (SUITES[process.env.MUTATE_SCOPE ?? 'all'] ?? SUITES.all).map((suite) => `<rootDir>/test/${suite}.test.ts`),
};
