import type { RequestHandler } from 'express';
import type { AuthEvents, LoginOutcome } from '../events.js';

/** Login answers the HTTP layer decides, by status; `succeeded` and `failed` are the session service's. */
const OUTCOMES: Readonly<Record<number, LoginOutcome>> = {
  400: 'invalid_request',
  413: 'invalid_request',
  415: 'invalid_request',
  429: 'throttled',
  503: 'unavailable',
};

/**
 * Reports the login attempts that never reached the session service (a malformed body or client key,
 * the rate limit, a store that cannot answer) to `events.login`, once their answer is sent. Mount it
 * before the body parser, so that a body it refuses is counted too.
 *
 * @example app.use(loginOutcomes(events));
 */
export function loginOutcomes(events: Pick<AuthEvents, 'login'>): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'POST' && req.path === '/auth/login') {
      res.once('finish', () => {
        const outcome = OUTCOMES[res.statusCode];
        if (outcome) events.login(outcome);
      });
    }
    next();
  };
}
