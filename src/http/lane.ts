import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';

/** What Express's `app.handle` is called with: Node's request and response, before Express extends them. */
type Handle = (req: IncomingMessage, res: ServerResponse, callback?: NextFunction) => void;

/**
 * A handler the fast lane may run: it reads only what Node's own request and response have
 * (`req.method`, `req.url`, `req.headers`, `res.setHeader()`, `res.end()`…) plus `res.locals`, never
 * Express's additions (`req.ip`, `req.get()`, `res.json()`…), which exist only once the lane hands
 * the request to Express (for an error, or a request the lane does not take).
 */
export type LaneHandler = RequestHandler;

interface LaneRoute {
  /** The route's label for the access log and metrics: its path, as Express would report it. */
  readonly pattern: string;
  /** Which requests of this method and path the lane takes; the others go to Express. */
  readonly takes: (req: IncomingMessage) => boolean;
  /** The route's handlers; once installed, the front middleware first and the 404 last. */
  readonly handlers: readonly LaneHandler[];
}

/**
 * A fast lane in front of Express for the hottest built-in route: a request whose method and exact
 * path are registered, and that the route says it takes (`GET /api/me` with a Bearer token), runs the
 * same front middleware and handlers the router would run, in the same order, on Node's own request
 * and response. It skips the router's layer walk and pattern matching, and Express's change of the
 * request's and response's prototypes, which on Node 20 costs more than the rest of a warm
 * authenticated request (`docs/performance.md`).
 *
 * Anything else (another spelling of the path, a trailing slash, another method, the `DPoP` scheme, a
 * team's routes, the pages, 404) goes to Express unchanged. An error in the lane, or a chain whose
 * handlers all call `next()`, hands the request to Express's request and response first (as
 * `app.handle` would have made them), then to the app's error handler or 404, so every refusal is
 * answered by the one error handler. Every route the lane serves is also registered with Express,
 * which stays the reference: `test/http/lane.test.ts` compares the two answer for answer.
 */
export class FastLane {
  readonly #routes = new Map<string, LaneRoute>();
  readonly #front: LaneHandler[] = [];
  #notFound: RequestHandler | undefined;
  #errorHandler: ErrorRequestHandler | undefined;

  /** Middleware every request runs first, on both paths (the access log, metrics, security headers). */
  use(...handlers: LaneHandler[]): void {
    if (this.#routes.size > 0) throw new Error('FastLane.use() after a route: the front middleware would differ between routes');
    this.#front.push(...handlers);
  }

  /** Serves `GET` (and so `HEAD`, as Express does) of exactly `path`, for the requests `takes` accepts. */
  get(path: string, takes: (req: IncomingMessage) => boolean, ...handlers: LaneHandler[]): void {
    const route: LaneRoute = { pattern: path, takes, handlers };
    this.#routes.set(`GET ${path}`, route);
    this.#routes.set(`HEAD ${path}`, route);
  }

  /**
   * The app's last handlers: `notFound` answers a request whose route handlers all called `next()`
   * (as the router would end up there), `errorHandler` every error.
   */
  end(notFound: RequestHandler, errorHandler: ErrorRequestHandler): void {
    this.#notFound = notFound;
    this.#errorHandler = errorHandler;
  }

  /**
   * Puts the lane in front of `app`'s router: `app.handle` (what `app(req, res)` and a mounting app
   * call) first looks the request up here. Call it once every route and {@link FastLane.end} are set.
   */
  install(app: Express): void {
    const notFound = this.#notFound;
    const onError = this.#errorHandler;
    if (notFound === undefined || onError === undefined) throw new Error('FastLane.install() before FastLane.end()');
    const expressHandle = (app as unknown as { handle: Handle }).handle;
    const poweredBy = app.enabled('x-powered-by');
    /** Makes Node's request and response Express's, as `app.handle` does before the router. */
    const toExpress = (req: IncomingMessage, res: ServerResponse): [Request, Response] => {
      const request = req as Request;
      const response = res as Response;
      request.res = response;
      response.req = request;
      Object.setPrototypeOf(req, app.request);
      Object.setPrototypeOf(res, app.response);
      request.originalUrl ??= req.url as string;
      request.baseUrl = '';
      return [request, response];
    };
    /** Where the router would end up once every handler called `next()`: the 404, on Express's objects. */
    const last: RequestHandler = (req, res, next) => notFound(...toExpress(req, res), next);
    const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
      const [request, response] = toExpress(req, res);
      try {
        onError(error, request, response, () => undefined);
      } catch {
        // The error handler answers everything; should it throw, the connection must still end.
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      }
    };
    const chains = new Map<string, LaneRoute>();
    for (const [key, route] of this.#routes) chains.set(key, { ...route, handlers: [...this.#front, ...route.handlers, last] });
    (app as unknown as { handle: Handle }).handle = (req, res, callback) => {
      const url = req.url as string;
      const query = url.indexOf('?');
      const chain = chains.get(`${req.method} ${query < 0 ? url : url.slice(0, query)}`);
      if (chain === undefined || !chain.takes(req)) return expressHandle.call(app, req, res, callback);
      if (poweredBy) res.setHeader('X-Powered-By', 'Express');
      const response = res as Response;
      response.locals ??= Object.create(null) as Record<string, unknown>;
      response.locals.routeLabel ??= chain.pattern;
      run(chain.handlers, 0, req as Request, response, fail);
    };
  }
}

type Fail = (error: unknown, req: IncomingMessage, res: ServerResponse) => void;

/**
 * Runs `handlers[index]` with a `next` that goes on to the following one, as the router would; an
 * error, thrown, rejected or passed to `next`, goes to `fail`.
 */
function run(handlers: readonly RequestHandler[], index: number, req: Request, res: Response, fail: Fail): void {
  const handler = handlers[index];
  if (handler === undefined) return;
  const next: NextFunction = (error?: unknown) => {
    // The lane's routes never skip to another route; one that tried would find none here.
    if (error === 'route' || error === 'router') return fail(new Error(`next('${error}') in the fast lane`), req, res);
    if (error !== undefined && error !== null) return fail(error, req, res);
    run(handlers, index + 1, req, res, fail);
  };
  try {
    const result = handler(req, res, next) as unknown;
    if (result instanceof Promise) result.catch((error: unknown) => fail(error ?? new Error('rejected without a reason'), req, res));
  } catch (error) {
    fail(error, req, res);
  }
}
