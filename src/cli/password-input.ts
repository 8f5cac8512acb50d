import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../users/password.js';
import { CliError, type CliIo } from './io.js';

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const ESCAPE = '\u001b';
const ERASE = new Set(['\u007f', '\b']);

/**
 * The index of the last character of the escape sequence starting at `start` (an arrow or function
 * key: `ESC [ … final` or `ESC O final`), so that none of it is taken as typed text.
 */
function endOfEscape(chars: readonly string[], start: number): number {
  const introducer = chars[start + 1];
  if (introducer !== '[' && introducer !== 'O') return start;
  let index = start + 2;
  while (index < chars.length && !/[@-~]/.test(chars[index] as string)) index++;
  return Math.min(index, chars.length - 1);
}

/** Reads all of standard input and strips one trailing newline. */
export async function readStdin(io: Pick<CliIo, 'stdin'>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Asks a question on the terminal and reads the answer without echo: the terminal is put in raw mode,
 * so what is typed is never shown; Backspace erases, Enter ends, Ctrl-C (or Ctrl-D on an empty
 * answer) cancels. The prompt goes to standard error.
 *
 * @throws {CliError} when cancelled.
 */
export function promptHidden(io: Pick<CliIo, 'stdin' | 'stderr'>, question: string): Promise<string> {
  const { stdin } = io;
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: CliError) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onEnd = () => finish(new CliError('cancelled: standard input ended before the password'));
    const onData = (chunk: Buffer | string) => {
      const chars = [...chunk.toString()];
      for (let index = 0; index < chars.length; index++) {
        const char = chars[index] as string;
        if (ENTER.has(char)) {
          finish();
          // A paste may hold the next answer too: give it back (once paused) for the next prompt.
          const rest = chars.slice(index + 1).join('');
          if (rest !== '') stdin.unshift(Buffer.from(rest));
          return;
        }
        if (char === CTRL_C || (char === CTRL_D && typed === '')) return finish(new CliError('cancelled'));
        if (char === ESCAPE) index = endOfEscape(chars, index);
        else if (ERASE.has(char)) typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    // Echo goes off before the prompt shows, so nothing typed in answer to it is ever echoed.
    stdin.setRawMode?.(true);
    io.stderr.write(question);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}

/** Whether standard input is a terminal the CLI can prompt on. */
export const canPrompt = (io: Pick<CliIo, 'stdin'>): boolean => io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';

/**
 * The new password of `users add` and `users passwd`: read from standard input with
 * `--password-stdin`, else asked twice without echo on a terminal. Never taken from an argument.
 *
 * @throws {CliError} when standard input is not a terminal and `--password-stdin` was not given,
 * when the two answers differ, or when the password is too short or too long.
 */
export async function readNewPassword(io: CliIo, options: { passwordStdin?: boolean; username: string }): Promise<string> {
  let password: string;
  if (options.passwordStdin) {
    password = await readStdin(io);
  } else if (canPrompt(io)) {
    password = await promptHidden(io, `New password for ${options.username}: `);
    if ((await promptHidden(io, 'Repeat it: ')) !== password) throw new CliError('the two passwords differ; nothing was changed');
  } else {
    throw new CliError('standard input is not a terminal: pass the password on standard input with --password-stdin');
  }
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new CliError(`the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
  return password;
}
