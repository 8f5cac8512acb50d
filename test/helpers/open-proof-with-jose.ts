import { importJWK, jwtVerify, type JWSHeaderParameters } from 'jose';
import { DpopProofRejectedError } from '../../src/errors.js';
import { jwkThumbprint } from '../../src/keys/server-key.js';
import { proofJwk, type OpenedProof } from '../../src/tokens/dpop.js';
import { DPOP_POLICY } from '../../src/tokens/policy.js';

/**
 * The JOSE layer of a DPoP proof opened with jose's `jwtVerify` (the key resolved by the policy's
 * `proofJwk`, then imported with jose's `importJWK`): what the server's node:crypto `openProof`
 * replaced, kept here as the reference `test/tokens/dpop-native.test.ts` holds it to. jose's errors
 * become `TokenRejectedError`-like reasons `verify: <code>`; the policy's refusals pass through.
 *
 * @returns The claims and the thumbprint, or the reason the proof is refused.
 */
export async function openProofWithJose(proof: string, now: number): Promise<OpenedProof | { refused: string }> {
  let jkt = '';
  try {
    const { payload } = await jwtVerify(
      proof,
      async (header: JWSHeaderParameters) => {
        const jwk = proofJwk(header);
        jkt = jwkThumbprint(jwk);
        try {
          return await importJWK(jwk, header.alg);
        } catch {
          throw new DpopProofRejectedError('jwk does not import');
        }
      },
      { algorithms: Object.keys(DPOP_POLICY.keys), typ: DPOP_POLICY.proofType, requiredClaims: DPOP_POLICY.requiredClaims, currentDate: new Date(now) },
    );
    return { payload: payload as Record<string, unknown>, jkt };
  } catch (error) {
    if (error instanceof DpopProofRejectedError) return { refused: error.reason };
    return { refused: `verify: ${String((error as { code?: unknown }).code)}` };
  }
}
