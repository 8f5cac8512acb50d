import fc from 'fast-check';
import { base64url } from '../helpers/forge.js';

/** One fuzz case: the text presented as a token and the mutation that made it (for the figures). */
export interface FuzzCase {
  readonly mutation: string;
  readonly token: string;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Characters that are near a base64url alphabet without being in it, or that parsers treat specially. */
const ODD_CHARACTERS = ['+', '/', '=', ' ', '\t', '\n', '\r\n', '.', '%', '\\', '"', '\u00e9', '\u0000', '\u00ff', '\u2028', '🔑'];
/** JWE and JWS header members a sender might use to point the server at a key, or change how it opens the token. */
export const INJECTED_MEMBERS = ['zip', 'jku', 'jwk', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit', 'p2s', 'p2c', 'b64', 'iv', 'tag', 'url', 'nonce'];
const ALGORITHMS = ['none', 'dir', 'RSA1_5', 'RSA-OAEP', 'RSA-OAEP-256', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW', 'A256KW', 'A256GCMKW', 'PBES2-HS256+A128KW', 'HS256', 'ES256', 'EdDSA', 'PS256', '', 'ecdh-es'];
const CONTENT_ENCRYPTIONS = ['A128GCM', 'A192GCM', 'A256CBC-HS512', 'A128CBC-HS256', 'none', '', 'a256gcm', 'A256GCM '];

const text = (bytes: string) => Buffer.from(bytes, 'base64url').toString('latin1');
const segmentsOf = (token: string) => token.split('.');

/** The JSON object a base64url segment holds, or `undefined` when it holds none. */
export function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A value of some JSON type, favouring the ones that confuse type checks. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, '', 'A', [], {}, ['a'], { kty: 'oct', k: 'AAAA' }),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Replaces segment `index` of a compact token. */
function withSegment(token: string, index: number, replace: (segment: string) => string): string {
  const segments = segmentsOf(token);
  const at = index % segments.length;
  segments[at] = replace(segments[at] as string);
  return segments.join('.');
}

/** Edits the JSON object in segment 0 (the protected header) and encodes it again. */
function withHeader(token: string, edit: (header: Record<string, unknown>) => void): string {
  return withSegment(token, 0, (segment) => {
    const header = decodeSegment(segment) ?? {};
    edit(header);
    return base64url(JSON.stringify(header));
  });
}

/**
 * The same bytes under another spelling: the last character of a segment whose length leaves
 * unused low bits, with some of those bits set. A lenient decoder reads the original bytes.
 */
function nonCanonical(segment: string, salt: number): string {
  const unusedBits = { 2: 4, 3: 2 }[segment.length % 4 as 2 | 3];
  if (!unusedBits || segment.length === 0) return `${segment}A`;
  const last = B64URL.indexOf(segment.at(-1) as string);
  const noise = 1 + (salt % ((1 << unusedBits) - 1));
  return segment.slice(0, -1) + B64URL[(last & ~((1 << unusedBits) - 1)) | noise];
}

/**
 * Mutations of a compact token (JWE or JWS), each from one valid token, so every case is a near
 * miss of something the server accepts.
 */
export function mutationsOf(valid: string): fc.Arbitrary<FuzzCase>[] {
  const position = fc.nat({ max: valid.length - 1 });
  const segment = fc.nat({ max: 9 });
  const as = (mutation: string) => (token: string): FuzzCase => ({ mutation, token });
  const changed = (c: FuzzCase) => c.token !== valid;
  const all: fc.Arbitrary<FuzzCase>[] = [
    fc
      .array(fc.tuple(position, fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 })
      .map((flips) => {
        const chars = [...valid];
        for (const [at, bit] of flips) chars[at] = String.fromCharCode((chars[at] as string).charCodeAt(0) ^ (1 << bit));
        return chars.join('');
      })
      .map(as('bit flips')),
    fc
      .tuple(position, fc.constantFrom(...B64URL))
      .map(([at, char]) => valid.slice(0, at) + char + valid.slice(at + 1))
      .map(as('character replaced')),
    fc.tuple(position, fc.constantFrom(...ODD_CHARACTERS), fc.boolean()).map(([at, char, insert]) => valid.slice(0, at) + char + valid.slice(insert ? at : at + 1)).map(as('odd character')),
    fc.tuple(segment, fc.nat()).map(([index, salt]) => withSegment(valid, index, (s) => nonCanonical(s, salt))).map(as('non-canonical base64url')),
    fc.tuple(segment, fc.constantFrom('=', '==', '===')).map(([index, padding]) => withSegment(valid, index, (s) => s + padding)).map(as('base64 padding')),
    segment.map((index) => withSegment(valid, index, (s) => Buffer.from(s, 'base64url').toString('base64'))).map(as('standard base64 alphabet')),
    fc.tuple(segment, segment).map(([a, b]) => {
      const segments = segmentsOf(valid);
      const [i, j] = [a % segments.length, b % segments.length];
      [segments[i], segments[j]] = [segments[j] as string, segments[i] as string];
      return segments.join('.');
    }).map(as('segments swapped')),
    fc.tuple(segment, fc.constantFrom('drop', 'duplicate', 'empty', 'reverse')).map(([index, how]) => {
      const segments = segmentsOf(valid);
      const at = index % segments.length;
      if (how === 'drop') segments.splice(at, 1);
      else if (how === 'duplicate') segments.splice(at, 0, segments[at] as string);
      else if (how === 'empty') segments[at] = '';
      else segments[at] = [...(segments[at] as string)].reverse().join('');
      return segments.join('.');
    }).map(as('segment edited')),
    fc.base64String({ maxLength: 64 }).map((extra) => `${valid}.${extra.replace(/=/g, '')}`).map(as('extra segment')),
    fc.nat({ max: valid.length - 1 }).map((length) => valid.slice(0, length)).map(as('truncated')),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((tail) => valid + tail).map(as('extended')),
    fc.constantFrom(...INJECTED_MEMBERS).chain((name) => oddValue.map((value) => withHeader(valid, (h) => void (h[name] = value)))).map(as('header member injected')),
    fc.tuple(fc.constantFrom('alg', 'enc', 'kid', 'cty', 'typ', 'epk'), fc.oneof(fc.constantFrom(...ALGORITHMS, ...CONTENT_ENCRYPTIONS), oddValue)).map(([name, value]) => withHeader(valid, (h) => void (h[name] = value))).map(as('header member changed')),
    fc.constantFrom('alg', 'enc', 'kid', 'cty', 'typ', 'epk').map((name) => withHeader(valid, (h) => void delete h[name])).map(as('header member removed')),
    fc.jsonValue({ maxDepth: 2 }).map((value) => withSegment(valid, 0, () => base64url(JSON.stringify(value) ?? ''))).map(as('header replaced')),
    fc.constantFrom('alg', 'enc', 'cty', 'kid').map((name) => withSegment(valid, 0, (s) => base64url(`${text(s).slice(0, -1)},"${name}":"dir"}`))).map(as('duplicate header member')),
  ];
  // A mutation that happens to give the token back (a swap of a segment with itself) is no case.
  return all.map((arbitrary) => arbitrary.filter(changed));
}

/** Length extremes around the server's limit, and far past it, with the valid token as the prefix. */
export function lengthExtremes(valid: string, maxLength: number): fc.Arbitrary<FuzzCase> {
  return fc
    .oneof(fc.constantFrom(maxLength - 1, maxLength, maxLength + 1, 4 * maxLength), fc.integer({ min: valid.length + 1, max: 2 * maxLength }))
    .map((length) => {
      const [header, key, iv, ciphertext, tag] = segmentsOf(valid);
      const pad = Math.max(1, length - valid.length);
      return { mutation: 'length extreme', token: [header, key, iv, `${ciphertext}${'A'.repeat(pad)}`, tag].join('.') };
    });
}

/** Shapes that are not one compact JWE holding one compact JWS: JSON serialisations and bare encodings. */
export function otherSerialisations(valid: string, innerJws: string): FuzzCase[] {
  const [header, encryptedKey, iv, ciphertext, tag] = segmentsOf(valid);
  const flattened = { protected: header, encrypted_key: encryptedKey, iv, ciphertext, tag };
  const general = { protected: header, recipients: [{ encrypted_key: encryptedKey }], iv, ciphertext, tag };
  const [jwsHeader, payload, signature] = segmentsOf(innerJws);
  return [
    { mutation: 'JSON serialisation', token: JSON.stringify(flattened) },
    { mutation: 'JSON serialisation', token: JSON.stringify(general) },
    { mutation: 'JSON serialisation', token: base64url(JSON.stringify(flattened)) },
    { mutation: 'JSON serialisation', token: JSON.stringify({ protected: jwsHeader, payload, signature }) },
    { mutation: 'bare JWS', token: innerJws },
    { mutation: 'bare JWS', token: `${innerJws}..` },
    { mutation: 'nested encoding', token: base64url(valid) },
    { mutation: 'nested encoding', token: encodeURIComponent(valid.replace(/-/g, '+')) },
    { mutation: 'length extreme', token: '' },
    { mutation: 'length extreme', token: '....' },
    { mutation: 'length extreme', token: '.'.repeat(100_000) },
  ];
}
