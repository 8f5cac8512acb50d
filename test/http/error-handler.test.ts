import express from 'express';
import request from 'supertest';
import { AuthError, HttpError, StoreUnavailableError, TokenRejectedError } from '../../src/errors.js';
import { errorHandler } from '../../src/http/error-handler.js';
import { silentLogger } from '../helpers/runtime.js';

/** An app whose one route throws `error`, answered by the one error handler. */
function throwing(error: unknown) {
  const app = express();
  app.get('/', () => {
    throw error;
  });
  app.use(errorHandler(silentLogger));
  return app;
}

describe('the one error handler maps domain errors to HTTP', () => {
  it.each([
    [new AuthError('invalid_grant'), 401, 'invalid_grant'],
    [new AuthError('invalid_credentials'), 401, 'invalid_credentials'],
    [new AuthError('invalid_client_key', 'client_key must be a JWK object'), 400, 'invalid_client_key'],
    [new HttpError('forbidden'), 403, 'forbidden'],
    [new TokenRejectedError('session not live'), 401, 'invalid_token'],
  ] as const)('answers %p with its status and code', async (error, status, code) => {
    const res = await request(throwing(error)).get('/');
    expect({ status: res.status, error: res.body.error, retryAfter: res.headers['retry-after'] }).toEqual({ status, error: code, retryAfter: undefined });
    expect(res.body.error_description).toBe(error instanceof AuthError ? error.description : 'The access token is invalid');
  });

  it.each([new AuthError('temporarily_unavailable'), new StoreUnavailableError('postgres: down')])(
    'answers %p 503 temporarily_unavailable with Retry-After, and no internal detail',
    async (error) => {
      const res = await request(throwing(error)).get('/');
      expect({ status: res.status, error: res.body.error, retryAfter: res.headers['retry-after'] }).toEqual({
        status: 503,
        error: 'temporarily_unavailable',
        retryAfter: '1',
      });
      expect(JSON.stringify(res.body)).not.toContain('postgres');
    },
  );

  it('gives every error class a stable code', () => {
    expect(new StoreUnavailableError('x').code).toBe('store_unavailable');
    expect(new TokenRejectedError('why').code).toBe('token_rejected');
    expect(new TokenRejectedError('why').reason).toBe('why');
  });
});
