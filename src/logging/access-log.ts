import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
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

const REQUEST_ID = Symbol('requestId');
const BASE_LOGGER = Symbol('accessLogger');
const REQUEST_LOGGER = Symbol('requestLogger');
const HAS_REQUEST_LOG = Symbol('hasRequestLog');
const STARTED = Symbol('started');
const WRITTEN = Symbol('accessLineWritten');

type Logged = Request & { log?: Logger; [REQUEST_ID]?: string; [BASE_LOGGER]?: Logger; [REQUEST_LOGGER]?: Logger; [HAS_REQUEST_LOG]?: true };
type Timed = ServerResponse & { [STARTED]?: number; [WRITTEN]?: true };

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
 * `req.log`: the access log's logger bound to the request id, made on first use (most requests
 * never log anything but their access line). Defined once on the app's request prototype, not on
 * each request (an accessor and its closures made per request cost more than the log line's use).
 */
function defineRequestLog(prototype: object): void {
  Object.defineProperties(prototype, {
    [HAS_REQUEST_LOG]: { value: true },
    log: {
      configurable: true,
      get(this: Logged): Logger | undefined {
        const base = this[BASE_LOGGER];
        if (base === undefined) return undefined;
        return (this[REQUEST_LOGGER] ??= base.child({ request_id: this[REQUEST_ID] }));
      },
      set(this: Logged, logger: Logger) {
        this[REQUEST_LOGGER] = logger;
      },
    },
  });
}

/** Writes the access line once: on `finish` of a completed response, or on `close` of an aborted one. */
function writeAccessLine(this: Timed): void {
  if (this[WRITTEN]) return;
  this[WRITTEN] = true;
  const req = this.req as Logged;
  (req.log as Logger).info(accessLine(req, this as unknown as Response, Date.now() - (this[STARTED] as number)), ACCESS_MESSAGE);
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
 * Route patterns come from `captureRoutePatterns(app)`. When `info` is off, nothing is timed or
 * listened to: the request only gets its id.
 *
 * @example captureRoutePatterns(app); app.use(accessLog(logger));
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const logged = req as Logged;
    if (logged[HAS_REQUEST_LOG] !== true) defineRequestLog(Object.getPrototypeOf(req) as object);
    logged[REQUEST_ID] = requestIdOf(req, res);
    logged[BASE_LOGGER] = logger;
    if (logger.isLevelEnabled('info')) {
      (res as Timed)[STARTED] = Date.now();
      res.once('finish', writeAccessLine);
      res.once('close', writeAccessLine);
    }
    next();
  };
}
