import type { z } from 'zod';
import { HttpError } from '../errors.js';

/**
 * Validates a request body against a schema.
 *
 * @returns The parsed body.
 * @throws {HttpError} `invalid_request` naming the first field that is wrong.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  throw new HttpError('invalid_request', `${field}: ${issue?.message ?? 'is invalid'}`);
}
