import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { JWK } from 'jose';
import { athOf, type ProofKey } from '../helpers/dpop.js';
import { base64url } from '../helpers/forge.js';
import { INJECTED_MEMBERS, oddValue, type FuzzCase } from './mutations.js';

/** The request a proof is made for: its method and URL, and the token whose `ath` it carries (resource requests). */
export interface ProofTarget {
  readonly htm: string;
  readonly htu: string;
  readonly token?: string;
}

/**
 * One way to break a proof that is otherwise made right for its target: header members and claims
 * set (`undefined` removes one), and who signs it. `foreign` signs with another key and puts that
 * key's `jwk` in the header, so the proof itself is sound but the key is not the session's.
 */
export interface ProofEdit {
  readonly mutation: string;
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  readonly jwk?: (jwk: JWK) => unknown;
  readonly signer?: 'own' | 'other key, own jwk' | 'foreign ES256' | 'foreign EdDSA';
}

/** The keys a case may be signed with: the session's, and two the server never saw. */
export interface ProofKeys {
  readonly own: ProofKey;
  readonly foreignEs256: ProofKey;
  readonly foreignEdDsa: ProofKey;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** Members no EC or OKP public key has, and that the proof policy does not allow. */
const FOREIGN_JWK_MEMBERS = ['n', 'e', 'x5c', 'x5u', 'x5t', 'jku', 'crit', 'foo', '__proto__'];
const OTHER_TYPS = ['jwt', 'JWT', 'at+jwt', 'dpop', 'dpop+jws', 'dpop-jwt', 'dpop+jwt+x', 'application/jwt', ''];
const OTHER_ALGS = ['none', 'HS256', 'RS256', 'PS256', 'ES384', 'ES512', 'ES256K', 'EdDSA', 'Ed25519', 'es256', 'ES256 ', ''];
const OTHER_METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'post', 'GET ', ' POST', ''];
const SPENT = 'a jti already spent';

