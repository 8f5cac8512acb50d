/** What the CLI reads and writes: the process's streams and environment, or a test's. */
export interface CliIo {
  /** Standard input: a password with `--password-stdin`, or a terminal to prompt on. */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** The command's answer (`created user alice (…)`, the user list, `0.1.0`). */
  readonly stdout: { write(text: string): unknown };
  /** Errors (one `jwe-auth: …` line), prompts and the CLI's audit lines. */
  readonly stderr: { write(text: string): unknown };
  /** The environment the configuration is read from (`.env` already loaded). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** A refusal of the CLI itself (a missing flag, passwords that differ, a prompt cancelled), shown as one line. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** Stable code for callers and tests. */
  readonly code = 'cli_refused';
}
