import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { routePatternOf } from '../http/route-pattern.js';

/** The header a request id is taken from and echoed in. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * A presented request id is kept when it is 1 to 128 characters of letters, digits and `._:-` (UUIDs,
 * ULIDs, trace ids); anything else is replaced, so a client cannot write arbitrary text into the log.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The `msg` of every access log line. */
export const ACCESS_MESSAGE = 'request';

/** The request's id: the presented `X-Request-Id` when it is sane, else a new UUID; echoed in the response. */
function requestIdOf(req: Request, res: Response): string {
  const presented = req.headers['x-request-id'];
  const id = typeof presented === 'string' && REQUEST_ID_PATTERN.test(presented) ? presented : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The one access line: what an operator needs, and nothing read from a header or a body. */
function accessLine(req: Request, res: Response, durationMs: number): Record<string, unknown> {
  return {
    method: req.method,
    route: routePatternOf(req, res),
    status: res.statusCode,
    duration_ms: durationMs,
    ip: req.ip,
    ...(res.writableFinished ? {} : { aborted: true }),
  };
}

/**
 * The access log: one JSON line per request at `info`, written when the response ends (or the
 * connection closes first, then with `aborted: true`):
 * `{"request_id", "method", "route", "status", "duration_ms", "ip", "msg": "request"}`.
 *
 * `route` is the route pattern (`/auth/sessions/:id`), never the raw path or its query; `ip` is the
 * client IP as `TRUST_PROXY` resolves it. No header value (`Authorization`, `Cookie`, `DPoP`,
 * `Set-Cookie`...) and no body is ever written. The request id (see {@link REQUEST_ID_PATTERN}) is
 * echoed in `X-Request-Id` and bound to `req.log`, so other lines of the same request carry it.
 * Route patterns come from `captureRoutePatterns(app)`.
 *
 * @example captureRoutePatterns(app); app.use(accessLog(logger));
 */
export function accessLog(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger,
    genReqId: (req, res) => requestIdOf(req as Request, res as Response),
    // No request or response object is bound or serialized: only the fields of accessLine().
    quietReqLogger: true,
    quietResLogger: true,
    wrapSerializers: false,
    serializers: { req: () => undefined, res: () => undefined },
    customAttributeKeys: { reqId: 'request_id' },
    customLogLevel: () => 'info',
    customSuccessObject: (req, res, value: { responseTime: number }) => accessLine(req as Request, res as Response, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => accessLine(req as Request, res as Response, value.responseTime),
    customSuccessMessage: () => ACCESS_MESSAGE,
    customErrorMessage: () => ACCESS_MESSAGE,
  });
  return (req, res, next) => middleware(req, res, next);
}
