import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { documentedOperations, SpecChecker, type OperationKey } from './spec.js';

/** The app's routes and the spec's operations are the same set. */
const checker = new SpecChecker();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/**
 * Routes that are not part of the API and so not in the spec: the API reference itself (`/docs`,
 * its assets and the raw spec).
 */
const NOT_API = /^\/docs(\/|$)/;

/** The parts of an Express 5 (router 2) layer read here. */
interface Layer {
  readonly rawPath?: unknown;
  readonly route?: { readonly path: unknown; readonly methods: Record<string, boolean> };
  readonly handle: { readonly stack?: readonly Layer[] };
}

const asPaths = (value: unknown): string[] => {
  const paths = ([] as unknown[]).concat(value);
  if (!paths.every((p): p is string => typeof p === 'string')) throw new Error(`cannot read a route path: ${String(value)}`);
  return paths;
};

/** Every `"METHOD /path"` route the app registered, nested routers included, with `:param` as `{param}`. */
function registeredRoutes(app: Express): string[] {
  const walk = (stack: readonly Layer[], prefix: string): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        return asPaths(layer.route.path).flatMap((route) =>
          Object.keys(layer.route?.methods ?? {})
            .filter((method) => method !== '_all')
            .map((method) => `${method.toUpperCase()} ${`${prefix}${route}`.replace(/:(\w+)/g, '{$1}')}`),
        );
      }
      if (layer.handle.stack) {
        const [mount] = asPaths(layer.rawPath ?? '/');
        return walk(layer.handle.stack, `${prefix}${mount === '/' ? '' : mount}`);
      }
      return [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
}

it('documents every route the app registers, and registers every documented one', () => {
  const registered = registeredRoutes(server.app).filter((route) => !NOT_API.test(route.split(' ')[1] as string));
  expect(registered.length).toBeGreaterThan(0);
  expect([...new Set(registered)].sort()).toEqual(documentedOperations(checker.spec).sort());
});

it.each(documentedOperations(checker.spec))('%s answers (no route 404) with a documented response', async (key: OperationKey) => {
  const [method, route] = key.split(' ') as [string, string];
  const url = route.replace(/\{\w+\}/g, () => randomUUID());
  const call = request(server.app)[method.toLowerCase() as 'get' | 'post' | 'delete'](url);
  const res = method === 'GET' ? await call : await call.send({});
  expect(res.body?.error === 'not_found' && res.body?.error_description === 'Not found').toBe(false);
  expect(checker.responseProblems(key, res)).toEqual([]);
});
