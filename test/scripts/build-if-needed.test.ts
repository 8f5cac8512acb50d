import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runNode } from '../helpers/process.js';
import { tempDirPerTest } from '../helpers/runtime.js';

/**
 * scripts/build-if-needed.mjs (prestart, predemo, prepare) decides from mtimes alone, so it runs here
 * in a scratch copy of the layout it reads (`--check` builds nothing).
 */
const dir = tempDirPerTest('jwe-auth-build-if-needed-');

function layout(): { script: string; touch(file: string, secondsAgo: number): void } {
  const script = path.join(dir(), 'scripts', 'build-if-needed.mjs');
  mkdirSync(path.dirname(script), { recursive: true });
  mkdirSync(path.join(dir(), 'src', 'http'), { recursive: true });
  mkdirSync(path.join(dir(), 'dist'), { recursive: true });
  copyFileSync(path.join(ROOT, 'scripts', 'build-if-needed.mjs'), script);
  const touch = (file: string, secondsAgo: number) => {
    const full = path.join(dir(), file);
    writeFileSync(full, '');
    const when = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(full, when, when);
  };
  for (const file of ['package.json', 'tsconfig.json', 'src/index.ts', 'src/http/app.ts']) touch(file, 60);
  return { script, touch };
}

const check = (script: string) => runNode(script, ['--check']);

it('asks for a build when dist/ was never built', async () => {
  const { script } = layout();
  expect(await check(script)).toMatchObject({ code: 1, stderr: 'a build is needed: dist/ has not been built yet\n' });
});

it('builds nothing when the stamp is newer than every input', async () => {
  const { script, touch } = layout();
  touch('dist/.build-stamp', 10);
  expect(await check(script)).toMatchObject({ code: 0, stderr: 'dist/ is up to date; not building\n' });
});

it.each(['src/http/app.ts', 'package.json', 'tsconfig.json'])('asks for a build when %s changed after the stamp', async (file) => {
  const { script, touch } = layout();
  touch('dist/.build-stamp', 10);
  touch(file, 0);
  expect(await check(script)).toMatchObject({ code: 1, stderr: `a build is needed: ${file} changed since the last build\n` });
});

it('--stamp records a build', async () => {
  const { script } = layout();
  expect((await runNode(script, ['--stamp'])).code).toBe(0);
  expect((await check(script)).code).toBe(0);
});
