/** Jest runs the TypeScript sources as native ESM (jose 6 is ESM-only). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Stryker's sandboxes (npm run mutate) hold a copy of the project.
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
  testTimeout: 20000,
  globalSetup: '<rootDir>/test/global-setup.js',
  setupFilesAfterEnv: ['<rootDir>/test/setup/leftovers.ts'],
  // Under CI, a line as each file starts: a run that stops answering shows where (test/setup/file-starts.js).
  reporters: process.env.CI === 'true' ? ['default', '<rootDir>/test/setup/file-starts.js'] : ['default'],
};
