import cookieParser from 'cookie-parser';
import express, { type RequestHandler } from 'express';

/** Largest JSON body accepted (a 8192-bit RSA client key fits comfortably). */
const BODY_LIMIT = '16kb';

/**
 * Parses a JSON body into `req.body`. Mounted only where a body is read (login, refresh, password
 * change, and in front of a team's own routes), so a protected `GET` pays nothing for it; a route
 * that takes no body ignores one. `inflate: false`: a compressed body is refused (415) instead of
 * being inflated. Its failures are answered by the error handler in our own words.
 */
export const jsonBody: RequestHandler = express.json({ limit: BODY_LIMIT, strict: true, inflate: false });

/** Parses the `Cookie` header into `req.cookies`, where a cookie is read (the refresh route, a team's own routes). */
export const cookies: RequestHandler = cookieParser();
