/**
 * A group of protected routes, mounted with the `routes` option of `createApp`:
 *
 * ```ts
 * createApp(runtime, { routes: (app, sessions) => app.use('/api/orders', orderRoutes(sessions)) });
 * ```
 *
 * `requireAuth` runs the whole accept pipeline (decrypt, verify, claims, live session, enabled user);
 * `principalOf` reads what it proved. Refusals and store outages are answered by the app's one error
 * handler (401 `invalid_token`, 503 `temporarily_unavailable`); throw `HttpError` for your own.
 */
import { Router } from 'express';
import { HttpError, principalOf, requireAuth, type SessionService } from '../src/index.js';

interface Order {
  readonly id: string;
  readonly owner: string;
  readonly item: string;
}

/** Sample data; a real fork reads its own database here. */
const ORDERS: readonly Order[] = [{ id: 'o-1', owner: 'alice', item: 'a book' }];

/** The `/api/orders` routes: every one needs a valid sealed bearer. */
export function orderRoutes(sessions: SessionService): Router {
  const router = Router();
  router.use(requireAuth(sessions));

  router.get('/', (_req, res) => {
    const { user } = principalOf(res);
    res.set('Cache-Control', 'no-store');
    res.json({ orders: ORDERS.filter((order) => order.owner === user.username) });
  });

  router.get('/:id', (req, res) => {
    const { user } = principalOf(res);
    const order = ORDERS.find((o) => o.id === req.params.id && o.owner === user.username);
    // Another user's order is "not found", not "forbidden": do not confirm that it exists.
    if (!order) throw new HttpError('not_found', 'No such order');
    res.set('Cache-Control', 'no-store');
    res.json(order);
  });

  return router;
}
