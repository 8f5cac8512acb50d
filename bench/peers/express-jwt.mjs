// Peer for `npm run bench`: express-jwt verifying a signed (not encrypted) JWT on every request, as a
// user would set it up instead of this server. BENCH_PEER_ALG picks the key:
//   HS256: BENCH_PEER_KEY is the base64url secret, loaded as a secret KeyObject;
//   RS256: BENCH_PEER_KEY is the SPKI PEM of the public key, loaded as a public KeyObject.
import { createPublicKey, createSecretKey } from 'node:crypto';
import express from 'express';
import { expressjwt } from 'express-jwt';
import { announce } from './announce.mjs';

const alg = process.env.BENCH_PEER_ALG;
const material = process.env.BENCH_PEER_KEY ?? '';
const secret = alg === 'HS256' ? createSecretKey(Buffer.from(material, 'base64url')) : createPublicKey(material);
if (alg !== 'HS256' && alg !== 'RS256') throw new Error(`BENCH_PEER_ALG must be HS256 or RS256, not ${alg}`);

const app = express();
app.get('/api/me', expressjwt({ secret, algorithms: [alg] }), (req, res) => {
  res.json({ sub: req.auth.sub, username: req.auth.username, session_id: req.auth.sid });
});
app.use((error, _req, res, _next) => {
  res.status(error.status ?? 500).json({ error: error.code ?? 'server_error' });
});
announce(app);
