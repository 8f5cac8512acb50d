import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/boot.js';

/** A logger made like the server's (same redaction), whose JSON lines a test reads back. */
export interface CapturedLog {
  readonly logger: Logger;
  /** Every line written so far, as written. */
  text(): string;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
}

/**
 * The server's logger at `trace` (everything, refused-token reasons included) writing into memory.
 *
 * @example const log = captureLog(); const server = await startTestServer({}, undefined, log.logger);
 */
export function captureLog(): CapturedLog {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ logLevel: 'trace' }, stream);
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
