import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import { ROOT } from './process.js';

/**
 * Where the C2SP Wycheproof JOSE vectors are read from: `JOSE_VECTORS_DIR`, else `../shared/vectors`
 * beside the project. They are never copied into the repository.
 */
export const VECTORS_DIR = process.env.JOSE_VECTORS_DIR || path.resolve(ROOT, '..', 'shared', 'vectors');

/** One Wycheproof test: a token (compact string, or an object for the JSON serialisations). */
export interface VectorTest {
  readonly tcId: number;
  readonly comment: string;
  readonly result: 'valid' | 'invalid' | 'acceptable';
  readonly flags: readonly string[];
  readonly jwe?: string | Record<string, unknown>;
  readonly jws?: string | Record<string, unknown>;
  /** The expected plaintext of a JWE, hex. */
  readonly pt?: string;
}

/** A group of tests sharing a key (or, in the key tests, a key set). */
export interface VectorGroup {
  readonly comment: string;
  readonly private?: JWK & { keys?: JWK[] };
  readonly public?: JWK & { keys?: JWK[] };
  readonly tests: readonly VectorTest[];
}

/** The vector files this project runs. */
export type VectorFile = 'json_web_encryption_test.json' | 'json_web_signature_test.json' | 'json_web_key_test.json';

/** The groups of a vector file, or `undefined` when the folder is absent. */
export function readVectors(file: VectorFile): VectorGroup[] | undefined {
  const where = path.join(VECTORS_DIR, file);
  if (!existsSync(where)) return undefined;
  return (JSON.parse(readFileSync(where, 'utf8')) as { testGroups: VectorGroup[] }).testGroups;
}

/** The protected header of a compact token, or `undefined` when it has none that parses. */
export function headerOf(token: VectorTest['jwe']): Record<string, unknown> | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

let announced = false;

/**
 * `describe` for a suite over the vectors: runs it when the file is there; otherwise fails under
 * `CI=true` (the vectors are required there), or prints one line and skips.
 */
export function describeWithVectors(file: VectorFile, body: (groups: VectorGroup[]) => void): void {
  const groups = readVectors(file);
  if (groups) return describe(`Wycheproof ${file}`, () => body(groups));
  const why = `no ${file} in ${VECTORS_DIR}`;
  if (process.env.CI === 'true') {
    return describe(`Wycheproof ${file}`, () => {
      it('has the public test vectors (required with CI=true)', () => {
        throw new Error(`${why}; CI=true requires the vector suites to run (set JOSE_VECTORS_DIR)`);
      });
    });
  }
  if (!announced) process.stderr.write(`Wycheproof vector suites skipped: ${why} (set JOSE_VECTORS_DIR, or CI=true to require it)\n`);
  announced = true;
  return describe.skip(`Wycheproof ${file}`, () => it(`runs every vector of ${file}`, () => undefined));
}
