import type { Request, RequestHandler, Response } from 'express';

/** The label of a request that no route matched (an unknown path, or a body refused before routing). */
export const UNMATCHED_ROUTE = 'unmatched';

const PATTERN = Symbol('routePattern');

type Observed = Request & { [PATTERN]?: string };

/**
 * Remembers the full pattern of the route that handles a request (`/auth/sessions/:id`, never the raw
 * path), for metrics labels and the access log. Mount it first.
 *
 * Express sets `req.route` when a route matches, and `req.baseUrl` is the router's mount path only at
 * that moment: a router restores it when an error leaves it, before the error handler and the
 * response's end. So the pattern is taken when `req.route` is set.
 *
 * @example app.use(captureRoutePattern);
 */
export const captureRoutePattern: RequestHandler = (req, _res, next) => {
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: unknown) {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (path !== undefined) (req as Observed)[PATTERN] = `${req.baseUrl}${String(path)}`;
    },
  });
  next();
};

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
export function routePatternOf(req: Request, res: Response): string {
  const label: unknown = res.locals.routeLabel;
  return (req as Observed)[PATTERN] ?? (typeof label === 'string' ? label : UNMATCHED_ROUTE);
}
