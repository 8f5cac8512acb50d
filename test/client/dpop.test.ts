import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createDpopProof, generateProofKey } from '../../src/client/dpop.js';
import { accessTokenHash, verifyDpopProof } from '../../src/tokens/dpop.js';

describe('createDpopProof', () => {
  it('makes a proof the server accepts: htu without query or fragment, ath of the exact token, iat from the clock given', async () => {
    const key = await generateProofKey();
    const now = Date.UTC(2030, 0, 1);
    const proof = await createDpopProof(key, { method: 'delete', url: 'https://auth.example/auth/sessions/1?x=y#z', accessToken: 'sealed', now });
    expect(decodeProtectedHeader(proof)).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk });
    expect(decodeJwt(proof)).toMatchObject({ htm: 'DELETE', htu: 'https://auth.example/auth/sessions/1', iat: now / 1000, ath: accessTokenHash('sealed') });
    const verified = await verifyDpopProof(proof, { htm: 'DELETE', htu: 'https://auth.example/auth/sessions/1', ath: accessTokenHash('sealed'), now });
    expect(verified.jkt).toBe(key.jkt);
  });

  it('upper-cases the methods fetch upper-cases, and keeps any other as written', async () => {
    const key = await generateProofKey();
    const htmOf = async (method: string) => decodeJwt(await createDpopProof(key, { method, url: 'https://auth.example/x' })).htm;
    expect(await htmOf('delete')).toBe('DELETE');
    expect(await htmOf('post')).toBe('POST');
    expect(await htmOf('patch')).toBe('patch');
    expect(await htmOf('PATCH')).toBe('PATCH');
  });

  it('gives every proof its own jti, and no ath without a token', async () => {
    const key = await generateProofKey();
    const target = { method: 'POST', url: 'https://auth.example/auth/refresh' };
    const [one, two] = await Promise.all([createDpopProof(key, target), createDpopProof(key, target)]);
    expect(decodeJwt(one as string).jti).not.toBe(decodeJwt(two as string).jti);
    expect(decodeJwt(one as string)).not.toHaveProperty('ath');
  });

  it('generates a non-extractable P-256 key with public members only in its JWK', async () => {
    const key = await generateProofKey();
    expect(key.privateKey.extractable).toBe(false);
    expect(key.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
  });
});
