import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { compactDecrypt, type JWK } from 'jose';
import { loadConfig } from '../../src/config/index.js';
import { TokenRejectedError } from '../../src/errors.js';
import { ENCRYPTION_SPECS, SIGNING_SPECS, type KeySpec } from '../../src/keys/algorithms.js';
import { KeyManager } from '../../src/keys/manager.js';
import { toServerKey, type ServerKey } from '../../src/keys/server-key.js';
import { acceptAccessToken, acceptWithJose, decryptOptions } from '../../src/tokens/accept.js';
import { openSealed } from '../../src/tokens/accept-native.js';
import { parseClientKey } from '../../src/tokens/client-key.js';
import { sealTo } from '../helpers/forge.js';
import { describeWithVectors, headerOf, type VectorGroup, type VectorTest } from '../helpers/vectors.js';

/**
 * The C2SP Wycheproof JOSE vectors, run through the server's own key import (`toServerKey`) and
 * accept pipeline (`acceptAccessToken`, `decryptOptions`). A vector is in scope when the server can
 * be configured with its key and the token uses exactly the algorithms that configuration allows;
 * every other vector, valid or not, must be refused. docs/testing.md lists what is out of scope.
 */
const OPTIONS = { issuer: 'https://issuer.example', audience: 'vectors', accessTokenTtlMs: 900_000 };
/** The refusals jose raises after the signature verified: the payload `foo` is no JWT claims set. */
const SIGNATURE_PASSED = /^verify: ERR_JWT_(INVALID|CLAIM_VALIDATION_FAILED)$/;

let serverKeys: KeyManager;
beforeAll(async () => {
  serverKeys = await KeyManager.create(loadConfig({}));
});

/**
 * The server key spec a vector key could be configured as, if any (`ENCRYPTION_KEY_TYPE` or
 * `SIGNING_ALG`). The signature file binds a key to its declared `alg`, `use` and `key_ops` (its
 * `WrongPrimitive` and wrong-use vectors are invalid for that reason), so a signing key is only
 * taken as declared; the encryption file uses one key across algorithms, so there the kind decides.
 */
function specOf(jwk: JWK | undefined, specs: Readonly<Record<string, KeySpec>>, asDeclared: boolean): KeySpec | undefined {
  if (!jwk) return undefined;
  const nodeType = jwk.kty === 'EC' ? 'ec' : jwk.kty === 'RSA' ? 'rsa' : jwk.kty === 'OKP' ? String(jwk.crv).toLowerCase() : undefined;
  const spec = Object.values(specs).find((s) => s.nodeType === nodeType && (s.crv === undefined || s.crv === jwk.crv));
  if (!spec || !asDeclared) return spec;
  const declared = (jwk.alg ?? spec.alg) === spec.alg && (jwk.use ?? spec.use) === spec.use && (jwk.key_ops ?? ['verify']).includes('verify');
  return declared ? spec : undefined;
}

/** A group's private key imported as the server imports its own keys, or `undefined` when it cannot be one. */
async function serverKeyOf(group: VectorGroup, specs: Readonly<Record<string, KeySpec>>): Promise<ServerKey | undefined> {
  const spec = specOf(group.private, specs, specs === SIGNING_SPECS);
  if (!spec || !group.private?.d) return undefined;
  return toServerKey(createPrivateKey({ key: group.private as JsonWebKey, format: 'jwk' }), spec);
}

/** The server's key manager with one role's key replaced by a vector key, found under the vector's `kid`. */
function withKey(role: 'signing' | 'encryption', key: ServerKey, kid: string | undefined): KeyManager {
  return {
    signing: role === 'signing' ? key : serverKeys.signing,
    encryption: role === 'encryption' ? key : serverKeys.encryption,
    find: (wanted: string, wantedKid: string | undefined) => (wanted === role ? (wantedKid === kid ? key : undefined) : serverKeys.find(wanted as never, wantedKid)),
  } as unknown as KeyManager;
}

const tokenText = (token: VectorTest['jwe']) => (typeof token === 'string' ? token : JSON.stringify(token));
const name = (group: VectorGroup, test: VectorTest) => `${test.tcId} ${group.comment} ${test.comment} (${test.result})`;

/**
 * Why the pipeline refused a token: its reason, or a failure when it was accepted. The node:crypto
 * pipeline and jose's (its reference) must give the same reason.
 */
async function refusal(token: string, keys: KeyManager): Promise<string> {
  const [native, jose] = await Promise.all(
    [acceptAccessToken, acceptWithJose].map((accept) =>
      accept(token, keys, OPTIONS).then(
        () => new Error('accepted'),
        (e: unknown) => e as Error,
      ),
    ),
  );
  expect(native).toBeInstanceOf(TokenRejectedError);
  expect(native?.message).toBe(jose?.message);
  return (native as Error).message;
}

