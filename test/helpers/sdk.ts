import { AuthClientError, type AuthClientErrorCode } from '../../src/client/index.js';

/**
 * The `code` of the {@link AuthClientError} a promise rejects with.
 *
 * @throws {Error} when the promise resolves or rejects with anything else.
 * @example expect(await codeOf(client.me())).toBe('not_authenticated');
 */
export async function codeOf(promise: Promise<unknown>): Promise<AuthClientErrorCode> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AuthClientError)) throw new Error(`expected an AuthClientError, got ${String(error)}`);
  return error.code;
}
