import { ERRORS, PROTECTED_ROUTE_STATUS } from '../../src/errors.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../src/users/password.js';
import { documentedOperations, SpecChecker } from './spec.js';

/** docs/openapi.yaml on its own: well formed, in step with the code's constants, and strict. */
const checker = new SpecChecker();
const { spec } = checker;
type Json = Record<string, unknown>;

/** The routes of CONTRACT.md's HTTP table, and its home page (`GET /`, section Operations). */
const CONTRACT_OPERATIONS = [
  'GET /',
  'GET /.well-known/jwks.json',
  'POST /auth/login',
  'POST /auth/refresh',
  'GET /auth/verify',
  'GET /api/me',
  'POST /auth/logout',
  'POST /auth/logout-all-devices',
  'GET /auth/sessions',
  'DELETE /auth/sessions/{id}',
  'POST /auth/password',
  'GET /healthz',
  'GET /readyz',
];

const component = (name: string) => checker.validator(`component ${name}`, { $ref: `#/components/schemas/${name}` });

/** The error codes a documented error response allows (its `error` `const` or `enum`). */
function codesOf(schema: Json | undefined): string[] {
  const parts = (schema?.allOf as Json[] | undefined) ?? [];
  return parts.flatMap((part) => {
    const error = (part.properties as Record<string, Json> | undefined)?.error;
    if (error?.const !== undefined) return [String(error.const)];
    return (error?.enum as string[] | undefined) ?? [];
  });
}

it('is OpenAPI 3.1 and documents exactly the routes of the contract', () => {
  expect(spec.openapi).toMatch(/^3\.1\.\d+$/);
  expect(documentedOperations(spec).sort()).toEqual([...CONTRACT_OPERATIONS].sort());
});

it('compiles every request, response and header schema with strict Ajv 2020-12', () => {
  expect(checker.compileAll()).toBeGreaterThan(50);
});

it('gives every operation a unique operationId, a summary and its security', () => {
  const ids = documentedOperations(spec).map((key) => checker.operation(key).operationId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const key of documentedOperations(spec)) expect(checker.operation(key).security).toBeDefined();
});

it('lists exactly the error codes of src/errors.ts in the Error schema', () => {
  const error = (spec.components.schemas.Error?.properties as Record<string, Json>).error as Json;
  expect([...(error.enum as string[])].sort()).toEqual(Object.keys(ERRORS).sort());
});

it('documents every error code under the status src/errors.ts gives it', () => {
  const mismatches: string[] = [];
  for (const key of documentedOperations(spec)) {
    for (const [status, ref] of Object.entries(checker.operation(key).responses)) {
      const codes = codesOf(checker.resolve(ref).content?.['application/json']?.schema);
      if (Number(status) >= 400 && codes.length === 0) mismatches.push(`${key} ${status}: names no error code`);
      for (const code of codes) {
        const onProtectedRoute = checker.operation(key).security?.some((scheme) => 'dpopJwe' in scheme) ?? false;
        const expected = [ERRORS[code as keyof typeof ERRORS]?.status, onProtectedRoute ? PROTECTED_ROUTE_STATUS[code as keyof typeof ERRORS] : undefined];
        if (!expected.includes(Number(status))) mismatches.push(`${key} ${status}: ${code} is ${expected.filter(Boolean).join(' or ')} in src/errors.ts`);
      }
    }
  }
  expect(mismatches).toEqual([]);
});

it('documents the password limits of src/users/password.ts', () => {
  const change = spec.components.schemas.PasswordChange?.properties as Record<string, Json>;
  const loginPassword = (spec.components.schemas.LoginRequest?.properties as Record<string, Json>).password as Json;
  expect(change.new_password).toMatchObject({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH });
  expect(change.current_password).toMatchObject({ maxLength: MAX_PASSWORD_LENGTH });
  expect(loginPassword).toMatchObject({ maxLength: MAX_PASSWORD_LENGTH });
});

describe('the response schemas refuse regressions', () => {
  const token = {
    access_token: 'eyJhbGciOiJFQ0RILUVTIn0..aXY.Y2lwaGVy.dGFn',
    token_type: 'Bearer',
    expires_in: 900,
    session_id: '0b6f5f6e-3c1d-4a8e-9d2b-6f1e2a3b4c5d',
    refresh_expires_in: 604800,
  };
  const sigKey = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), kid: 'K'.repeat(43), use: 'sig', alg: 'EdDSA' };
  const encKey = { kty: 'OKP', crv: 'X25519', x: 'B'.repeat(43), kid: 'L'.repeat(43), use: 'enc', alg: 'ECDH-ES' };
  const session = { id: token.session_id, created_at: '2025-01-01T00:00:00.000Z', last_used_at: '2025-01-01T00:00:00.000Z', user_agent: null, current: true };

  it('accepts the well-formed samples', () => {
    expect(component('TokenResponse')(token)).toBe(true);
    expect(component('TokenResponse')({ ...token, refresh_token: 'r'.repeat(43) })).toBe(true);
    expect(component('Jwks')({ keys: [sigKey, encKey] })).toBe(true);
    expect(component('SessionList')({ sessions: [session] })).toBe(true);
    expect(component('Error')({ error: 'invalid_token', error_description: 'The access token is invalid' })).toBe(true);
  });

  it.each<[string, string, unknown]>([
    ['TokenResponse', 'an extra member', { ...token, id_token: 'x' }],
    ['TokenResponse', 'a missing session_id', { ...token, session_id: undefined }],
    ['TokenResponse', 'a JWS instead of a JWE', { ...token, access_token: 'aaa.bbb.ccc' }],
    ['TokenResponse', 'a lower-case token_type', { ...token, token_type: 'bearer' }],
    ['TokenResponse', 'a malformed refresh token', { ...token, refresh_token: 'short' }],
    ['Jwks', 'a private member', { keys: [{ ...sigKey, d: 'secret' }, encKey] }],
    ['Jwks', 'a key without kid', { keys: [{ ...sigKey, kid: undefined }, encKey] }],
    ['Jwks', 'a signing key with an encryption alg', { keys: [{ ...sigKey, alg: 'ECDH-ES' }, encKey] }],
    ['Jwks', 'a lone key', { keys: [sigKey] }],
    ['SessionList', 'a session with an extra member', { sessions: [{ ...session, epoch: 'x' }] }],
    ['SessionList', 'a session id that is not a uuid', { sessions: [{ ...session, id: 'abc' }] }],
    ['SessionList', 'a timestamp that is not a date-time', { sessions: [{ ...session, created_at: 1735689600000 }] }],
    ['VerifyResponse', 'an inactive token', { active: false }],
    ['MeResponse', 'a missing username', { sub: token.session_id, session_id: token.session_id }],
    ['Error', 'an unknown code', { error: 'oops', error_description: 'x' }],
    ['Error', 'a stack trace', { error: 'server_error', error_description: 'Error: boom\n    at handler (/srv/app.js:1:1)' }],
    ['Error', 'an extra member', { error: 'server_error', error_description: 'x', stack: 'at x' }],
  ])('%s refuses %s', (name, _what, sample) => {
    const clean = JSON.parse(JSON.stringify(sample)) as unknown;
    expect(component(name)(clean)).toBe(false);
  });
});
