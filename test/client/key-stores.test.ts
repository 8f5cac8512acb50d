import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CompactEncrypt, importJWK } from 'jose';
import { generateClientKey, loadOrCreateClientKey, MemoryKeyStore, type ClientKeyKind } from '../../src/client/keys.js';
import { FileKeyStore } from '../../src/client/node.js';
import { openAccessToken } from '../../src/client/token.js';
import { tempDir } from '../helpers/runtime.js';

const KINDS: ClientKeyKind[] = ['x25519', 'p256', 'rsa'];

describe('FileKeyStore', () => {
  const temp = tempDir('jwe-auth-keys-');
  afterAll(() => temp.remove());

  it.each(KINDS)('writes a %s key file with mode 0600 and loads the same key and kid back', async (kind) => {
    const file = path.join(temp.dir, 'nested', `${kind}.json`);
    const store = new FileKeyStore(file);
    const created = await loadOrCreateClientKey(store, kind);
    if (process.platform !== 'win32') expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ kind, kid: created.kid });

    const reloaded = await loadOrCreateClientKey(new FileKeyStore(file), kind);
    expect(reloaded.kid).toBe(created.kid);
    expect(reloaded.publicJwk).toEqual(created.publicJwk);
    // The reloaded private key opens what was encrypted to the original public key.
    const alg = { x25519: 'ECDH-ES', p256: 'ECDH-ES+A256KW', rsa: 'RSA-OAEP-256' }[kind];
    const jwe = await new CompactEncrypt(new TextEncoder().encode('a.b.c'))
      .setProtectedHeader({ alg, enc: 'A256GCM', cty: 'JWT', kid: created.kid })
      .encrypt(await importJWK(created.publicJwk, alg));
    expect((await openAccessToken(jwe, reloaded)).jws).toBe('a.b.c');
  });

  it('keeps a DPoP proof key beside the client key, and loads it back non-extractable', async () => {
    const file = path.join(temp.dir, 'dpop.json');
    const created = await loadOrCreateClientKey(new FileKeyStore(file), 'x25519', { dpop: true });
    expect(created.proofKey?.privateKey.extractable).toBe(false);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ kid: created.kid, jkt: created.proofKey?.jkt, proofJwk: { kty: 'EC', crv: 'P-256' } });
    const reloaded = await loadOrCreateClientKey(new FileKeyStore(file), 'x25519', { dpop: true });
    expect(reloaded.proofKey?.jkt).toBe(created.proofKey?.jkt);
    expect(reloaded.proofKey?.privateKey.extractable).toBe(false);
    expect(reloaded.proofKey?.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
  });

  it('adds a DPoP key to a stored client key that has none, keeping the client key', async () => {
    const file = path.join(temp.dir, 'upgrade.json');
    const plain = await loadOrCreateClientKey(new FileKeyStore(file), 'p256');
    expect(plain.proofKey).toBeUndefined();
    const upgraded = await loadOrCreateClientKey(new FileKeyStore(file), 'p256', { dpop: true });
    expect(upgraded.kid).toBe(plain.kid);
    expect(upgraded.proofKey?.jkt).toEqual(expect.any(String));
  });

  it('refuses a file whose DPoP key does not match its jkt', async () => {
    const file = path.join(temp.dir, 'tampered-dpop.json');
    await loadOrCreateClientKey(new FileKeyStore(file), 'x25519', { dpop: true });
    const record = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.writeFile(file, JSON.stringify({ ...record, jkt: 'another' }));
    await expect(new FileKeyStore(file).load()).rejects.toThrow(/DPoP key does not match its jkt/);
  });

  it('answers null when no file exists, and clear() removes the file idempotently', async () => {
    const store = new FileKeyStore(path.join(temp.dir, 'absent.json'));
    expect(await store.load()).toBeNull();
    await store.save(await generateClientKey('x25519', { extractable: true }));
    await store.clear();
    await store.clear();
    expect(await store.load()).toBeNull();
  });

  it('refuses a file whose key does not match its kid', async () => {
    const file = path.join(temp.dir, 'tampered.json');
    await new FileKeyStore(file).save(await generateClientKey('x25519', { extractable: true }));
    const record = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.writeFile(file, JSON.stringify({ ...record, kid: 'another' }));
    await expect(new FileKeyStore(file).load()).rejects.toThrow(/does not match its kid/);
  });
});

describe('MemoryKeyStore and key generation', () => {
  it('keeps a non-extractable key and replaces it when another kind is asked for', async () => {
    const store = new MemoryKeyStore();
    const first = await loadOrCreateClientKey(store, 'x25519');
    expect(first.privateKey.extractable).toBe(false);
    expect(await loadOrCreateClientKey(store, 'x25519')).toBe(first);
    const other = await loadOrCreateClientKey(store, 'p256');
    expect(other.kid).not.toBe(first.kid);
    expect(other.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
  });

  it.each(KINDS)('publishes only the public members of a %s key', async (kind) => {
    const { publicJwk } = await generateClientKey(kind);
    expect(Object.keys(publicJwk).some((name) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].includes(name))).toBe(false);
  });
});
