import request from 'supertest';
import { headerOf, verifyInner } from '../helpers/client.js';
import { login } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.addUser('alice', 'correct horse battery');
});
afterAll(() => server.close());

describe('login and a protected call', () => {
  it.each(['x25519', 'p256', 'rsa'] as const)('issues a nested token to a %s client key and accepts it sealed back', async (kind) => {
    const session = await login(server.app, 'alice', 'correct horse battery', { kind });
    const outer = headerOf(session.accessToken);
    expect(outer).toMatchObject({ enc: 'A256GCM', cty: 'JWT', kid: session.client.kid });
    expect(outer.alg).toBe({ x25519: 'ECDH-ES', p256: 'ECDH-ES+A256KW', rsa: 'RSA-OAEP-256' }[kind]);
    expect(headerOf(session.jws)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = await verifyInner(session.jws, session.jwks);
    expect(claims).toMatchObject({ iss: 'http://localhost:3000', aud: 'jwe-auth-server', sid: session.body.session_id });
    const me = await request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200);
    expect(me.body).toEqual({ sub: claims.sub, username: 'alice', session_id: session.body.session_id });
    const verify = await request(server.app).get('/auth/verify').set('Authorization', `Bearer ${session.bearer}`).expect(200);
    expect(verify.body).toMatchObject({ active: true, sub: claims.sub, sid: claims.sid, jti: claims.jti });
  });
});
