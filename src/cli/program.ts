import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { MigrationError, StoreUnavailableError } from '../errors.js';
import { KeyLoadError } from '../keys/pem.js';
import { UserError } from '../users/index.js';
import { cliContext } from './context.js';
import { CliError, type CliIo } from './io.js';
import { addKeyCommands } from './keys.js';
import { addUserCommands } from './users.js';

/** The package's version: `package.json` sits two levels up from `src/cli/` and from `dist/cli/`. */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Errors whose message is meant for the operator as it is; anything else is reported as unexpected. */
const EXPLAINED = [ConfigError, KeyLoadError, UserError, CliError, StoreUnavailableError, MigrationError];

/**
 * Builds the `jwe-auth` program over `io`: help, errors and answers go to its streams, and nothing
 * calls `process.exit`.
 *
 * @example await buildProgram(io).parseAsync(['users', 'list'], { from: 'user' });
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command('jwe-auth')
    .description('Operate a jwe-auth-server: users and keys')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) });
  const context = cliContext(io);
  addUserCommands(program, context);
  addKeyCommands(program, context);
  return program;
}

/**
 * Runs the CLI in this process, as `jwe-auth ...argv` would: the bin script is only this call. A
 * refusal is one `jwe-auth: …` line on standard error.
 *
 * @param argv - The arguments after the program name (`['users', 'add', 'alice', '--password-stdin']`).
 * @returns The exit code: 0 on success, 1 on a refusal or a usage error.
 * @example process.exitCode = await runCli(process.argv.slice(2), processIo());
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    // Commander already wrote its help, version or usage error.
    if (error instanceof CommanderError) return error.exitCode;
    const explained = EXPLAINED.some((type) => error instanceof type);
    const message = explained ? (error as Error).message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    io.stderr.write(`jwe-auth: ${message}\n`);
    return 1;
  }
}
