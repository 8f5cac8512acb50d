import express, { type Express, type RequestHandler } from 'express';
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { AuthEvents } from '../events.js';
import { JWKS_MAX_AGE_SECONDS } from '../keys/key-files.js';
import type { KeyManager } from '../keys/manager.js';
import { accessLog } from '../logging/access-log.js';
import { requestMetrics } from '../metrics/http.js';
import type { Metrics } from '../metrics/registry.js';
import type { SessionService } from '../sessions/service.js';
import type { SessionStore } from '../store/types.js';
import type { LoginThrottle } from '../throttle/index.js';
import { errorHandler, methodNotAllowed, notFound, RETRY_AFTER_SECONDS, sendError } from './error-handler.js';
import { cookies, jsonBody } from './body.js';
import { EventLoopLoad, HashingGate } from './hashing-gate.js';
import { FastLane } from './lane.js';
import { loginOutcomes } from './login-outcomes.js';
import { isBearerRequest, principalOf, requireAuth } from './require-auth.js';
import { sendNoStore } from './respond.js';
import { captureRoutePatterns, labelRoute } from './route-pattern.js';
import { authRoutes } from './routes/auth.js';
import { docsRoutes } from './routes/docs.js';
import { homePage } from './routes/home.js';

/** Everything the app is built from; nothing is a module-level singleton. */
export interface AppDependencies {
  /** The validated configuration. */
  readonly config: Config;
  /** The server's signing and encryption keys (published at `/.well-known/jwks.json`). */
  readonly keys: KeyManager;
  /** The session store, pinged by `/readyz`. */
  readonly store: SessionStore;
  /** The session life cycle the routes call. */
  readonly sessions: SessionService;
  /** Where the access log, errors and refused tokens are logged. */
  readonly logger: Logger;
  /** Counts failed logins and password changes, shared by every instance using the same store. */
  readonly throttle: LoginThrottle;
  /** The Prometheus series requests are counted in; absent or `null` when metrics are off. */
  readonly metrics?: Metrics | null;
  /** Where the audit events and outcomes are reported (the audit log, the metrics). */
  readonly events?: AuthEvents;
}

/** How a fork or an embedding app extends the server. */
export interface AppOptions {
  /**
   * Adds the team's own routes. Called after the built-in routes and before the 404 and error
   * handlers, so errors thrown there get the same JSON answers.
   *
   * @example
   * createApp(runtime, {
   *   routes(app, sessions) {
   *     app.get('/api/orders', requireAuth(sessions), (_req, res) => res.json({ owner: principalOf(res).user.username }));
   *   },
   * });
   */
  readonly routes?: (app: Express, sessions: SessionService) => void;
  /**
   * Whether the process is shutting down: `/readyz` answers 503 from then on, so a load balancer
   * stops sending new work while the requests in flight are answered.
   */
  readonly isShuttingDown?: () => boolean;
  /**
   * Whether `GET /api/me` with a Bearer token is served by the fast lane in front of Express's router
   * (`src/http/lane.ts`; default `true`); `false` sends every request through the router, the
   * reference the lane is tested against.
   */
  readonly fastLane?: boolean;
}

/**
 * The built demo page (`scripts/build-web.mjs`). Two levels up from this module is the package root
 * both for the compiled `dist/http/app.js` and for `src/http/app.ts` run by the tests.
 */
const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');
/** The demo page loads only its own script, style sheet and API: no inline script, no other origin. */
const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every answer carries; set with Node's own call, the cheapest way, on every request. */
const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
};

/**
 * Builds the Express app: the contract's routes, one error handler, body limits and no-store
 * caching on token responses. `server.ts` only listens; tests call the app with supertest.
 *
 * Teams add their own protected routes with {@link AppOptions.routes} and `requireAuth(sessions)`;
 * the session service is also in `app.locals.sessions`, and the {@link HashingGate} that bounds
 * password hashing in `app.locals.hashingGate`.
 *
 * @example
 * const app = createApp(await buildRuntime(loadConfig()));
 * app.listen(3000);
 */
export function createApp(deps: AppDependencies, options: AppOptions = {}): Express {
  const { config, keys, store, sessions, logger, throttle } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxyHops);
  app.locals.sessions = sessions;
  captureRoutePatterns(app);
  // What every request runs first, whether the router or the fast lane serves it.
  const front: RequestHandler[] = [
    accessLog(logger, { requestPrototype: app.request, clientIp: (req) => proxyaddr(req, app.get('trust proxy fn') as (address: string, hop: number) => boolean) }),
  ];
  if (deps.metrics) front.push(requestMetrics(deps.metrics));
  if (deps.events) front.push(loginOutcomes(deps.events));
  front.push(securityHeaders);
  app.use(...front);
  // The fast lane runs the same front middleware: each reads only Node's own request and response.
  const lane = new FastLane();
  lane.use(...front);
  const pacing = config.loginRateWhenBusy > 0 ? { ratePerSecond: config.loginRateWhenBusy, load: new EventLoopLoad() } : undefined;
  const hashingGate = new HashingGate(config.loginConcurrency, undefined, pacing);
  app.locals.hashingGate = hashingGate;

  app.get('/', homePage);
  app.route('/.well-known/jwks.json').get((_req, res) => {
    res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    res.json(keys.jwks());
  }).all(methodNotAllowed);
  app.route('/healthz').get((_req, res) => {
    res.json({ status: 'ok' });
  }).all(methodNotAllowed);
  // The keys are loaded before the app is built (KeyManager.create), so only the store can be unready.
  app.route('/readyz').get(async (_req, res) => {
    if (options.isShuttingDown?.()) {
      return sendError(res, 'temporarily_unavailable', 'The server is shutting down', { 'Retry-After': RETRY_AFTER_SECONDS });
    }
    try {
      await store.ping();
      res.json({ status: 'ready' });
    } catch {
      sendError(res, 'temporarily_unavailable', 'The session store cannot answer', { 'Retry-After': RETRY_AFTER_SECONDS });
    }
  }).all(methodNotAllowed);

  app.use('/auth', authRoutes(config, sessions, { throttle, gate: hashingGate }));
  const me: RequestHandler[] = [
    requireAuth(sessions),
    (_req, res) => {
      const { user, session } = principalOf(res);
      sendNoStore(res, { sub: user.id, username: user.username, session_id: session.id });
    },
  ];
  app.route('/api/me').get(...me).all(methodNotAllowed);
  // The hottest route: a Bearer request skips the router (a DPoP one needs Express's URL reading).
  lane.get('/api/me', isBearerRequest, ...me);

  // The built-in routes parse a body or cookies only where they read one; a team's routes get both.
  app.use(jsonBody, cookies);
  options.routes?.(app, sessions);
  app.use(docsRoutes());
  app.use(
    '/demo',
    labelRoute('/demo/*'),
    (_req, res, next) => {
      res.set({ 'Content-Security-Policy': DEMO_CSP, 'Cache-Control': 'no-cache' });
      next();
    },
    express.static(DEMO_DIR, { index: 'index.html', dotfiles: 'ignore' }),
  );

  const errors = errorHandler(logger, deps.events);
  app.use(notFound);
  app.use(errors);
  lane.end(notFound, errors);
  if (options.fastLane !== false) lane.install(app);
  return app;
}
