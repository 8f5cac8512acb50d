import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { PostgresDatabase } from '../db/postgres.js';
import { openDatabase } from '../db/sqlite.js';
import { createStore } from '../store/index.js';
import type { SessionStore } from '../store/types.js';
import { openUserDirectory, UserError, type User, type UserDirectory } from '../users/index.js';
import { hashPassword } from '../users/password.js';
import type { CliContext } from './context.js';
import { CliError } from './io.js';
import { readNewPassword } from './password-input.js';

/** Runs `action` on the user directory of this configuration (PostgreSQL at `DATABASE_URL`, else SQLite), then closes it. */
async function withUsers<T>(config: Config, action: (users: UserDirectory) => Promise<T>): Promise<T> {
  const users = await openUserDirectory(config);
  return action(users).finally(() => users.close());
}

/**
 * Runs `action` on the user directory and the session store of this configuration, opened over the
 * same connections as the server opens them, then closes everything.
 */
async function withUsersAndSessions<T>(config: Config, action: (users: UserDirectory, store: SessionStore) => Promise<T>): Promise<T> {
  const closers: Array<() => Promise<void> | void> = [];
  try {
    const sqlite = config.store === 'sqlite' || config.databaseUrl === undefined ? openDatabase(config.sqlitePath) : undefined;
    if (sqlite) closers.push(() => void (sqlite.open && sqlite.close()));
    const postgres = config.databaseUrl === undefined ? undefined : await PostgresDatabase.connect(config.databaseUrl);
    if (postgres) closers.push(() => postgres.close());
    const users = await openUserDirectory(config, { postgres, sqlite });
    closers.push(() => users.close());
    const store = await createStore(config, { postgres, sqlite });
    closers.push(() => store.close());
    return await action(users, store);
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

/** The flag of `add` and `passwd`. */
const PASSWORD_STDIN = ['--password-stdin', 'read the password from standard input (needed when it is not a terminal)'] as const;

/** The user with this name, or a {@link UserError} naming it. */
async function existing(users: UserDirectory, username: string): Promise<User> {
  const user = await users.findByUsername(username);
  if (!user) throw new UserError('user_not_found', `no user named ${username}`);
  return user;
}

/**
 * Sets a user's password, then ends every session of theirs in the session store the server uses
 * (built from the same configuration). The password is set first, so a login racing the reset
 * needs the new one; a store that cannot answer leaves the new password set and says so.
 *
 * @returns How many sessions were ended.
 */
async function resetPassword(context: CliContext, config: Config, user: User, password: string): Promise<number> {
  const hash = await hashPassword(password);
  return withUsersAndSessions(config, async (users, store) => {
    await users.setPasswordHash(user.id, hash, Date.now());
    const events = context.events(config);
    let ended: string[];
    try {
      ended = await store.revokeUserSessions(user.id, Date.now());
    } catch (error) {
      events.audit('user_password_reset', { username: user.username, user_id: user.id, sessions_ended: null });
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError(`the password of ${user.username} was changed, but their sessions could not be ended (${reason}); run the command again`);
    }
    events.audit('user_password_reset', { username: user.username, user_id: user.id, sessions_ended: ended.length });
    return ended.length;
  });
}

/**
 * Adds `users add | passwd | list | disable | enable | delete` to the program. Changes are audit
 * events (`user_created`, `user_password_reset`, `user_disabled`, `user_enabled`, `user_deleted`).
 *
 * @example addUserCommands(program, cliContext(processIo()));
 */
export function addUserCommands(program: Command, context: CliContext): void {
  const { io } = context;
  const users = program.command('users').description('manage users: in PostgreSQL at DATABASE_URL when set, else in SQLite at SQLITE_PATH');
  users
    .command('add <username>')
    .description('create a user; the password is read from standard input, or asked twice on a terminal')
    .option(...PASSWORD_STDIN)
    .action(async (username: string, options: { passwordStdin?: boolean }) => {
      const config = context.config();
      const password = await readNewPassword(io, { passwordStdin: options.passwordStdin, username });
      const user = await withUsers(config, async (repo) => repo.add(username, await hashPassword(password), Date.now()));
      context.events(config).audit('user_created', { username: user.username, user_id: user.id });
      io.stdout.write(`created user ${user.username} (${user.id})\n`);
    });
  users
    .command('passwd <username>')
    .description("set a user's password and end every session of theirs; read like add's")
    .option(...PASSWORD_STDIN)
    .action(async (username: string, options: { passwordStdin?: boolean }) => {
      const config = context.config();
      if (config.store === 'memory') {
        throw new CliError("STORE=memory keeps sessions inside the server's process, out of the CLI's reach; users passwd needs STORE=sqlite, postgres or redis");
      }
      const user = await withUsers(config, (repo) => existing(repo, username));
      const password = await readNewPassword(io, { passwordStdin: options.passwordStdin, username: user.username });
      const ended = await resetPassword(context, config, user, password);
      io.stdout.write(`changed the password of ${user.username}; ended ${ended} session(s)\n`);
    });
  users
    .command('list')
    .description('list users')
    .action(async () => {
      const all = await withUsers(context.config(), (repo) => repo.list());
      for (const u of all) {
        io.stdout.write(`${u.username}\t${u.disabled ? 'disabled' : 'enabled'}\t${u.id}\t${new Date(u.createdAt).toISOString()}\n`);
      }
    });
  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    users
      .command(`${name} <username>`)
      .description(`${name} a user; takes effect on the running server's next request`)
      .action(async (username: string) => {
        const config = context.config();
        const user = await withUsers(config, (repo) => repo.setDisabled(username, disabled));
        context.events(config).audit(disabled ? 'user_disabled' : 'user_enabled', { username: user.username, user_id: user.id });
        io.stdout.write(`${name}d user ${username}\n`);
      });
  }
  users
    .command('delete <username>')
    .description("delete a user; their tokens fail on the running server's next request")
    .action(async (username: string) => {
      const config = context.config();
      const user = await withUsers(config, (repo) => repo.remove(username));
      context.events(config).audit('user_deleted', { username: user.username, user_id: user.id });
      io.stdout.write(`deleted user ${username}\n`);
    });
}
