import { createHash, randomUUID, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { generateDetached } from '../../src/keys/node-keys.js';

/**
 * DPoP proofs (RFC 9449) as a client written from the contract makes them: jose and node:crypto
 * only, nothing from the server or the SDK. Every field can be overridden, so tests can make each
 * kind of bad proof.
 */

/** A proof key pair as a client holds it. */
export interface ProofKey {
  readonly alg: 'ES256' | 'EdDSA';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint of `publicJwk`: the `cnf.jkt` of tokens bound to this key. */
  readonly jkt: string;
}

/** Makes a proof key pair (`ES256` with P-256, or `EdDSA` with Ed25519). */
export async function makeProofKey(alg: ProofKey['alg'] = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

/** What a proof says; anything left out gets a sound default (a fresh `jti`, `iat` now). */
export interface ProofClaims {
  readonly htm: string;
  readonly htu: string;
  /** The sealed token the proof goes with: sets `ath`. */
  readonly token?: string;
  /** Seconds; default: now. */
  readonly iat?: number;
  readonly jti?: string;
  /** Extra or replaced claims; `undefined` removes one. */
  readonly claims?: Record<string, unknown>;
  /** Extra or replaced header members; `undefined` removes one. */
  readonly header?: Record<string, unknown>;
}

/** base64url(SHA-256(token)): the `ath` of a token. */
export const athOf = (token: string): string => createHash('sha256').update(token).digest('base64url');

const json64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const withoutUndefined = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

function parts(key: { alg: string; publicJwk: JWK }, options: ProofClaims): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const header = withoutUndefined({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...options.header });
  const claims = withoutUndefined({
    htm: options.htm,
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    jti: options.jti ?? randomUUID(),
    ...(options.token === undefined ? {} : { ath: athOf(options.token) }),
    ...options.claims,
  });
  return { header, claims };
}

/** Signs a proof with `key` (a well-formed proof unless the options say otherwise). */
export async function makeProof(key: ProofKey, options: ProofClaims): Promise<string> {
  const { header, claims } = parts(key, options);
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** A proof with `alg: none` and an empty signature. */
export function unsignedProof(key: ProofKey, options: ProofClaims): string {
  const { header, claims } = parts(key, { ...options, header: { alg: 'none', ...options.header } });
  return `${json64(header)}.${json64(claims)}.`;
}

/** A proof MACed with HS256 under a secret the attacker chose, its `jwk` an `oct` key. */
export async function symmetricProof(options: ProofClaims): Promise<string> {
  const secret = new TextEncoder().encode('attacker-chosen secret of 32 bytes!');
  const jwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url') };
  const { header, claims } = parts({ alg: 'HS256', publicJwk: jwk }, options);
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(secret);
}

/** A proof signed RS256 with an RSA key of `bits` bits (RSA is not an allowed proof key at all). */
export function rsaProof(bits: number, options: ProofClaims): string {
  const { privateKey, publicJwk } = generateDetached('rsa', { modulusLength: bits });
  const jwk = publicJwk as JWK;
  const { header, claims } = parts({ alg: 'RS256', publicJwk: jwk }, options);
  return signWith(privateKey, header, claims);
}

function signWith(privateKey: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${json64(header)}.${json64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}
