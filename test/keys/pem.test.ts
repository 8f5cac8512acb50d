import { generateDetached } from '../../src/keys/node-keys.js';
import { mkdirSync, promises as fs, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config/index.js';
import { ENCRYPTION_SPECS, SIGNING_SPECS } from '../../src/keys/algorithms.js';
import { generateKeyFiles, keyFile } from '../../src/keys/key-files.js';
import { KeyManager } from '../../src/keys/manager.js';
import { KeyLoadError, readPem, toEncryptedPem, writePem } from '../../src/keys/pem.js';
import { tempDirPerTest } from '../helpers/runtime.js';

const PASSPHRASE = 'a passphrase of some length';

const dir = tempDirPerTest('jwe-auth-pem-');

const keysDir = () => path.join(dir(), 'keys');
const preserving = (env: Record<string, string> = {}): Config =>
  loadConfig({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE, KEYS_DIR: keysDir(), ...env });
const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('a passphrase-protected PKCS#8 PEM', () => {
  it('round-trips a private key without holding it in the clear', async () => {
    const { privateKey } = generateDetached('ec', { namedCurve: 'P-256' });
    const pem = toEncryptedPem(privateKey, PASSPHRASE);
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const file = path.join(keysDir(), 'signing.pem');
    await writePem(file, pem, false);
    const read = await readPem(file, PASSPHRASE, SIGNING_SPECS.ES256);
    expect(read.export({ format: 'jwk' })).toEqual(privateKey.export({ format: 'jwk' }));
  });

  it('is written with mode 0600 in a directory of mode 0700', async () => {
    const file = path.join(keysDir(), 'nested', 'key.pem');
    await writePem(file, toEncryptedPem(generateDetached('x25519').privateKey, PASSPHRASE), false);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(path.dirname(file))).toBe(0o700);
  });

  it('is never overwritten unless asked to', async () => {
    const file = path.join(keysDir(), 'key.pem');
    await writePem(file, 'first', false);
    await expect(writePem(file, 'second', false)).rejects.toBeInstanceOf(KeyLoadError);
    expect(readFileSync(file, 'utf8')).toBe('first');
    await writePem(file, 'second', true);
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(modeOf(file)).toBe(0o600);
  });
});

describe('generateKeyFiles', () => {
  it('writes a signing and an encryption PEM with mode 0600', async () => {
    const written = await generateKeyFiles(preserving(), false);
    expect(written).toEqual([keyFile(keysDir(), 'signing', 'current'), keyFile(keysDir(), 'encryption', 'current')]);
    for (const file of written) {
      expect(modeOf(file)).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    }
    await expect(readPem(written[0] as string, PASSPHRASE, SIGNING_SPECS.ES256)).resolves.toBeDefined();
    await expect(readPem(written[1] as string, PASSPHRASE, ENCRYPTION_SPECS.x25519)).resolves.toBeDefined();
  });

  it('refuses to overwrite existing keys without force, naming the file and changing nothing', async () => {
    const [signing] = await generateKeyFiles(preserving(), false);
    const before = readFileSync(signing as string, 'utf8');
    const error = (await generateKeyFiles(preserving(), false).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KeyLoadError);
    expect(error.message).toContain(signing);
    expect(readFileSync(signing as string, 'utf8')).toBe(before);
  });

  it('replaces existing keys with force', async () => {
    await generateKeyFiles(preserving(), false);
    const before = await KeyManager.create(preserving());
    await generateKeyFiles(preserving(), true);
    const after = await KeyManager.create(preserving());
    expect(after.signing.kid).not.toBe(before.signing.kid);
    expect(after.encryption.kid).not.toBe(before.encryption.kid);
  });

  it('needs a passphrase', async () => {
    const config = { ...loadConfig({ KEYS_DIR: keysDir() }), privateKeyPassphrase: undefined };
    await expect(generateKeyFiles(config, false)).rejects.toBeInstanceOf(KeyLoadError);
  });
});

/** The error KeyManager.create() gives at boot with this configuration. */
async function bootError(config: Config): Promise<Error> {
  const error = await KeyManager.create(config).then(
    () => new Error('KeyManager.create() succeeded'),
    (e: unknown) => e as Error,
  );
  return error;
}

