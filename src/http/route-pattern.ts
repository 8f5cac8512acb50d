import type { IncomingMessage } from 'node:http';
import type { Express, Request, RequestHandler, Response } from 'express';

/** The label of a request that no route matched (an unknown path, or a body refused before routing). */
export const UNMATCHED_ROUTE = 'unmatched';

const ROUTE = Symbol('route');
const MATCHED_PATH = Symbol('matchedRoutePath');
const BASE_URL = Symbol('matchedBaseUrl');

type Observed = Request & { [ROUTE]?: unknown; [MATCHED_PATH]?: unknown; [BASE_URL]?: string };

/**
 * Remembers the route that handles each request of `app`, and its mount path at that moment, so that
 * {@link routePatternOf} gives the full pattern (`/auth/sessions/:id`, never the raw path) for metrics
 * labels and the access log. Call it once, right after `express()`.
 *
 * Express sets `req.route` when a route matches, and `req.baseUrl` is the router's mount path only at
 * that moment: a router restores it when an error leaves it, before the error handler and the
 * response's end. So the mount path is taken when `req.route` is set. The accessor lives on the app's
 * request prototype (`app.request`), defined once, instead of an accessor and two closures defined
 * on every request.
 *
 * @example const app = express(); captureRoutePatterns(app);
 */
export function captureRoutePatterns(app: Express): void {
  Object.defineProperty(app.request, 'route', {
    configurable: true,
    enumerable: true,
    get(this: Observed) {
      return this[ROUTE];
    },
    set(this: Observed, value: { path?: unknown } | undefined) {
      this[ROUTE] = value;
      const path = value?.path;
      if (path === undefined) return;
      this[MATCHED_PATH] = path;
      this[BASE_URL] = this.baseUrl;
    },
  });
}

/**
 * Names a group of requests that no route handles, such as the static files of a page
 * (`labelRoute('/demo/*')`), so they are not counted as {@link UNMATCHED_ROUTE}.
 *
 * @example app.use('/demo', labelRoute('/demo/*'), express.static(dir));
 */
export function labelRoute(label: string): RequestHandler {
  return (_req, res, next) => {
    res.locals.routeLabel ??= label;
    next();
  };
}

/**
 * The route pattern of a request handled so far: the matched route's full pattern, else a label
 * from {@link labelRoute}, else {@link UNMATCHED_ROUTE}.
 *
 * @example metrics.httpRequests.inc({ method: req.method, route: routePatternOf(req, res), status: '200' });
 */
export function routePatternOf(req: IncomingMessage, res: Pick<Response, 'locals'>): string {
  const observed = req as Observed;
  const base = observed[BASE_URL];
  if (base !== undefined) return `${base}${String(observed[MATCHED_PATH])}`;
  const label: unknown = res.locals.routeLabel;
  return typeof label === 'string' ? label : UNMATCHED_ROUTE;
}
