// The client SDK from Node: node examples/sdk-node.mjs <baseUrl> <username>, password in AUTH_PASSWORD.
import { AuthClient } from '../dist/index.js';

const [baseUrl = 'http://localhost:3000', username = 'alice'] = process.argv.slice(2);
const client = new AuthClient({ baseUrl });
await client.login(username, process.env.AUTH_PASSWORD ?? '');
const first = client.token.claims.jti;
console.log(JSON.stringify({ step: 'login', me: await client.me(), expires_at: client.token.expiresAt }));

await new Promise((resolve) => setTimeout(resolve, client.token.expiresAt - Date.now() + 500)); // past expiry
const me = await client.me(); // the SDK refreshes the expired token, then calls
console.log(JSON.stringify({ step: 'after-expiry', me, refreshed: client.token.claims.jti !== first }));
await client.logout();
