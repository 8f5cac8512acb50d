import type { RequestHandler } from 'express';

/** The home page needs nothing but its own markup: no script, no style sheet, no image. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>jwe-auth-server</title>
  </head>
  <body>
    <h1>jwe-auth-server</h1>
    <p>An authentication server issuing nested access tokens: a JWS signed by this server, encrypted as a JWE to the client's own key.</p>
    <ul>
      <li><a href="/demo/">Demo page</a>: sign in from this browser and see the token layer by layer.</li>
      <li><a href="/docs">API reference</a>: every route, request and response.</li>
      <li><a href="/.well-known/jwks.json">JWKS</a>: the public keys that verify its tokens and seal bearers to it.</li>
    </ul>
  </body>
</html>
`;

/**
 * `GET /`: a small HTML page for a person who opens the server in a browser, linking the demo page,
 * the API reference and the JWKS.
 *
 * @example app.get('/', homePage);
 */
export const homePage: RequestHandler = (_req, res) => {
  res.set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
  res.send(PAGE);
};