/** The native cryptography of a JWE whose header the pipeline let through, as hex, or the error. */
function openNatively(token: string, header: Record<string, unknown>, key: ServerKey): string | Error {
  try {
    return openSealed(token, header, key).toString('hex');
  } catch (error) {
    return error as Error;
  }
}

describeWithVectors('json_web_encryption_test.json', (groups) => {
  const accepted: number[] = [];
  const openedNatively: number[] = [];
  describe.each(groups.map((group) => [group.comment, group] as const))('group %s', (_comment, group) => {
    let key: ServerKey | undefined;
    beforeAll(async () => {
      key = await serverKeyOf(group, ENCRYPTION_SPECS);
    });

    it.each(group.tests.map((test) => [name(group, test), test] as const))('%s', async (_name, test) => {
      const token = tokenText(test.jwe);
      const header = headerOf(test.jwe);
      const inScope = key !== undefined && header?.alg === key.alg && header?.enc === 'A256GCM';
      // The whole pipeline refuses every vector: none is an access token (no `cty: JWT`, no JWS inside).
      await refusal(token, key ? withKey('encryption', key, header?.kid as string | undefined) : serverKeys);
      if (!key) return;
      // The decryption layer, with the pipeline's own options: in-scope valid vectors open, the rest fail.
      const opened = await compactDecrypt(token, key.privateKey, decryptOptions({ encryption: key })).then(
        ({ plaintext }) => Buffer.from(plaintext).toString('hex'),
        (error: unknown) => error as Error,
      );
      if (inScope && test.result === 'valid') {
        expect(opened).toBe(test.pt);
        accepted.push(test.tcId);
      } else {
        expect(opened).toBeInstanceOf(Error);
      }
      // The node:crypto layer on the same in-scope compact vectors: it opens what jose opens, to the
      // same bytes, and nothing else.
      if (inScope && typeof token === 'string' && token.split('.').length === 5 && header) {
        const native = openNatively(token, header as Record<string, unknown>, key);
        if (typeof opened === 'string') expect(native).toBe(opened);
        else expect(native).toBeInstanceOf(Error);
        if (typeof native === 'string') openedNatively.push(test.tcId);
      }
    });
  });

  it('opened some in-scope valid vectors (the suite is not vacuous)', () => {
    expect(accepted.length).toBeGreaterThan(0);
    expect(openedNatively).toEqual(accepted);
    if (process.env.JOSE_VECTORS_REPORT) process.stdout.write(`JWE vectors opened: ${accepted.join(' ')}\n`);
  });
});

describeWithVectors('json_web_signature_test.json', (groups) => {
  const accepted: number[] = [];
  describe.each(groups.map((group) => [group.comment, group] as const))('group %s', (_comment, group) => {
    let key: ServerKey | undefined;
    beforeAll(async () => {
      key = await serverKeyOf(group, SIGNING_SPECS);
    });

    it.each(group.tests.map((test) => [name(group, test), test] as const))('%s', async (_name, test) => {
      const header = headerOf(test.jws);
      const kid = (group.public ?? group.private)?.kid;
      const keys = key ? withKey('signing', key, kid) : serverKeys;
      // Sealed to the server as a bearer, so the JWS goes through the real pipeline down to jwtVerify.
      const reason = await refusal(await sealTo(tokenText(test.jws), serverKeys.encryption), keys);
      const inScope = key !== undefined && header?.alg === key.alg && test.result === 'valid';
      if (inScope && typeof test.jws === 'string' && test.jws.split('.')[1] === '') {
        // Valid JWS, but an access token always has claims: the shape rule refuses it before jose.
        expect(reason).toBe('plaintext is not a compact JWS');
      } else if (inScope) {
        expect(reason).toMatch(SIGNATURE_PASSED);
        accepted.push(test.tcId);
      } else {
        expect(reason).not.toMatch(SIGNATURE_PASSED);
      }
    });
  });

  it('verified the signature of some in-scope valid vectors (the suite is not vacuous)', () => {
    expect(accepted.length).toBeGreaterThan(0);
    if (process.env.JOSE_VECTORS_REPORT) process.stdout.write(`JWS vectors whose signature verified: ${accepted.join(' ')}\n`);
  });
});

describeWithVectors('json_web_key_test.json', (groups) => {
  describe.each(groups.map((group, index) => [`${index} ${group.comment}`, group] as const))('group %s', (_comment, group) => {
    const keySet = (group.public ?? group.private)?.keys ?? [];

    it.each(keySet.map((jwk) => [`${jwk.kid} (${jwk.kty} ${jwk.alg})`, jwk] as const))('refuses %s as a client key', async (_name, jwk) => {
      await expect(parseClientKey(jwk)).rejects.toMatchObject({ code: 'invalid_client_key' });
    });

    it.each(group.tests.map((test) => [name(group, test), test] as const))('refuses %s sealed to the server', async (_name, test) => {
      await refusal(await sealTo(tokenText(test.jws), serverKeys.encryption), serverKeys);
    });
  });
});
