/**
 * Console output for the demo: numbered sections, labelled values, indented JSON, and helpers that
 * shorten tokens so nothing secret is printed whole.
 */

const WIDTH = 78;
const INDENT = '    ';

/** Prints a numbered section heading. */
export function section(number: number, title: string): void {
  const heading = `== ${number}. ${title} `;
  process.stdout.write(`\n${heading}${'='.repeat(Math.max(4, WIDTH - heading.length))}\n`);
}

/** Prints one labelled value on its own line. */
export function field(label: string, value: string | number | boolean): void {
  process.stdout.write(`${INDENT}${`${label}:`.padEnd(22)} ${String(value)}\n`);
}

/** Prints a short explanatory line. */
export function note(text: string): void {
  process.stdout.write(`${INDENT}-- ${text}\n`);
}

/** Prints a value as indented JSON under a label. */
export function json(label: string, value: unknown): void {
  process.stdout.write(`${INDENT}${label}:\n`);
  const body = JSON.stringify(value, null, 2) ?? String(value);
  for (const line of body.split('\n')) process.stdout.write(`${INDENT}${INDENT}${line}\n`);
}

/** Shortens a long token (a JWE or JWS) to its head and tail, with its length. */
export function truncate(token: string, head = 28, tail = 10): string {
  if (token.length <= head + tail + 3) return token;
  return `${token.slice(0, head)}...${token.slice(-tail)} (${token.length} chars)`;
}

/** Shows only the first characters of a refresh token: enough to tell two apart, never enough to use. */
export function redactRefresh(token: string | undefined): string {
  return token === undefined ? '(none)' : `${token.slice(0, 6)}... (${token.length} chars, rest hidden)`;
}

/** Prints epoch-seconds claims as ISO times beside the number. */
export function when(seconds: unknown): string {
  return typeof seconds === 'number' ? `${seconds} (${new Date(seconds * 1000).toISOString()})` : String(seconds);
}
