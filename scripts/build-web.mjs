#!/usr/bin/env node
/**
 * Builds the demo page served at /demo: bundles src/web/demo.ts (with the client SDK and jose) into
 * one minified ES module for browsers, and copies the HTML and CSS beside it, into dist/web.
 * `tsc` also compiles src/web/demo.ts into dist/web; those unbundled files are removed here so the
 * folder holds exactly what the page loads.
 */
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'web');
const target = path.join(root, 'dist', 'web');
const STATIC_FILES = ['index.html', 'demo.css', 'favicon.svg'];
const BUNDLE = 'demo.bundle.js';

await mkdir(target, { recursive: true });
for (const name of await readdir(target)) {
  if (!STATIC_FILES.includes(name) && name !== BUNDLE) await rm(path.join(target, name), { recursive: true, force: true });
}
await build({
  entryPoints: [path.join(source, 'demo.ts')],
  outfile: path.join(target, BUNDLE),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const name of STATIC_FILES) await copyFile(path.join(source, name), path.join(target, name));
process.stdout.write(`demo page built into ${path.relative(root, target)}/\n`);
