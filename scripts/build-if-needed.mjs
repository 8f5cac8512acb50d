#!/usr/bin/env node
/**
 * Runs `npm run build` only when dist/ is missing or older than its inputs, so `npm start`,
 * `npm run demo` and `npx jwe-auth` (through `prepare`) start at once when dist/ is current.
 *
 * "Current" means: dist/.build-stamp, written at the end of every `npm run build`, is newer than
 * every file under src/ and than the files that shape the build (package.json, package-lock.json, the
 * tsconfigs, scripts/build-web.mjs). A fresh clone has no stamp, so `npm ci` (through `prepare`) builds.
 *
 *   node scripts/build-if-needed.mjs          # build when needed
 *   node scripts/build-if-needed.mjs --check  # exit 1 (and say why) when a build is needed; build nothing
 *   node scripts/build-if-needed.mjs --stamp  # record that dist/ was just built (the end of `npm run build`)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(root, 'dist', '.build-stamp');
const BUILD_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-web.mjs'];

const mtimeOf = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/** Every file under `dir`, recursively. */
const filesUnder = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(file) : [file];
  });

/** Why a build is needed, or null when dist/ is current. */
function staleReason() {
  const built = mtimeOf(STAMP);
  if (built === undefined) return 'dist/ has not been built yet';
  for (const file of [...filesUnder(path.join(root, 'src')), ...BUILD_FILES.map((name) => path.join(root, name))]) {
    const changed = mtimeOf(file);
    if (changed !== undefined && changed > built) return `${path.relative(root, file)} changed since the last build`;
  }
  return null;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
} else {
  const reason = staleReason();
  if (reason === null) {
    process.stderr.write('dist/ is up to date; not building\n');
  } else if (process.argv.includes('--check')) {
    process.stderr.write(`a build is needed: ${reason}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`building: ${reason}\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    process.exitCode = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' }).status ?? 1;
  }
}
