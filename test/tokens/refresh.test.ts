import { createHash } from 'node:crypto';
import { hashRefreshToken, newRefreshToken } from '../../src/tokens/refresh.js';

describe('refresh tokens', () => {
  it('are 43 base64url characters of fresh randomness, stored as their SHA-256', () => {
    const one = newRefreshToken();
    const two = newRefreshToken();
    expect(one.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(one.token, 'base64url')).toHaveLength(32);
    expect(one.token).not.toBe(two.token);
    expect(one.hash).toBe(createHash('sha256').update(one.token).digest('hex'));
    expect(hashRefreshToken(one.token)).toBe(one.hash);
  });

  it.each(['', 'A'.repeat(42), 'A'.repeat(44), `${'A'.repeat(42)}=`, `${'A'.repeat(42)}+`, ` ${'A'.repeat(42)}`, `${'A'.repeat(43)}\n`])(
    'have no hash for text that cannot be one: %j',
    (text) => {
      expect(hashRefreshToken(text)).toBeNull();
    },
  );
});
