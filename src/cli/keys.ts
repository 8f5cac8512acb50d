import type { Command } from 'commander';
import { checkPassphrase, type Config } from '../config/index.js';
import { generateKeyFiles, rotateKeyFiles } from '../keys/key-files.js';
import type { CliContext } from './context.js';

/** The configuration, with a usable passphrase required: key files cannot be written without one. */
function keyConfig(context: CliContext): Config {
  const config = context.config();
  checkPassphrase(config.privateKeyPassphrase, 'to write key files');
  return config;
}

/**
 * Adds `keys generate [--force]` and `keys rotate` to the program.
 *
 * @example addKeyCommands(program, cliContext(processIo()));
 */
export function addKeyCommands(program: Command, context: CliContext): void {
  const { stdout } = context.io;
  const keys = program.command('keys').description('manage the passphrase-protected key files in KEYS_DIR');
  keys
    .command('generate')
    .description('write a new signing and encryption key (mode 0600)')
    .option('--force', 'overwrite existing key files')
    .action(async (options: { force?: boolean }) => {
      const written = await generateKeyFiles(keyConfig(context), options.force === true);
      stdout.write(`wrote ${written.join(', ')}\n`);
    });
  keys
    .command('rotate')
    .description('make new keys current; the previous ones stay accepted until their tokens expire')
    .action(async () => {
      const written = await rotateKeyFiles(keyConfig(context));
      stdout.write(`rotated; new keys in ${written.join(', ')}\n`);
    });
}
