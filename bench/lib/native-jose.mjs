/**
 * The client side of the bench's requests, made with node:crypto directly (jose goes through
 * WebCrypto, several times slower in Node 20, and the bench makes tens of thousands of these
 * outside the measured process): sealing a JWS to the server's X25519 key (JWE ECDH-ES + A256GCM,
 * RFC 7516/7518), DPoP proofs (RFC 9449) signed ES256, and the HS256/RS256 JWTs of the express-jwt peers.
 */
import { createCipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';

const b64 = (buffer) => Buffer.from(buffer).toString('base64url');

/*
 * Node 20 can deadlock when a KeyObject fresh from generateKeyPairSync is exported (to a JWK) while
 * the garbage collector frees the generation job that shares its lock: tens of thousands of
 * ephemeral keys made that way hung the bench. So no generated KeyObject is ever exported here.
 */

/** An ephemeral X25519 key from 32 random bytes (imported, not generated: as fast, and no generation job). */
function ephemeralX25519() {
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(randomBytes(32)), x: '' }, format: 'jwk' });
  return { privateKey, x: createPublicKey(privateKey).export({ format: 'jwk' }).x };
}

/** A key pair whose encodings the generator itself makes (the way for keys made once). */
function generateDer(type, options = {}) {
  const { publicKey, privateKey } = generateKeyPairSync(type, {
    ...options,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return { spki: publicKey, privateKey: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }) };
}
const json64 = (value) => b64(JSON.stringify(value));

/** RFC 7518 §4.6.2 Concat KDF for ECDH-ES direct key agreement producing an A256GCM key. */
function concatKdf(sharedSecret, enc) {
  const lengthPrefixed = (bytes) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const keyBits = Buffer.alloc(4);
  keyBits.writeUInt32BE(256);
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(enc)), lengthPrefixed(Buffer.alloc(0)), lengthPrefixed(Buffer.alloc(0)), keyBits]);
  return createHash('sha256').update(Buffer.from([0, 0, 0, 1])).update(sharedSecret).update(otherInfo).digest();
}

/**
 * A sealer for the server's encryption key (its `use: enc` JWK from the JWKS, OKP X25519,
 * `alg: ECDH-ES`): every call makes a fresh ephemeral key, so no two sealings are alike.
 */
export function sealerFor(serverJwk) {
  if (serverJwk.alg !== 'ECDH-ES' || serverJwk.crv !== 'X25519') {
    throw new Error(`the bench seals to X25519 ECDH-ES only (ENCRYPTION_KEY_TYPE=x25519), not ${serverJwk.alg} ${serverJwk.crv}`);
  }
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: serverJwk.x }, format: 'jwk' });
  return (plaintext) => {
    const ephemeral = ephemeralX25519();
    const header = json64({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', kid: serverJwk.kid, epk: { kty: 'OKP', crv: 'X25519', x: ephemeral.x } });
    const key = concatKdf(diffieHellman({ privateKey: ephemeral.privateKey, publicKey }), 'A256GCM');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(header, 'ascii'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${header}..${b64(iv)}.${b64(ciphertext)}.${b64(cipher.getAuthTag())}`;
  };
}

/** A DPoP proof key (P-256, ES256) with its public JWK, for the proofs' `jwk` header. */
export function makeProofKey() {
  const { spki, privateKey } = generateDer('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' });
  return { privateKey, jwk: { kty, crv, x, y } };
}

/** base64url(SHA-256(token)): the `ath` a proof carries for the sealed token it goes with. */
export const athOf = (token) => createHash('sha256').update(token, 'ascii').digest('base64url');

/** A fresh DPoP proof (new `jti`, `iat` now) for `htm` `htu`, with `ath` when `token` is given. */
export function makeProof(key, { htm, htu, token }) {
  const header = json64({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk });
  const claims = { htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...(token === undefined ? {} : { ath: athOf(token) }) };
  const input = `${header}.${json64(claims)}`;
  return `${input}.${b64(sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }))}`;
}

/** A compact JWT signed HS256 (with `secret` bytes) or RS256 (with an RSA private KeyObject). */
export function signJwt(alg, key, claims) {
  const input = `${json64({ alg, typ: 'JWT' })}.${json64(claims)}`;
  const signature = alg === 'HS256' ? createHmac('sha256', key).update(input).digest() : sign('sha256', Buffer.from(input), key);
  return `${input}.${b64(signature)}`;
}
