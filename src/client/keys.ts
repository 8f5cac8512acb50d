import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { generateProofKey, type ProofKeyPair } from './dpop.js';

/**
 * The client key kinds the server accepts, with the JWE key management algorithm it encrypts
 * access tokens with for each (see the contract).
 *
 * @example CLIENT_KEY_KINDS.p256.alg; // 'ECDH-ES+A256KW'
 */
export const CLIENT_KEY_KINDS = Object.freeze({
  x25519: { alg: 'ECDH-ES', options: { crv: 'X25519' } },
  p256: { alg: 'ECDH-ES+A256KW', options: { crv: 'P-256' } },
  rsa: { alg: 'RSA-OAEP-256', options: { modulusLength: 2048 } },
} as const);

/**
 * `x25519` (the default), `p256` or `rsa`.
 *
 * @example const kind: ClientKeyKind = 'p256';
 */
export type ClientKeyKind = keyof typeof CLIENT_KEY_KINDS;

/**
 * A client key pair. The private key never leaves the client; the server only ever sees
 * `publicJwk`, and encrypts access tokens to it with `kid` set to its RFC 7638 thumbprint.
 *
 * @example const { publicJwk, kid }: ClientKeyPair = await generateClientKey();
 */
export interface ClientKeyPair {
  readonly kind: ClientKeyKind;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 (SHA-256) thumbprint of `publicJwk`. */
  readonly kid: string;
  /** The DPoP proof key (RFC 9449) kept beside the client key, when the client uses DPoP. */
  readonly proofKey?: ProofKeyPair;
}

/**
 * Where a client keeps its key pair between runs. `load` answers `null` when nothing is stored;
 * `save` replaces what is stored; `clear` forgets it (idempotent).
 *
 * @example
 * const store: KeyStore = new MemoryKeyStore();
 * await store.save(await generateClientKey('x25519'));
 * const pair = await store.load();
 */
export interface KeyStore {
  /**
   * Whether `save` needs an extractable private key (to write it somewhere as a JWK). Stores that
   * keep the `CryptoKey` object itself say `false`, and their keys are made non-extractable.
   */
  readonly needsExtractableKeys: boolean;
  /** The stored key pair, or `null` when nothing is stored. */
  load(): Promise<ClientKeyPair | null>;
  /** Replaces what is stored with `pair`. */
  save(pair: ClientKeyPair): Promise<void>;
  /** Forgets the stored key pair; idempotent. */
  clear(): Promise<void>;
}

/**
 * Whether a value names a {@link ClientKeyKind}.
 *
 * @example const kind = isClientKeyKind(input) ? input : 'x25519';
 */
export function isClientKeyKind(value: unknown): value is ClientKeyKind {
  return typeof value === 'string' && Object.hasOwn(CLIENT_KEY_KINDS, value);
}

/**
 * Generates a client key pair with WebCrypto (through jose). The private key is non-extractable
 * unless asked otherwise.
 *
 * @param kind - `x25519` (default), `p256` or `rsa` (2048 bits).
 * @param options.extractable - Make the private key exportable (a file-backed store needs it).
 * @example const pair = await generateClientKey('p256');
 */
export async function generateClientKey(kind: ClientKeyKind = 'x25519', options: { extractable?: boolean } = {}): Promise<ClientKeyPair> {
  const spec = CLIENT_KEY_KINDS[kind];
  const { privateKey, publicKey } = await generateKeyPair(spec.alg, { ...spec.options, extractable: options.extractable ?? false });
  return withPublicParts(kind, privateKey, await exportJWK(publicKey));
}

/**
 * Completes a key pair from its private key and public JWK: keeps only the public members the
 * server needs and computes the thumbprint.
 *
 * @example const pair = await withPublicParts('x25519', privateKey, await exportJWK(publicKey));
 */
export async function withPublicParts(kind: ClientKeyKind, privateKey: CryptoKey, jwk: JWK): Promise<ClientKeyPair> {
  const members = jwk.kty === 'RSA' ? ['kty', 'n', 'e'] : jwk.kty === 'EC' ? ['kty', 'crv', 'x', 'y'] : ['kty', 'crv', 'x'];
  const publicJwk = Object.fromEntries(members.map((name) => [name, (jwk as Record<string, unknown>)[name]])) as JWK;
  return { kind, privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

/**
 * Loads the stored key pair of a kind, or generates and stores a new one. With `dpop` the pair also
 * holds a DPoP proof key (generated and stored beside it when missing). What is returned is read
 * back from the store, so a file-backed store hands out keys it imported non-extractable.
 *
 * @param options.dpop - Make sure the pair has a proof key.
 * @example const pair = await loadOrCreateClientKey(new MemoryKeyStore(), 'x25519', { dpop: true });
 */
export async function loadOrCreateClientKey(store: KeyStore, kind: ClientKeyKind, options: { dpop?: boolean } = {}): Promise<ClientKeyPair> {
  const stored = await store.load();
  if (stored && stored.kind === kind && (stored.proofKey !== undefined || !options.dpop)) return stored;
  const extractable = store.needsExtractableKeys;
  const pair = stored && stored.kind === kind ? stored : await generateClientKey(kind, { extractable });
  await store.save(options.dpop ? { ...pair, proofKey: await generateProofKey({ extractable }) } : pair);
  return (await store.load()) ?? pair;
}

/**
 * A {@link KeyStore} that lives as long as the object: nothing survives a restart. The default of
 * {@link AuthClient} outside browsers.
 *
 * @example const client = new AuthClient({ baseUrl, keyStore: new MemoryKeyStore() });
 */
export class MemoryKeyStore implements KeyStore {
  readonly needsExtractableKeys = false;
  #pair: ClientKeyPair | null = null;

  async load(): Promise<ClientKeyPair | null> {
    return this.#pair;
  }

  async save(pair: ClientKeyPair): Promise<void> {
    this.#pair = pair;
  }

  async clear(): Promise<void> {
    this.#pair = null;
  }
}
