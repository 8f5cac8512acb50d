/**
 * The demo page at /demo: signs in with the client SDK, shows the three layers of the access token
 * with what was verified, and drives the protected route and the session routes. No framework, no
 * inline script (the route's CSP forbids it); bundled by scripts/build-web.mjs.
 */
import {
  AuthClient,
  AuthClientError,
  createDpopProof,
  generateProofKey,
  isClientKeyKind,
  JwksCache,
  sealForServer,
  type SessionInfo,
  type VerifiedAccessToken,
} from '../client/index.js';

type StatusKind = 'info' | 'ok' | 'error';

const element = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from the page`);
  return found as T;
};

const view = {
  status: element('status'),
  signin: element('signin'),
  signinForm: element<HTMLFormElement>('signin-form'),
  username: element<HTMLInputElement>('username'),
  password: element<HTMLInputElement>('password'),
  keyKind: element<HTMLSelectElement>('key-kind'),
  token: element('token'),
  tokenTitle: element('token-title'),
  outerCheck: element('outer-check'),
  outerHeader: element('outer-header'),
  innerCheck: element('inner-check'),
  innerHeader: element('inner-header'),
  claimsCheck: element('claims-check'),
  claims: element('claims'),
  binding: element('binding'),
  replay: element<HTMLButtonElement>('replay'),
  replayOutput: element('replay-output'),
  session: element('session'),
  callMe: element<HTMLButtonElement>('call-me'),
  meOutput: element('me-output'),
  refresh: element<HTMLButtonElement>('refresh'),
  listSessions: element<HTMLButtonElement>('list-sessions'),
  logout: element<HTMLButtonElement>('logout'),
  logoutAll: element<HTMLButtonElement>('logout-all'),
  sessionsEmpty: element('sessions-empty'),
  sessionsList: element<HTMLUListElement>('sessions-list'),
};

const makeClient = (keyKind = 'x25519') =>
  new AuthClient({ keyKind: isClientKeyKind(keyKind) ? keyKind : 'x25519', onTokenChange: showToken });
let client = makeClient();

function setStatus(text: string, kind: StatusKind = 'info'): void {
  view.status.textContent = text;
  view.status.dataset.kind = kind;
}

function describeError(error: unknown): string {
  if (error instanceof AuthClientError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

const shorten = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);
const json = (value: unknown) => JSON.stringify(value, null, 2);
const time = (epochMs: number) => new Date(epochMs).toLocaleTimeString();

/** Buttons that can only work while signed in, disabled otherwise. */
const needsSession = (button: HTMLButtonElement) => button === view.callMe;

/** Renders the three layers, or the signed-out page when `token` is null. */
function showToken(token: VerifiedAccessToken | null): void {
  const signedIn = token !== null;
  // A sign-in or a sign-out starts afresh: the last call's answer (or error) belongs to the old state.
  if (signedIn !== !view.token.hidden) {
    view.meOutput.textContent = 'No call yet.';
    delete view.meOutput.dataset.kind;
  }
  view.callMe.disabled = !signedIn;
  view.signin.hidden = signedIn;
  view.token.hidden = !signedIn;
  view.session.hidden = !signedIn;
  if (!token) {
    view.sessionsList.replaceChildren();
    view.sessionsEmpty.hidden = false;
    return;
  }
  const { outerHeader, innerHeader, claims } = token;
  view.outerHeader.textContent = json(outerHeader);
  view.outerCheck.textContent = `Verified: decrypted with this browser's private key; addressed to its thumbprint (kid ${String(outerHeader.kid)}).`;
  view.innerHeader.textContent = json(innerHeader);
  view.innerCheck.textContent = `Verified: ${String(innerHeader.alg)} signature by the server key ${String(innerHeader.kid)} from its JWKS; typ ${String(innerHeader.typ)}.`;
  view.claims.textContent = json(claims);
  view.claimsCheck.textContent = `Verified: every required claim present; expires at ${time(token.expiresAt)}; session ${claims.sid}.`;
  view.binding.textContent =
    token.tokenType === 'DPoP' && claims.cnf
      ? `Bound: token_type DPoP, cnf.jkt ${claims.cnf.jkt}, the thumbprint of this browser's non-extractable ES256 key. Every call carries a fresh proof signed by it.`
      : 'Not bound: a Bearer token, usable by whoever holds it.';
}

/** Runs a button's action with the button disabled, reporting the outcome in the status region. */
function action(button: HTMLButtonElement, work: () => Promise<string | void>): void {
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const message = await work();
      if (message) setStatus(message, 'ok');
    } catch (error) {
      setStatus(describeError(error), 'error');
    } finally {
      button.disabled = needsSession(button) && client.token === null;
    }
  });
}

