#!/usr/bin/env node
import 'dotenv/config';
import { Command } from 'commander';
import { checkPassphrase, ConfigError, loadConfig, type Config } from '../config/index.js';
import { MigrationError, StoreUnavailableError } from '../errors.js';
import { generateKeyFiles, rotateKeyFiles } from '../keys/key-files.js';
import { KeyLoadError } from '../keys/pem.js';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../users/password.js';
import { UserError, type UserDirectory } from '../users/directory.js';
import { openUserDirectory } from '../users/index.js';

/** Reads all of standard input and strips one trailing newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Runs `action` on the user directory of this configuration (PostgreSQL at `DATABASE_URL`, else SQLite), then closes it. */
async function withUsers<T>(config: Config, action: (users: UserDirectory) => Promise<T>): Promise<T> {
  const users = await openUserDirectory(config);
  return action(users).finally(() => users.close());
}

/** The configuration, with a usable passphrase required: key files cannot be written without one. */
function keyConfig(env: Record<string, string | undefined>): Config {
  const config = loadConfig(env);
  checkPassphrase(config.privateKeyPassphrase, 'to write key files');
  return config;
}

/**
 * Builds the `jwe-auth` command line. Not exported: importing this module runs the CLI, so tests
 * drive the built `dist/cli/index.js` as a child process instead.
 */
function buildCli(env: Record<string, string | undefined> = process.env): Command {
  const program = new Command('jwe-auth').description('Operate a jwe-auth-server: users and keys').showHelpAfterError();
  const config = () => loadConfig(env);

  const users = program.command('users').description('manage users: in PostgreSQL at DATABASE_URL when set, else in SQLite at SQLITE_PATH');
  users
    .command('add <username>')
    .description('create a user; the password is read from standard input')
    .option('--password-stdin', 'read the password from standard input (required)')
    .action(async (username: string, options: { passwordStdin?: boolean }) => {
      if (!options.passwordStdin) throw new UserError('password_required', 'pass the password on standard input with --password-stdin');
      const password = await readStdin();
      if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
        throw new UserError('invalid_password', `the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
      }
      const user = await withUsers(config(), async (repo) => repo.add(username, await hashPassword(password), Date.now()));
      process.stdout.write(`created user ${user.username} (${user.id})\n`);
    });
  users
    .command('list')
    .description('list users')
    .action(async () => {
      const all = await withUsers(config(), (repo) => repo.list());
      for (const u of all) {
        process.stdout.write(`${u.username}\t${u.disabled ? 'disabled' : 'enabled'}\t${u.id}\t${new Date(u.createdAt).toISOString()}\n`);
      }
    });
  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    users
      .command(`${name} <username>`)
      .description(`${name} a user; takes effect on the running server's next request`)
      .action(async (username: string) => {
        await withUsers(config(), (repo) => repo.setDisabled(username, disabled));
        process.stdout.write(`${name}d user ${username}\n`);
      });
  }
  users
    .command('delete <username>')
    .description("delete a user; their tokens fail on the running server's next request")
    .action(async (username: string) => {
      await withUsers(config(), (repo) => repo.remove(username));
      process.stdout.write(`deleted user ${username}\n`);
    });

  const keys = program.command('keys').description('manage the passphrase-protected key files in KEYS_DIR');
  keys
    .command('generate')
    .description('write a new signing and encryption key (mode 0600)')
    .option('--force', 'overwrite existing key files')
    .action(async (options: { force?: boolean }) => {
      const written = await generateKeyFiles(keyConfig(env), options.force === true);
      process.stdout.write(`wrote ${written.join(', ')}\n`);
    });
  keys
    .command('rotate')
    .description('make new keys current; the previous ones stay accepted until their tokens expire')
    .action(async () => {
      const written = await rotateKeyFiles(keyConfig(env));
      process.stdout.write(`rotated; new keys in ${written.join(', ')}\n`);
    });
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    const known =
      error instanceof ConfigError ||
      error instanceof KeyLoadError ||
      error instanceof UserError ||
      error instanceof StoreUnavailableError ||
      error instanceof MigrationError;
    const message = known ? (error as Error).message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`jwe-auth: ${message}\n`);
    process.exitCode = 1;
  });
