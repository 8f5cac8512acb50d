import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { KeyManager } from '../keys/manager.js';
import type { SessionService } from '../sessions/service.js';
import type { SessionStore } from '../store/types.js';
import { errorHandler, notFound, sendError } from './error-handler.js';
import { principalOf, requireAuth } from './require-auth.js';
import { authRoutes } from './routes/auth.js';

/** Everything the app is built from; nothing is a module-level singleton. */
export interface AppDependencies {
  readonly config: Config;
  readonly keys: KeyManager;
  readonly store: SessionStore;
  readonly sessions: SessionService;
  readonly logger: Logger;
}

/** Largest JSON body accepted (a 8192-bit RSA client key fits comfortably). */
const BODY_LIMIT = '16kb';
const JWKS_MAX_AGE_SECONDS = 300;

/**
 * Builds the Express app: the contract's routes, one error handler, body limits and no-store
 * caching on token responses. `server.ts` only listens; tests call the app with supertest.
 *
 * The session service is also in `app.locals.sessions`, for teams adding protected routes with
 * `requireAuth(app.locals.sessions)`.
 *
 * @example
 * const app = createApp(await buildDependencies(loadConfig()));
 * app.listen(3000);
 */
export function createApp(deps: AppDependencies): Express {
  const { config, keys, store, sessions, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.locals.sessions = sessions;
  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
    next();
  });
  app.use(express.json({ limit: BODY_LIMIT, strict: true }));
  app.use(cookieParser());

  app.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    res.json(keys.jwks());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await store.ping();
      keys.signing;
      res.json({ status: 'ready' });
    } catch {
      sendError(res, 'temporarily_unavailable', 'The session store cannot answer', { 'Retry-After': '1' });
    }
  });

  app.use('/auth', authRoutes(config, sessions));
  app.get('/api/me', requireAuth(sessions), (_req, res) => {
    const { user, session } = principalOf(res);
    res.set('Cache-Control', 'no-store');
    res.json({ sub: user.id, username: user.username, session_id: session.id });
  });

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
