import { DpopProofRejectedError, TokenRejectedError } from '../errors.js';
import type { SessionStore } from '../store/types.js';
import { accessTokenHash, proofId, replayExpiresAt, verifyDpopProof, type VerifiedDpopProof } from '../tokens/dpop.js';
import type { AccessClaims } from '../tokens/policy.js';

/** A DPoP proof as it came with a request, and the request it must describe. */
export interface ProofPresentation {
  /** The `DPoP` header, or `undefined` when the request had none. */
  readonly proof: string | undefined;
  /** The request's method. */
  readonly htm: string;
  /** The URLs the request may have been addressed to (see `http/dpop.ts`). */
  readonly htu: readonly string[];
}

/** What a protected request presents: the scheme and token of its `Authorization` header, and its proof. */
export interface Credentials extends ProofPresentation {
  /** `Bearer` (RFC 6750) or `DPoP` (RFC 9449 §7.1). */
  readonly scheme: 'Bearer' | 'DPoP';
  /** The sealed access token. */
  readonly token: string;
}

/**
 * The DPoP step of the session life cycle (RFC 9449): verifies proofs with the pure
 * `verifyDpopProof`, and spends each proof's `jti` in the session store, so a proof is accepted
 * once on every instance sharing the store.
 */
export class ProofChecker {
  /**
   * @param store - Where proof ids are remembered (`rememberProofId`).
   * @param clock - The server's clock, epoch ms.
   * @param required - `DPOP_REQUIRED`: logins without a proof are refused.
   */
  constructor(
    private readonly store: Pick<SessionStore, 'rememberProofId'>,
    private readonly clock: () => number,
    private readonly required: boolean,
  ) {}

  /**
   * The proof of a login (no `ath`), spent: the key the session will be bound to, or `null` when the
   * request carries no proof and `DPOP_REQUIRED` is off.
   *
   * @throws {DpopProofRejectedError} for a bad or replayed proof, or none under `DPOP_REQUIRED`.
   */
  async atLogin(presentation: ProofPresentation): Promise<VerifiedDpopProof | null> {
    if (presentation.proof === undefined) {
      if (this.required) throw new DpopProofRejectedError('proof required (DPOP_REQUIRED)');
      return null;
    }
    return this.#verify(presentation);
  }

  /**
   * The proof of a refresh (no `ath`): a session bound to a key needs a proof by that key; any proof
   * sent is checked and spent, also for an unbound session (which stays unbound).
   *
   * @param boundTo - The thumbprint the refresh token's session is bound to, or `null`.
   * @throws {DpopProofRejectedError} for a bad or replayed proof, a proof by another key, or none
   * for a bound session.
   */
  async atRefresh(presentation: ProofPresentation, boundTo: string | null): Promise<void> {
    if (presentation.proof === undefined) {
      if (boundTo !== null) throw new DpopProofRejectedError('proof required for a bound session');
      return;
    }
    await this.#verify(presentation, undefined, boundTo ?? undefined);
  }

  /**
   * Checks that the token was presented as its binding demands: a bound token (`cnf.jkt`) only with
   * the `DPoP` scheme and a proof by that key for this request and this exact token (`ath`); an
   * unbound token only with `Bearer`.
   *
   * @throws {TokenRejectedError} when the scheme does not fit the token; {@link DpopProofRejectedError}
   * when the proof is missing, bad, replayed or by another key.
   */
  async forResource(credentials: Credentials, claims: AccessClaims): Promise<void> {
    const jkt = claims.cnf?.jkt;
    if (credentials.scheme === 'Bearer') {
      if (jkt !== undefined) throw new TokenRejectedError('DPoP-bound token sent as Bearer');
      return;
    }
    if (jkt === undefined) throw new TokenRejectedError('unbound token sent as DPoP');
    await this.#verify(credentials, accessTokenHash(credentials.token), jkt);
  }

  /** Verifies, checks the key when one is expected, then spends the `jti`: only a proof that passed everything is remembered. */
  async #verify(presentation: ProofPresentation, ath?: string, jkt?: string): Promise<VerifiedDpopProof> {
    const now = this.clock();
    const proof = await verifyDpopProof(presentation.proof, { htm: presentation.htm, htu: presentation.htu, ath, now });
    if (jkt !== undefined && proof.jkt !== jkt) throw new DpopProofRejectedError('proof key is not the key the token is bound to');
    if (!(await this.store.rememberProofId(proofId(proof), replayExpiresAt(proof), now))) throw new DpopProofRejectedError('jti replayed');
    return proof;
  }
}
