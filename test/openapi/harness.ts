import type { Response } from 'supertest';
import { StoreUnavailableError } from '../../src/errors.js';
import type { LoggedIn } from '../helpers/flow.js';
import type { TestServer } from '../helpers/runtime.js';
import type { OperationKey, SpecChecker } from './spec.js';

/**
 * What the response suites share: the conformance assertion, and the ways they provoke failures
 * (an injected error; a locked database is `whileLocked` in `test/helpers/runtime.ts`).
 */

/** The password of every user the response suites create. */
export const PASSWORD = 'correct horse battery';

/** The operations `responses.test.ts` covers; `protected-responses.test.ts` covers every other one. */
export const PUBLIC_OPERATIONS: readonly OperationKey[] = [
  'GET /',
  'GET /.well-known/jwks.json',
  'POST /auth/login',
  'POST /auth/refresh',
  'GET /healthz',
  'GET /readyz',
];

/** Options of {@link expectDocumentedWith}. */
export interface ExpectedResponse {
  /** The `error` code the body must carry. */
  readonly error?: string;
  /** The JSON body the test sent; for a request that succeeded, it must match the documented request body. */
  readonly sent?: unknown;
}

/**
 * Asserts the status, that the response conforms to the spec, and (given `sent`) that the request
 * body conforms too, so that the documented request schema is honest. Every problem is listed.
 */
export function expectDocumentedWith(
  checker: SpecChecker,
  key: OperationKey,
  res: Response,
  status: number,
  options: ExpectedResponse = {},
): void {
  const problems = [
    ...(res.status === status ? [] : [`expected status ${status}, got ${res.status}: ${res.text}`]),
    ...(options.error === undefined || res.body?.error === options.error ? [] : [`expected error ${options.error}, got ${res.text}`]),
    ...checker.responseProblems(key, res),
    ...(options.sent === undefined ? [] : checker.requestProblems(key, options.sent)),
  ];
  expect(problems).toEqual([]);
}

/** The `Authorization` header of a bearer. */
export const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The `name=value` of a session's refresh cookie, for a `Cookie` request header. */
export const cookieOf = (session: LoggedIn) => (session.cookie as string).split(';')[0] as string;

/** A JSON body over the 16 kB limit. */
export const oversized = (fields: Record<string, unknown>) => ({ ...fields, padding: 'x'.repeat(20 * 1024) });

/** Replaces one method of a live object while `during` runs (for failures the test cannot cause from outside). */
export async function withReplaced<T extends object, K extends keyof T>(
  target: T,
  name: K,
  replacement: T[K],
  during: () => Promise<void>,
): Promise<void> {
  const own = Object.prototype.hasOwnProperty.call(target, name);
  const original = target[name];
  target[name] = replacement;
  try {
    await during();
  } finally {
    if (own) target[name] = original;
    else delete (target as Record<PropertyKey, unknown>)[name as PropertyKey];
  }
}

/** An unexpected failure, whose message must never reach the client. */
export const boom = () => Promise.reject(new Error('injected failure: /secret/path'));

/** Every protected route fails at authentication with an unexpected error (500) while `during` runs. */
export const whileAuthenticationBreaks = (server: TestServer, during: () => Promise<void>) =>
  withReplaced(server.runtime.sessions, 'authenticate', boom, during);

/** The store cannot read sessions (503 on every protected route) while `during` runs. */
export const whileStoreCannotRead = (server: TestServer, during: () => Promise<void>) => {
  const unavailable = () => Promise.reject(new StoreUnavailableError('injected'));
  // A SQLite store sharing the users' file reads a protected request's session with getSessionWithUser.
  const joined = server.runtime.store.getSessionWithUser === undefined ? during : () => withReplaced(server.runtime.store, 'getSessionWithUser', unavailable, during);
  return withReplaced(server.runtime.store, 'getSession', unavailable, joined);
};