/** Whether a `typ` value is the proof type to jose, which ignores case and an `application/` prefix. */
const isProofType = (value: unknown) => typeof value === 'string' && value.toLowerCase().replace(/^application\//, '') === 'dpop+jwt';

/**
 * URLs that are not the target's once normalised (RFC 9449 §4.3): another scheme, host, port, path,
 * path case, trailing slash, encoded slash, user information, or not an absolute http(s) URL. None
 * differs only in what normalisation removes (query, fragment, host case, default port).
 */
function otherUrls(htu: string): string[] {
  const url = new URL(htu);
  const path = url.pathname;
  return [
    `http://${url.host}${path}`,
    `wss://${url.host}${path}`,
    `${url.protocol}//evil.example${path}`,
    `${url.protocol}//${url.hostname}:8443${path}`,
    `${url.protocol}//${url.host}${path}/`,
    `${url.protocol}//${url.host}${path.toUpperCase()}`,
    `${url.protocol}//${url.host}${path}x`,
    `${url.protocol}//${url.host}${path.replace(/\/([^/]*)$/, '%2F$1')}`,
    `${url.protocol}//${url.host}/other${path}`,
    `${url.protocol}//${url.host}`,
    `${url.protocol}//user@${url.host}${path}`,
    `${url.protocol}//user:secret@${url.host}${path}`,
    `${url.host}${path}`,
    path,
    `//${url.host}${path}`,
    // Spellings a WHATWG URL parser strips or rewrites into the target URL: no URI has these characters.
    `${htu} `,
    ` ${htu}`,
    `${htu}\n`,
    `\t${htu}`,
    htu.replace('//', '//\t'),
    htu.replace(/\//g, '\\'),
    `${url.protocol}\\\\${url.host}${path}`,
    `javascript:${htu}`,
    'about:blank',
    '',
  ];
}

/**
 * Every way to break a sound proof for `target`, each a near miss: one header member, one claim,
 * the key or the signature wrong, with values of every JSON type. Times come from `nowSeconds`,
 * the server's (fake) clock.
 */
export function proofEdits(target: ProofTarget, nowSeconds: number): fc.Arbitrary<ProofEdit>[] {
  const resource = target.token !== undefined;
  const claimNames = ['htm', 'htu', 'iat', 'jti', ...(resource ? ['ath'] : [])];
  const ath = resource ? athOf(target.token as string) : undefined;
  const claim = (mutation: string, name: string) => (value: unknown): ProofEdit => ({ mutation, claims: { [name]: value } });
  const header = (mutation: string, name: string) => (value: unknown): ProofEdit => ({ mutation, header: { [name]: value } });
  const jwkEdit = (mutation: string, edit: (jwk: Record<string, unknown>) => void) => ({
    mutation,
    jwk: (jwk: JWK) => {
      const copy = JSON.parse(JSON.stringify(jwk)) as Record<string, unknown>;
      edit(copy);
      return copy;
    },
  });
  const edits: fc.Arbitrary<ProofEdit>[] = [
    // Claims
    fc.constantFrom(...claimNames).map((name): ProofEdit => ({ mutation: 'claim removed', claims: { [name]: undefined } })),
    fc.constantFrom(...OTHER_METHODS.filter((m) => m !== target.htm)).map(claim('htm wrong', 'htm')),
    oddValue.filter((v) => v !== target.htm).map(claim('htm of another type', 'htm')),
    fc.constantFrom(...otherUrls(target.htu)).map(claim('htu wrong', 'htu')),
    oddValue.filter((v) => typeof v !== 'string').map(claim('htu of another type', 'htu')),
    fc.oneof(fc.integer({ min: 61, max: 10 ** 9 }).map((s) => nowSeconds + 1 + s), fc.integer({ min: 61, max: nowSeconds }).map((s) => nowSeconds - s)).map(claim('iat outside the window', 'iat')),
    fc
      .oneof(oddValue, fc.constantFrom(String(nowSeconds), [nowSeconds], 1e308, -1e308, 0, -1, nowSeconds * 1000))
      .filter((v) => typeof v !== 'number' || Math.abs(v - nowSeconds) > 61)
      .map(claim('iat of another type or scale', 'iat')),
    fc.oneof(oddValue.filter((v) => typeof v !== 'string'), fc.constantFrom('', 'j'.repeat(257), 'j'.repeat(2000))).map(claim('jti malformed', 'jti')),
    fc.constant<ProofEdit>({ mutation: 'jti replayed', claims: { jti: SPENT } }),
    ...(resource
      ? [
          fc
            .constantFrom(
              athOf(`${target.token}x`),
              athOf(`Bearer ${target.token}`),
              createHash('sha256').update(target.token as string).digest('hex'),
              createHash('sha256').update(target.token as string).digest('base64'),
              createHash('sha384').update(target.token as string).digest('base64url'),
              base64url(target.token as string),
              target.token as string,
              `${ath}=`,
              (ath as string).slice(0, -1),
              '',
            )
            .map(claim('ath wrong', 'ath')),
          oddValue.filter((v) => v !== ath).map(claim('ath of another type', 'ath')),
        ]
      : []),
    // Header
    fc.oneof(fc.constantFrom(...OTHER_TYPS), oddValue).filter((v) => !isProofType(v)).map(header('typ wrong', 'typ')),
    fc.constant<ProofEdit>({ mutation: 'typ wrong', header: { typ: undefined } }),
    fc.oneof(fc.constantFrom(...OTHER_ALGS), oddValue).map(header('alg wrong', 'alg')),
    fc.constantFrom(...INJECTED_MEMBERS, 'kid', 'cty', 'enc', 'epk', 'typ2').chain((name) => oddValue.map(header('header member injected', name))),
    fc.oneof(fc.constant(undefined), oddValue).map(header('jwk replaced', 'jwk')),
    // The header's key
    fc.constantFrom(...PRIVATE_JWK_MEMBERS).chain((name) => fc.oneof(fc.base64String({ minLength: 4, maxLength: 44 }), oddValue).map((value) => jwkEdit('private jwk member', (jwk) => void (jwk[name] = value)))),
    fc.constantFrom(...FOREIGN_JWK_MEMBERS).chain((name) => oddValue.map((value) => jwkEdit('foreign jwk member', (jwk) => void Object.defineProperty(jwk, name, { value, enumerable: true })))),
    fc.oneof(fc.constantFrom('OKP', 'RSA', 'oct', 'ec', 'EC ', ''), oddValue).map((value) => jwkEdit('jwk kty wrong', (jwk) => void (jwk.kty = value))),
    fc.oneof(fc.constantFrom('P-384', 'P-521', 'secp256k1', 'Ed25519', 'X25519', 'p-256', 'P256', ''), oddValue).map((value) => jwkEdit('jwk crv wrong', (jwk) => void (jwk.crv = value))),
    fc.constantFrom('kty', 'crv', 'x', 'y').map((name) => jwkEdit('jwk member removed', (jwk) => void delete jwk[name])),
    fc
      .tuple(fc.constantFrom('x', 'y'), fc.constantFrom('truncated', 'extended', 'padded', 'standard alphabet', 'leading zero byte', 'swapped'))
      .map(([name, how]) =>
        jwkEdit('jwk coordinate malformed', (jwk) => {
          const value = jwk[name] as string;
          const bytes = Buffer.from(value, 'base64url');
          if (how === 'truncated') jwk[name] = bytes.subarray(1).toString('base64url');
          else if (how === 'extended') jwk[name] = Buffer.concat([bytes, Buffer.alloc(1)]).toString('base64url');
          else if (how === 'padded') jwk[name] = `${value}=`;
          else if (how === 'standard alphabet') jwk[name] = bytes.toString('base64').replace(/=+$/, '') + (/[+/]/.test(bytes.toString('base64')) ? '' : '+');
          else if (how === 'leading zero byte') jwk[name] = Buffer.concat([Buffer.alloc(1), bytes]).toString('base64url');
          else [jwk.x, jwk.y] = [jwk.y, jwk.x];
        }),
      ),
    oddValue.chain((value) => fc.constantFrom('x', 'y').map((name) => jwkEdit('jwk coordinate of another type', (jwk) => void (jwk[name] = value)))),
    // The signer
    fc.constantFrom<ProofEdit['signer']>('other key, own jwk', 'foreign ES256', 'foreign EdDSA').map((signer): ProofEdit => ({ mutation: `signed by ${signer}`, signer })),
  ];
  return edits;
}

/** The jti of the proof the suite spends before fuzzing, which every `jti replayed` case reuses. */
export const SPENT_JTI = SPENT;

/** Signs `header.claims` by hand (jose would refuse to sign some of these headers) with an ES256 or Ed25519 key. */
async function signByHand(header: Record<string, unknown>, claims: Record<string, unknown>, key: ProofKey): Promise<string> {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const algorithm = key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
  const signature = await crypto.subtle.sign(algorithm, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

const withoutUndefined = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

/**
 * A proof for `target` at `nowSeconds` with a fresh `jti`, broken as `edit` says (a sound proof for
 * the empty edit).
 */
export async function proofOf(target: ProofTarget, keys: ProofKeys, nowSeconds: number, edit: Omit<ProofEdit, 'mutation'> = {}): Promise<string> {
  const signer = edit.signer === 'foreign ES256' ? keys.foreignEs256 : edit.signer === 'foreign EdDSA' ? keys.foreignEdDsa : keys.own;
  const headerKey = edit.signer === 'foreign ES256' || edit.signer === 'foreign EdDSA' ? signer : keys.own;
  const signWith = edit.signer === 'other key, own jwk' ? keys.foreignEs256 : signer;
  const jwk = edit.jwk ? edit.jwk(headerKey.publicJwk) : headerKey.publicJwk;
  const header = withoutUndefined({ typ: 'dpop+jwt', alg: headerKey.alg, jwk, ...edit.header });
  const claims = withoutUndefined({
    htm: target.htm,
    htu: target.htu,
    iat: nowSeconds,
    jti: randomUUID(),
    ...(target.token === undefined ? {} : { ath: athOf(target.token) }),
    ...edit.claims,
  });
  return signByHand(header, claims, signWith);
}

/**
 * Length extremes of a proof around the server's limit and far past it: the signature segment
 * extended, so every one is refused (for its length or its signature).
 */
export function proofLengthExtremes(valid: string, maxLength: number): fc.Arbitrary<FuzzCase> {
  return fc
    .oneof(fc.constantFrom(maxLength - 1, maxLength, maxLength + 1, 2 * maxLength), fc.integer({ min: valid.length + 1, max: 2 * maxLength }))
    .map((length) => ({ mutation: 'length extreme', token: valid + 'A'.repeat(Math.max(1, length - valid.length)) }));
}
