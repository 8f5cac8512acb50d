import base from './jest.config.js';

/**
 * The suites Stryker runs for every mutant (`npm run mutate`): the fast ones that exercise
 * src/tokens, src/sessions and src/store in process. No globalSetup: none of them runs dist/. The
 * fuzzing and the Wycheproof vectors stay out: seconds per mutant for mutants the unit tests kill.
 */
export default {
  ...base,
  globalSetup: undefined,
  testMatch: [
    '<rootDir>/test/tokens/accept.test.ts',
    '<rootDir>/test/tokens/accept-cache.test.ts',
    '<rootDir>/test/tokens/client-key.test.ts',
    '<rootDir>/test/store/memory.test.ts',
    '<rootDir>/test/store/sqlite.test.ts',
    '<rootDir>/test/http/negative-tokens.test.ts',
    '<rootDir>/test/http/negative-client-keys.test.ts',
    '<rootDir>/test/http/login-flow.test.ts',
    '<rootDir>/test/http/sessions.test.ts',
    '<rootDir>/test/http/session-state.test.ts',
    '<rootDir>/test/http/routes.test.ts',
  ],
};
