import { loadConfig, type Config } from '../config/index.js';
import { createLogger } from '../boot.js';
import type { AuthEvents } from '../events.js';
import { auditLog } from '../logging/audit.js';
import type { CliIo } from './io.js';

/** What every command is given: the streams, the configuration, and the audit log. */
export interface CliContext {
  readonly io: CliIo;
  /** The configuration, read from the environment when a command needs it (help and `--version` need none). */
  config(): Config;
  /** The CLI's audit log: one JSON line per event on standard error, at `LOG_LEVEL`. */
  events(config: Config): AuthEvents;
}

/**
 * Makes the context of one CLI run.
 *
 * @example const context = cliContext(processIo());
 */
export function cliContext(io: CliIo): CliContext {
  return {
    io,
    config: () => loadConfig(io.env),
    events: (config) => auditLog(createLogger(config, { write: (line: string) => void io.stderr.write(line) })),
  };
}
