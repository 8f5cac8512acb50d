import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';

/**
 * `docs/openapi.yaml` at the package root. This file sits at the same depth in `src/` and in
 * `dist/` (`<root>/{src,dist}/http/routes/`), so the path holds for the sources and the build.
 */
export const OPENAPI_SPEC_PATH = fileURLToPath(new URL('../../../docs/openapi.yaml', import.meta.url));

/** swagger-ui-dist ships no types; `absolute-path.js` is its `getAbsoluteFSPath()` without loading the bundle. */
const swaggerUiDir = (createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string)();

/** The only swagger-ui-dist files served, so the package's own sample page, README and maps stay out. */
const SWAGGER_ASSETS: ReadonlySet<string> = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

/**
 * The page allows its own scripts only: no inline script, no eval. Swagger UI sets inline styles and
 * uses `data:` images, and it fetches the spec from this origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>jwe-auth-server API reference</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

/** Served as a file so that the page needs no inline script. The spec URL is relative to this script. */
const INITIALIZER = `'use strict';
(function () {
  var specUrl = new URL('openapi.yaml', document.currentScript.src).href;
  window.addEventListener('load', function () {
    window.ui = SwaggerUIBundle({
      url: specUrl,
      dom_id: '#swagger-ui',
      deepLinking: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis],
      layout: 'BaseLayout',
    });
  });
})();
`;

const ASSET_MAX_AGE_MS = 24 * 60 * 60 * 1000;

function sendPage(res: Response, type: string, body: string): void {
  res.set({ 'Content-Type': type, 'Cache-Control': 'no-cache', 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
  res.send(body);
}

/**
 * The API reference: Swagger UI at `/docs`, rendered from the raw OpenAPI 3.1 spec at
 * `/docs/openapi.yaml`. Any other path under `/docs` falls through to the JSON 404.
 *
 * @param specPath - The spec to serve; {@link OPENAPI_SPEC_PATH} unless a test says otherwise.
 * @example app.use(docsRoutes()); // before the 404 handler
 */
export function docsRoutes(specPath: string = OPENAPI_SPEC_PATH): Router {
  const router = Router();

  router.get('/docs', (_req, res) => sendPage(res, 'text/html; charset=utf-8', PAGE));
  router.get('/docs/init.js', (_req, res) => sendPage(res, 'text/javascript; charset=utf-8', INITIALIZER));
  router.get('/docs/openapi.yaml', async (_req, res) => {
    const spec = await readFile(specPath, 'utf8');
    res.set({ 'Content-Type': 'application/yaml; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.send(spec);
  });
  router.get('/docs/:asset', (req, res, next) => {
    const asset = String(req.params.asset);
    if (!SWAGGER_ASSETS.has(asset)) return next();
    res.sendFile(asset, { root: swaggerUiDir, maxAge: ASSET_MAX_AGE_MS }, (error) => {
      if (error) next(error);
    });
  });

  return router;
}
