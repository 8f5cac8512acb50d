/**
 * A second Express app (another service of yours) protecting its routes with the auth server's
 * keys and session store. Run it with the same environment as the auth server
 * (`PRESERVE_SESSIONS_ON_REBOOT=1`, `KEYS_DIR`, `PRIVATE_KEY_PASSPHRASE`, and `SQLITE_PATH` or
 * `STORE=redis` + `REDIS_URL`): it opens bearer tokens with the server's encryption key, verifies
 * them with its signing key, and sees logouts and revocations on the next request. DPoP-bound
 * tokens come as `Authorization: DPoP` with a proof for this service's own URL; `requireAuth`
 * checks it and spends its `jti` in the shared store, so a proof works once across both services.
 *
 * ```sh
 * PORT=4000 node --import tsx examples/second-service.ts   # or compile it with your fork
 * ```
 */
import express, { type Express } from 'express';
import { buildRuntime, errorHandler, loadConfig, notFound, principalOf, requireAuth, type Runtime } from '../src/index.js';

/** Builds the service from an environment; the caller listens and later closes the runtime. */
export async function createOrdersService(env: Record<string, string | undefined>): Promise<{ app: Express; runtime: Runtime }> {
  const runtime = await buildRuntime(loadConfig(env));
  const app = express();
  app.disable('x-powered-by');
  app.get('/orders', requireAuth(runtime.sessions), (_req, res) => {
    const { user, claims } = principalOf(res);
    res.set('Cache-Control', 'no-store').json({ owner: user.username, session: claims.sid, orders: [] });
  });
  app.use(notFound);
  app.use(errorHandler(runtime.logger));
  return { app, runtime };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const { app } = await createOrdersService(process.env);
  app.listen(Number(process.env.PORT ?? 4000));
}
