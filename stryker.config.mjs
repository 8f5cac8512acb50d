/**
 * Mutation testing of the token pipeline, the session life cycle and the stores: `npm run mutate`
 * (slow, not in CI). docs/testing.md gives the scores, the survivors judged equivalent, and how to
 * run a part of it (`npm run mutate -- --mutate src/tokens/accept.ts`).
 */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // Jest runs the sources as native ESM here.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: { configFile: 'jest.mutate.config.js', enableFindRelatedTests: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: ['src/tokens/**/*.ts', 'src/sessions/**/*.ts', 'src/store/**/*.ts'],
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants) need the whole run per mutant; the policy tables they
  // would mutate are pinned by direct tests instead (see docs/testing.md).
  ignoreStatic: true,
  // The machine is shared: one test process at a time.
  concurrency: 1,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
