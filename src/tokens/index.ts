export { acceptAccessToken, acceptWithJose, type AcceptOptions } from './accept.js';
export { issueAccessToken, type IssueInput, type IssuedToken } from './issue.js';
export { parseClientKey, importStoredClientKey, CLIENT_KEY_POLICY, type ClientKey } from './client-key.js';
export { ACCEPT_POLICY, DPOP_POLICY, DPOP_ALGORITHMS, type AccessClaims } from './policy.js';
export { newRefreshToken, hashRefreshToken } from './refresh.js';
export { verifyDpopProof, accessTokenHash, normalizeHtu, proofId, replayExpiresAt, type DpopRequest, type VerifiedDpopProof } from './dpop.js';
