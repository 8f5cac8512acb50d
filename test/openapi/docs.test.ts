import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { killAll, startServerProcess } from '../helpers/process.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';
import { SPEC_FILE } from './spec.js';

/** The rendered reference at /docs and the raw spec at /docs/openapi.yaml. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const spec = readFileSync(SPEC_FILE, 'utf8');

/** Every `attribute="…"` of every `<tag …>` in an HTML page. */
const attributes = (html: string, tag: string, attribute: string) =>
  [...html.matchAll(new RegExp(`<${tag}\\b[^>]*\\b${attribute}="([^"]+)"`, 'g'))].map((m) => m[1] as string);

describe('GET /docs', () => {
  it('answers an HTML page with a restrictive Content-Security-Policy and no inline script', async () => {
    const res = await request(server.app).get('/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const directives = String(res.headers['content-security-policy']).split(';').map((d) => d.trim());
    expect(directives).toContain("script-src 'self'");
    expect(directives).toContain("default-src 'none'");
    const scripts = [...res.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/docs\//);
      expect((body as string).trim()).toBe('');
    }
    expect(res.text).not.toMatch(/\son[a-z]+=/i);
  });

  it('serves every script, style sheet and icon the page loads', async () => {
    const page = (await request(server.app).get('/docs').expect(200)).text;
    const assets = [...attributes(page, 'script', 'src'), ...attributes(page, 'link', 'href')];
    expect(assets).toEqual(expect.arrayContaining(['/docs/init.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']));
    for (const asset of assets) {
      const res = await request(server.app).get(asset).buffer(true);
      expect([asset, res.status]).toEqual([asset, 200]);
      const expected = asset.endsWith('.js') ? /javascript/ : asset.endsWith('.css') ? /^text\/css/ : /^image\/png/;
      expect(res.headers['content-type']).toMatch(expected);
    }
  });

  it('initializes Swagger UI from a script file that loads the spec next to it', async () => {
    const res = await request(server.app).get('/docs/init.js').expect(200);
    expect(res.text).toContain("'openapi.yaml'");
    expect(res.text).toContain('SwaggerUIBundle(');
    expect(res.text).not.toContain('petstore');
  });
});

describe('GET /docs/openapi.yaml', () => {
  it('answers the spec file as YAML', async () => {
    const res = await request(server.app).get('/docs/openapi.yaml').buffer(true).parse((response, done) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.body).toBe(spec);
    expect((parse(res.body as string) as { openapi: string }).openapi).toMatch(/^3\.1\./);
  });
});

describe('the JSON 404', () => {
  it.each([
    ['GET', '/docs/index.html'],
    ['GET', '/docs/package.json'],
    ['GET', '/docs/swagger-initializer.js'],
    ['GET', '/docs/swagger-ui-bundle.js.map'],
    ['GET', '/docs/nope/deeper'],
    ['GET', '/docs/%2e%2e%2fpackage.json'],
    ['POST', '/docs'],
    ['GET', '/docsx'],
    ['GET', '/nowhere'],
  ])('answers %s %s with 404 not_found', async (method, url) => {
    const res = await request(server.app)[method.toLowerCase() as 'get' | 'post'](url);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'not_found', error_description: 'Not found' });
  });
});

describe('the built server (dist/)', () => {
  afterAll(() => killAll());

  it('finds docs/openapi.yaml and the Swagger UI assets from dist/', async () => {
    const temp = tempDir('jwe-auth-docs-');
    const env = { SQLITE_PATH: path.join(temp.dir, 'auth.db'), KEYS_DIR: path.join(temp.dir, 'keys'), LOG_LEVEL: 'silent' };
    const built = await startServerProcess({ env, cwd: temp.dir });
    try {
      const yaml = await fetch(`${built.url}/docs/openapi.yaml`);
      expect(yaml.status).toBe(200);
      expect(await yaml.text()).toBe(spec);
      const bundle = await fetch(`${built.url}/docs/swagger-ui-bundle.js`);
      expect(bundle.status).toBe(200);
      await bundle.arrayBuffer();
      expect((await fetch(`${built.url}/docs`)).headers.get('content-type')).toMatch(/^text\/html/);
    } finally {
      await built.stop();
      temp.remove();
    }
  }, 30_000);
});