function sessionItem(session: SessionInfo): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'session';
  item.dataset.sessionId = session.id;
  const text = document.createElement('div');
  const title = document.createElement('strong');
  title.textContent = session.current ? 'This browser' : 'Another client';
  const details = document.createElement('span');
  details.className = 'help';
  const agent = session.user_agent ? ` · ${shorten(session.user_agent, 60)}` : '';
  details.textContent = `signed in ${new Date(session.created_at).toLocaleString()} · last used ${new Date(session.last_used_at).toLocaleTimeString()}${agent}`;
  text.append(title, document.createElement('br'), details);
  const revoke = document.createElement('button');
  revoke.type = 'button';
  revoke.className = 'danger';
  revoke.textContent = 'Revoke';
  revoke.setAttribute('aria-label', `Revoke ${session.current ? 'this browser’s session' : `the session signed in ${new Date(session.created_at).toLocaleString()}`}`);
  action(revoke, async () => {
    await client.revokeSession(session.id);
    if (session.current) return 'This session was revoked: signed out.';
    await listSessions();
    return 'Session revoked.';
  });
  item.append(text, revoke);
  return item;
}

async function listSessions(): Promise<number> {
  const sessions = await client.sessions();
  view.sessionsList.replaceChildren(...sessions.map(sessionItem));
  view.sessionsEmpty.hidden = sessions.length > 0;
  return sessions.length;
}

view.signinForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = view.signinForm.querySelector('button') as HTMLButtonElement;
  if (!view.username.value || !view.password.value) {
    setStatus('Enter a username and a password.', 'error');
    (view.username.value ? view.password : view.username).focus();
    return;
  }
  button.disabled = true;
  setStatus('Signing in…');
  try {
    client = makeClient(view.keyKind.value);
    await client.login(view.username.value, view.password.value);
    view.password.value = '';
    setStatus(`Signed in as ${view.username.value}.`, 'ok');
    view.tokenTitle.focus();
  } catch (error) {
    setStatus(describeError(error), 'error');
  } finally {
    button.disabled = false;
  }
});

action(view.callMe, async () => {
  try {
    const me = await client.me();
    view.meOutput.textContent = json(me);
    view.meOutput.dataset.kind = 'ok';
    return `/api/me answered for ${me.username}.`;
  } catch (error) {
    view.meOutput.textContent = describeError(error);
    view.meOutput.dataset.kind = 'error';
    throw error;
  }
});
// The server's JWKS, for sealing the token the way a thief who copied it would.
const jwks = new JwksCache(async () => (await fetch('/.well-known/jwks.json', { cache: 'no-cache' })).json());

/** One replay of the stolen token, described by its answer. */
async function replayOnce(label: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch('/api/me', { headers, credentials: 'omit' });
  const body = (await res.json().catch(() => null)) as { error?: string; username?: string } | null;
  const answer = res.ok ? `${res.status} for ${String(body?.username)}` : `${res.status} ${String(body?.error)}`;
  return `${label}: ${answer}\n  WWW-Authenticate: ${res.headers.get('www-authenticate') ?? '(none)'}`;
}

action(view.replay, async () => {
  const token = client.token;
  if (!token) throw new AuthClientError('not_authenticated');
  const sealed = await sealForServer(token.jws, jwks);
  const thief = await generateProofKey();
  const url = new URL('/api/me', location.origin);
  const lines = [
    await replayOnce('As a Bearer token', { Authorization: `Bearer ${sealed}` }),
    await replayOnce("With a proof by the thief's key", {
      Authorization: `DPoP ${sealed}`,
      DPoP: await createDpopProof(thief, { method: 'GET', url, accessToken: sealed }),
    }),
  ];
  view.replayOutput.textContent = lines.join('\n\n');
  return token.tokenType === 'DPoP' ? 'The copied token was refused without the key.' : 'The copied Bearer token works for whoever holds it.';
});
action(view.refresh, async () => {
  const token = await client.refresh();
  return `Token refreshed: new jti ${token.claims.jti}.`;
});
action(view.listSessions, async () => `${await listSessions()} live session(s).`);
action(view.logout, async () => {
  await client.logout();
  view.username.focus();
  return 'Signed out.';
});
action(view.logoutAll, async () => {
  await client.logoutAll();
  view.username.focus();
  return 'Signed out of every device.';
});

// A reload keeps the key pair (IndexedDB) and the refresh cookie: try to pick the session up again.
client.refresh().then(
  () => setStatus('Session restored from the refresh cookie.', 'ok'),
  () => {
    showToken(null);
    setStatus('Signed out. Sign in to begin.');
  },
);
