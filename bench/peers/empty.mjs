// Peer for `npm run bench`: an empty Express 5 route, the floor any Express app pays per request.
import express from 'express';
import { announce } from './announce.mjs';

const app = express();
app.get('/api/me', (_req, res) => {
  res.json({ sub: 'bench', username: 'bench', session_id: 'bench-session' });
});
announce(app);
