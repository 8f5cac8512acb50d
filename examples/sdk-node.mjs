// The client SDK from Node: printf '%s' PASSWORD | node examples/sdk-node.mjs USERNAME [BASE_URL] [--wait-for-expiry]
import { AuthClient } from 'jwe-auth-server/client';
const wait = process.argv.includes('--wait-for-expiry');
const [username, baseUrl = 'http://localhost:3000'] = process.argv.slice(2).filter((arg) => arg !== '--wait-for-expiry');
if (!username) {
  process.stderr.write('usage: printf %s PASSWORD | node examples/sdk-node.mjs USERNAME [BASE_URL] [--wait-for-expiry]\n');
  process.exit(2);
}
let password = '';
for await (const chunk of process.stdin) password += chunk;
const client = new AuthClient({ baseUrl });
await client.login(username, password.replace(/\r?\n$/, ''));
const first = client.token.claims.jti;
console.log(JSON.stringify({ step: 'login', me: await client.me(), expires_at: client.token.expiresAt }));
// Either wait past expiry (ACCESS_TOKEN_TTL, 15 minutes by default) for the SDK to refresh by itself, or rotate now.
if (wait) await new Promise((resolve) => setTimeout(resolve, client.token.expiresAt - Date.now() + 500));
else await client.refresh();
console.log(JSON.stringify({ step: wait ? 'after-expiry' : 'after-refresh', me: await client.me(), refreshed: client.token.claims.jti !== first }));
await client.logout();
