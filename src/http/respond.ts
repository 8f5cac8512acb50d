import type { Response } from 'express';

/**
 * Answers with a JSON body that no cache may keep (`Cache-Control: no-store`): token responses and
 * everything read from a session. Written with Node's own calls rather than `res.json()`: an ETag
 * and a freshness check are of no use for a response no cache stores. A `HEAD` request gets the
 * headers only.
 *
 * @param status - The status; default 200.
 * @example sendNoStore(res, { sub: user.id, username: user.username, session_id: session.id });
 */
export function sendNoStore(res: Response, body: unknown, status = 200): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  if (res.req.method === 'HEAD') res.end();
  else res.end(json);
}
