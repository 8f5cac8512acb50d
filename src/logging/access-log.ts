import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler, Response } from 'express';
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
const STARTED = Symbol('started');
const WRITTEN = Symbol('accessLineWritten');
const CLIENT_IP = Symbol('clientIp');

type Logged = IncomingMessage & { [REQUEST_ID]?: string; [BASE_LOGGER]?: Logger; [REQUEST_LOGGER]?: Logger };
type Timed = ServerResponse & { [STARTED]?: number; [WRITTEN]?: true; [CLIENT_IP]?: (req: IncomingMessage) => string | undefined };

/** How the access log fits the app it logs for. */
export interface AccessLogOptions {
  /** Where `req.log` is defined, once: the app's request prototype (`app.request`). */
  readonly requestPrototype?: object;
  /**
   * The client's address as the app resolves it (`TRUST_PROXY`), from Node's own request (the fast
   * lane does not make it an Express request); default the socket's peer address.
   */
  readonly clientIp?: (req: IncomingMessage) => string | undefined;
}

/** The request's id: the presented `X-Request-Id` when it is sane, else a new UUID; echoed in the response. */
function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const presented = req.headers['x-request-id'];
  const id = typeof presented === 'string' && REQUEST_ID_PATTERN.test(presented) ? presented : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The one access line: what an operator needs, and nothing read from a header or a body. */
function accessLine(req: IncomingMessage, res: Timed, durationMs: number): Record<string, unknown> {
  return {
    method: req.method,
    route: routePatternOf(req, res as unknown as Response),
    status: res.statusCode,
    duration_ms: durationMs,
    ip: res[CLIENT_IP]?.(req) ?? req.socket.remoteAddress,
    ...(res.writableFinished ? {} : { aborted: true }),
  };
}

/**
 * The access log's logger bound to the request's id, made on first use (most requests never log
 * anything but their access line); `undefined` for a request the access log has not seen.
 *
 * @example (requestLog(req) ?? logger).warn({ path: req.path }, 'store unavailable');
 */
export function requestLog(req: IncomingMessage): Logger | undefined {
  const logged = req as Logged;
  const base = logged[BASE_LOGGER];
  if (base === undefined) return undefined;
  return (logged[REQUEST_LOGGER] ??= base.child({ request_id: logged[REQUEST_ID] }));
}

/**
 * `req.log`: {@link requestLog} as an accessor, defined once on the app's request prototype, not on
 * each request (an accessor and its closures made per request cost more than the log line's use).
 */
function defineRequestLog(prototype: object): void {
  Object.defineProperty(prototype, 'log', {
    configurable: true,
    get(this: Logged): Logger | undefined {
      return requestLog(this);
    },
    set(this: Logged, logger: Logger) {
      this[REQUEST_LOGGER] = logger;
    },
  });
}

/** Writes the access line once: on `finish` of a completed response, or on `close` of an aborted one. */
function writeAccessLine(this: Timed): void {
  if (this[WRITTEN]) return;
  this[WRITTEN] = true;
  const req = this.req;
  (requestLog(req) as Logger).info(accessLine(req, this, Date.now() - (this[STARTED] as number)), ACCESS_MESSAGE);
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
 * listened to: the request only gets its id. It reads only what Node's own request and response
 * have, so the fast lane runs it too.
 *
 * @example captureRoutePatterns(app); app.use(accessLog(logger, { requestPrototype: app.request }));
 */
export function accessLog(logger: Logger, options: AccessLogOptions = {}): RequestHandler {
  if (options.requestPrototype) defineRequestLog(options.requestPrototype);
  const clientIp = options.clientIp;
  return (req, res, next) => {
    const logged = req as Logged;
    logged[REQUEST_ID] = requestIdOf(req, res);
    logged[BASE_LOGGER] = logger;
    if (logger.isLevelEnabled('info')) {
      (res as Timed)[STARTED] = Date.now();
      (res as Timed)[CLIENT_IP] = clientIp;
      res.once('finish', writeAccessLine);
      res.once('close', writeAccessLine);
    }
    next();
  };
}
