import fc from 'fast-check';
import { oddValue } from './mutations.js';

/** What a valid access token says: the server's `iss`/`aud`, the lifetime and the clock skew it allows. */
export interface ClaimsPolicy {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  readonly toleranceSeconds: number;
}

const now = () => Math.floor(Date.now() / 1000);
const notA = (type: 'string' | 'number') => oddValue.filter((value) => typeof value !== type);

/**
 * One way to break one claim, so that a token signed by the server's own key is still refused by
 * the accept pipeline. Only changes the pipeline itself must refuse: a different `sub` or `sid`
 * string is a question for the session layer, and `aud: [audience, ...]` is a valid audience.
 */
function breakers(policy: ClaimsPolicy): fc.Arbitrary<[string, unknown]>[] {
  const slack = policy.toleranceSeconds + 2;
  const ttl = policy.ttlSeconds;
  const otherString = (except: string) => fc.string({ maxLength: 24 }).filter((value) => value !== except);
  return [
    fc.constantFrom('iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'sid').map((name): [string, unknown] => [name, undefined]),
    fc.constantFrom('sub', 'sid', 'jti').chain((name) => notA('string').map((value): [string, unknown] => [name, value])),
    fc.constantFrom('iat', 'exp', 'nbf').chain((name) => notA('number').map((value): [string, unknown] => [name, value])),
    fc.oneof(otherString(policy.issuer), notA('string')).map((value): [string, unknown] => ['iss', value]),
    fc
      .oneof(otherString(policy.audience), fc.array(otherString(policy.audience), { maxLength: 3 }), fc.constantFrom(null, 42, {}))
      .map((value): [string, unknown] => ['aud', value]),
    // Times are read when a case is made (fast-check makes each just before it runs), not once.
    fc.integer({ min: -10 * ttl, max: -slack }).map((offset): [string, unknown] => ['exp', now() + offset]),
    fc.integer({ min: slack, max: 10 * ttl }).map((offset): [string, unknown] => ['iat', now() + offset]),
    fc.integer({ min: -100 * ttl, max: -ttl - slack }).map((offset): [string, unknown] => ['iat', now() + offset]),
    fc.integer({ min: slack, max: ttl }).map((offset): [string, unknown] => ['nbf', now() + offset]),
  ];
}

/**
 * Claims of a valid token (made fresh per case) with one to three claims broken (a broken claim set to `undefined` is
 * removed), for tokens the server's own key signs. Breakers are applied in order, so a later one
 * can only break a claim again, never repair an earlier one.
 */
export function brokenClaims(valid: () => Record<string, unknown>, policy: ClaimsPolicy): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(fc.oneof(...breakers(policy)), { minLength: 1, maxLength: 3 }).map((changes) => {
    const claims = valid();
    for (const [name, value] of changes) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    return claims;
  });
}

/** Inner JWS header changes the pipeline must refuse even under the server's own signature. */
export function brokenInnerHeader(signingKid: string): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    fc.constantFrom('JWT', 'jwt', 'at+jwt ', '', 'dpop+jwt', 'application/jwt').map((typ) => ({ typ })),
    notA('string').map((typ) => ({ typ })),
    fc.constant({ typ: undefined }),
    fc.string({ maxLength: 43 }).filter((kid) => kid !== signingKid).map((kid) => ({ kid })),
    fc.constant({ kid: undefined }),
    fc.constant({ crit: ['exp'] }),
    fc.constant({ crit: ['x-private'], 'x-private': true }),
    fc.constant({ b64: false, crit: ['b64'] }),
  );
}
