import { ROOT, runNode } from '../helpers/process.js';

/**
 * The package's subpath exports, resolved by package name as a consumer would: a Node process in the
 * package directory imports `jwe-auth-server/client` (Node resolves a package's own name through its
 * `exports`), against the built `dist/`.
 */
async function importInProject(specifier: string): Promise<Record<string, string>> {
  const source = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]))));`;
  const result = await runNode('--input-type=module', ['-e', source], { cwd: ROOT });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as Record<string, string>;
}

it('exports the SDK at jwe-auth-server/client, without the server', async () => {
  const client = await importInProject('jwe-auth-server/client');
  expect(client).toMatchObject({ AuthClient: 'function', AuthClientError: 'function', MemoryKeyStore: 'function', IndexedDbKeyStore: 'function' });
  expect(client.createApp).toBeUndefined();
  expect(client.FileKeyStore).toBeUndefined();
});

it('exports the Node key store at jwe-auth-server/client/node, and everything at the package root', async () => {
  expect(await importInProject('jwe-auth-server/client/node')).toEqual({ FileKeyStore: 'function' });
  expect(await importInProject('jwe-auth-server')).toMatchObject({ createApp: 'function', AuthClient: 'function', FileKeyStore: 'function' });
});

it('exposes nothing else under dist/', async () => {
  const result = await runNode('--input-type=module', ['-e', 'await import("jwe-auth-server/dist/server.js")'], { cwd: ROOT });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
});
