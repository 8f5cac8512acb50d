import type { z } from 'zod';
import { HttpError } from '../errors.js';

type Issue = z.core.$ZodIssue;

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** Our own wording for a validation problem; the library's messages never reach a client. */
function describe(issue: Issue, body: unknown): string {
  const field = issue.path.map(String).join('.');
  if (field === '') return 'the body must be a JSON object';
  if (valueAt(body, issue.path) === undefined) return `${field} is required`;
  switch (issue.code) {
    case 'invalid_type':
      return `${field} must be a ${issue.expected}`;
    case 'too_small':
      return `${field} must be at least ${String(issue.minimum)} characters`;
    case 'too_big':
      return `${field} must be at most ${String(issue.maximum)} characters`;
    case 'invalid_value':
      return `${field} must be one of ${issue.values.map(String).join(', ')}`;
    default:
      return `${field} is invalid`;
  }
}

/**
 * Validates a request body against a schema.
 *
 * @returns The parsed body.
 * @throws {HttpError} `invalid_request` naming the first field that is wrong, in our own words.
 * @example const body = parseBody(z.object({ username: z.string() }), req.body);
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new HttpError('invalid_request', describe(parsed.error.issues[0] as Issue, body));
}
