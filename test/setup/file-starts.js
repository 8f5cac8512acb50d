/**
 * A Jest reporter for CI logs: one line on standard error as each test file starts, and one naming
 * any file that took longer than a minute. A run that stops answering then shows which file it was
 * in, which the default reporter (it prints a file only once it has finished) cannot.
 */
const SLOW_MS = 60_000;

export default class FileStarts {
  onTestFileStart(test) {
    process.stderr.write(`▶ ${relative(test)}\n`);
  }

  onTestFileResult(test, result) {
    const took = result.perfStats.end - result.perfStats.start;
    if (took > SLOW_MS) process.stderr.write(`◀ ${relative(test)} took ${Math.round(took / 1000)} s\n`);
  }
}

function relative(test) {
  const root = test.context.config.rootDir;
  return test.path.startsWith(root) ? test.path.slice(root.length + 1) : test.path;
}
