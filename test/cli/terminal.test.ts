import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runInProcess, type InProcessOptions } from '../helpers/cli.js';
import { childEnv, CLI_JS, ROOT, runNode } from '../helpers/process.js';
import { tempDirPerTest } from '../helpers/runtime.js';

/**
 * `users add` on a terminal (a fake one in process, and a real pseudo-terminal through `script`), and
 * a few runs of the real bin script.
 */
const PASSWORD = 'correct horse battery';
const SLOW = 60_000;
const dir = tempDirPerTest('jwe-auth-terminal-');
const env = () => ({ SQLITE_PATH: path.join(dir(), 'auth.db'), KEYS_DIR: path.join(dir(), 'keys') });

const run = (args: string[], options: Omit<InProcessOptions, 'env'> = {}) => runInProcess(args, { ...options, env: env() });
const usernames = async () =>
  (await run(['users', 'list'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t')[0]);
const FIRST = 'New password for bob: ';
const SECOND = 'Repeat it: ';

describe('users add on a terminal, without --password-stdin', () => {
  it('asks twice with echo off, and creates the user', async () => {
    const result = await run(['users', 'add', 'bob'], { terminal: [[FIRST, `${PASSWORD}\r`], [SECOND, `${PASSWORD}\r`]] });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^created user bob \(/);
    expect(result.stderr).toContain(`${FIRST}\n${SECOND}\n`);
    expect(result.stderr).not.toContain(PASSWORD);
    expect(result.terminal?.modes).toEqual([true, false, true, false]);
    expect(await usernames()).toEqual(['bob']);
  }, SLOW);

  it('refuses two different answers with one line, and creates nothing', async () => {
    const result = await run(['users', 'add', 'bob'], { terminal: [[FIRST, `${PASSWORD}\r`], [SECOND, `${PASSWORD}!\r`]] });
    expect(result.code).toBe(1);
    expect(result.stderr.endsWith(`${SECOND}\njwe-auth: the two passwords differ; nothing was changed\n`)).toBe(true);
    expect(await usernames()).toEqual([]);
  }, SLOW);

  it('erases with Backspace and ignores arrow keys', async () => {
    const typed = `${PASSWORD}xy\u007f\u007f\u001b[D\r`;
    const result = await run(['users', 'add', 'bob'], { terminal: [[FIRST, typed], [SECOND, `${PASSWORD}\r`]] });
    expect(result.code).toBe(0);
  }, SLOW);

  it('takes both answers from one paste', async () => {
    const result = await run(['users', 'add', 'bob'], { terminal: [[FIRST, `${PASSWORD}\r${PASSWORD}\r`]] });
    expect({ code: result.code, stdout: result.stdout.slice(0, 17) }).toEqual({ code: 0, stdout: 'created user bob ' });
  }, SLOW);

  it('stops on Ctrl-C, and creates nothing', async () => {
    const result = await run(['users', 'add', 'bob'], { terminal: [[FIRST, 'corr\u0003']] });
    expect(result.code).toBe(1);
    expect(result.stderr.endsWith('jwe-auth: cancelled\n')).toBe(true);
    expect(result.terminal?.modes).toEqual([true, false]);
    expect(await usernames()).toEqual([]);
  }, SLOW);

  it('still refuses when standard input is not a terminal', async () => {
    const result = await run(['users', 'add', 'bob'], { stdin: `${PASSWORD}\n` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^jwe-auth: standard input is not a terminal: [^\n]+--password-stdin\n$/);
  }, SLOW);
});

/** util-linux `script` runs a command on a real pseudo-terminal; Debian always has it. */
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const describeScript = hasScript || process.env.CI === 'true' ? describe : describe.skip;
if (!hasScript) console.warn('real-terminal test skipped: `script` (util-linux) is missing');

describeScript('users add on a real pseudo-terminal (script)', () => {
  it('prompts twice, never echoes the password, and creates the user', async () => {
    const child = spawn('script', ['-qec', `'${process.execPath}' '${CLI_JS}' users add carol`, '/dev/null'], { env: childEnv(env()) });
    const answers = ['New password for carol: ', 'Repeat it: '];
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      screen += chunk;
      if (answers[0] && screen.includes(answers[0])) {
        answers.shift();
        child.stdin.write(`${PASSWORD}\r`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect({ code, answers }).toEqual({ code: 0, answers: [] });
    expect(screen).toMatch(/New password for carol: \r?\nRepeat it: \r?\n/);
    expect(screen).toMatch(/created user carol \(/);
    expect(screen).not.toContain(PASSWORD);
    expect(await usernames()).toEqual(['carol']);
  }, SLOW);
});

describe('the bin script (node dist/cli/index.js)', () => {
  const bin = (args: string[], stdin?: string) => runNode(CLI_JS, args, { env: env(), stdin });

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await bin([flag])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  }, SLOW);

  it('adds and lists a user, the password on standard input', async () => {
    const added = await bin(['users', 'add', 'dave', '--password-stdin'], `${PASSWORD}\n`);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^created user dave \([0-9a-f-]{36}\)\n$/);
    expect(JSON.parse(added.stderr)).toMatchObject({ msg: 'audit', event: 'user_created', username: 'dave' });
    expect((await bin(['users', 'list'])).stdout).toMatch(/^dave\tenabled\t/);
  }, SLOW);

  it('refuses with one line and exit code 1', async () => {
    expect(await bin(['users', 'disable', 'nobody'])).toMatchObject({ code: 1, stdout: '', stderr: 'jwe-auth: no user named nobody\n' });
  }, SLOW);
});
