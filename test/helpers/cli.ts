import { PassThrough, Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import type { ProcessResult } from './process.js';

/** What an in-process run left: its exit code and everything it wrote. */
export type CliResult = Pick<ProcessResult, 'stdout' | 'stderr'> & { readonly code: number };

/** A string sink standing for stdout or stderr. */
function sink(): { write(text: string): boolean; text: string } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

/** Options of {@link runInProcess}. */
export interface InProcessOptions {
  /** The whole environment of the run (nothing of the test's leaks in). */
  readonly env: Record<string, string>;
  /** Standard input, not a terminal: this text, then its end. Empty when absent. */
  readonly stdin?: string;
  /**
   * Standard input as a terminal (`isTTY`, `setRawMode`): each time standard error ends with a
   * prompt of this map, its answer is typed (as raw keystrokes, so end it with `\r`).
   */
  readonly terminal?: ReadonlyArray<readonly [prompt: string, keys: string]>;
}

/** A terminal standing for standard input, recording the raw modes it was put in. */
export class FakeTerminal extends PassThrough {
  readonly isTTY = true;
  readonly modes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.modes.push(mode);
    return this;
  }
}

/**
 * Runs `jwe-auth ...args` in this process (`runCli` of `src/cli/program.ts`), as the bin would.
 *
 * @example const result = await runInProcess(['users', 'list'], { env });
 */
export async function runInProcess(args: readonly string[], options: InProcessOptions): Promise<CliResult & { terminal?: FakeTerminal }> {
  const stdout = sink();
  const stderr = sink();
  let stdin: CliIo['stdin'] = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  let terminal: FakeTerminal | undefined;
  if (options.terminal) {
    const answers = [...options.terminal];
    terminal = new FakeTerminal();
    stdin = terminal;
    const typing = terminal;
    const write = stderr.write.bind(stderr);
    stderr.write = (text: string) => {
      write(text);
      const next = answers[0];
      if (next && stderr.text.endsWith(next[0])) {
        answers.shift();
        setImmediate(() => typing.write(next[1]));
      }
      return true;
    };
  }
  const code = await runCli(args, { stdin, stdout, stderr, env: options.env });
  return { code, stdout: stdout.text, stderr: stderr.text, terminal };
}

/** The audit lines a CLI run wrote on standard error, parsed; throws on any other line. */
export function auditLinesOf(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg !== 'audit') throw new Error(`not an audit line: ${line}`);
      return parsed;
    });
}
