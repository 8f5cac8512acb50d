/**
 * The client SDK: everything a browser or Node program needs to sign in to jwe-auth-server and call
 * its protected routes. Browser-safe (jose, WebCrypto, fetch and IndexedDB only); the Node-only
 * `FileKeyStore` lives in `client/node.ts`. Sessions are DPoP-bound (RFC 9449) by default.
 *
 * @example
 * import { AuthClient } from './client/index.js';
 * const client = new AuthClient();            // in a page served by the auth server
 * await client.login(username, password);
 * console.log((await client.me()).username);
 *
 * @packageDocumentation
 */
export { AuthClient } from './auth-client.js';
export type { AuthClientOptions, MeResponse, RefreshTransport, SessionInfo } from './types.js';
export { createDpopProof, DPOP_PROOF_ALG, generateProofKey, proofKeyPair, type ProofKeyPair, type ProofTarget } from './dpop.js';
export { AUTH_CLIENT_ERRORS, AuthClientError, errorFromResponse, type AuthClientErrorCode, type AuthClientErrorDetails } from './errors.js';
export { IndexedDbKeyStore, type IndexedDbKeyStoreOptions } from './indexeddb-key-store.js';
export { JwksCache } from './jwks.js';
export {
  CLIENT_KEY_KINDS,
  generateClientKey,
  isClientKeyKind,
  loadOrCreateClientKey,
  MemoryKeyStore,
  withPublicParts,
  type ClientKeyKind,
  type ClientKeyPair,
  type KeyStore,
} from './keys.js';
export {
  CLIENT_TOKEN_POLICY,
  openAccessToken,
  sealForServer,
  verifyInnerToken,
  type AccessTokenClaims,
  type ExpectedClaims,
  type VerifiedAccessToken,
} from './token.js';
