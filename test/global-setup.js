import { execFileSync } from 'node:child_process';

/** Tests that spawn the server or the CLI run the compiled code: bring dist/ up to date first. */
export default function globalSetup() {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