function expectOneLineNaming(error: Error, file: string): void {
  expect(error).toBeInstanceOf(KeyLoadError);
  expect(error).toMatchObject({ code: 'key_load_failed' });
  expect(error.message).toContain(file);
  expect(error.message).not.toMatch(/[\r\n]/);
}

describe('the server refuses to boot with one line naming the file when', () => {
  const signingFile = () => keyFile(keysDir(), 'signing', 'current');
  const encryptionFile = () => keyFile(keysDir(), 'encryption', 'current');

  it('the key files are missing', async () => {
    const error = await bootError(preserving());
    expectOneLineNaming(error, signingFile());
    expect(error.message).toMatch(/missing/);
  });

  it('only the encryption key file is missing', async () => {
    await generateKeyFiles(preserving(), false);
    await fs.rm(encryptionFile());
    expectOneLineNaming(await bootError(preserving()), encryptionFile());
  });

  it('a key file cannot be read (it is a directory)', async () => {
    mkdirSync(signingFile(), { recursive: true });
    expectOneLineNaming(await bootError(preserving()), signingFile());
  });

  it('the passphrase is wrong', async () => {
    await generateKeyFiles(preserving(), false);
    const error = await bootError(preserving({ PRIVATE_KEY_PASSPHRASE: 'another passphrase, long enough' }));
    expectOneLineNaming(error, signingFile());
    expect(error.message).toContain('PRIVATE_KEY_PASSPHRASE');
  });

  it('a key file is an unencrypted PEM', async () => {
    await generateKeyFiles(preserving(), false);
    const clear = generateDetached('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(signingFile(), clear, { mode: 0o600 });
    expectOneLineNaming(await bootError(preserving()), signingFile());
  });

  it('a key file is not a PEM at all', async () => {
    await generateKeyFiles(preserving(), false);
    writeFileSync(encryptionFile(), 'hello', { mode: 0o600 });
    expectOneLineNaming(await bootError(preserving()), encryptionFile());
  });

  it.each([
    ['an Ed25519 key where ES256 is configured', 'signing', () => generateDetached('ed25519').privateKey, {}],
    ['an EC P-384 key where ES256 is configured', 'signing', () => generateDetached('ec', { namedCurve: 'P-384' }).privateKey, {}],
    ['an RSA key where EdDSA is configured', 'signing', () => generateDetached('rsa', { modulusLength: 2048 }).privateKey, { SIGNING_ALG: 'EdDSA' }],
    ['an RSA 1024-bit key where PS256 is configured', 'signing', () => generateDetached('rsa', { modulusLength: 1024 }).privateKey, { SIGNING_ALG: 'PS256' }],
    ['an Ed25519 key where an X25519 encryption key is configured', 'encryption', () => generateDetached('ed25519').privateKey, {}],
    ['an X25519 key where a P-256 encryption key is configured', 'encryption', () => generateDetached('x25519').privateKey, { ENCRYPTION_KEY_TYPE: 'p256' }],
  ] as const)('a key file holds %s', async (_name, role, make, env) => {
    await generateKeyFiles(preserving(env), false);
    const file = keyFile(keysDir(), role, 'current');
    writeFileSync(file, toEncryptedPem(make(), PASSPHRASE), { mode: 0o600 });
    expectOneLineNaming(await bootError(preserving(env)), file);
  });

  it('the previous key file left by a rotation is damaged', async () => {
    await generateKeyFiles(preserving(), false);
    const previous = keyFile(keysDir(), 'signing', 'previous');
    writeFileSync(previous, 'damaged', { mode: 0o600 });
    expectOneLineNaming(await bootError(preserving()), previous);
  });
});

describe('the passphrase itself is checked by loadConfig, before any key file is read', () => {
  it.each([
    ['missing', {}],
    ['empty', { PRIVATE_KEY_PASSPHRASE: '' }],
    ['shorter than 16 characters', { PRIVATE_KEY_PASSPHRASE: 'fifteen chars!!' }],
  ] as const)('refuses a passphrase that is %s with a ConfigError naming PRIVATE_KEY_PASSPHRASE', (_name, env) => {
    const load = () => loadConfig({ PRESERVE_SESSIONS_ON_REBOOT: '1', KEYS_DIR: keysDir(), ...env });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/^PRIVATE_KEY_PASSPHRASE /);
  });
});
