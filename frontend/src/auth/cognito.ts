// Sign-in through the Cognito hosted UI: authorization code + PKCE. The code
// verifier and state wait in sessionStorage during the round trip; the code
// is redeemed at the token endpoint and the query string is wiped from the
// address bar before anything else renders.
import type { CognitoAuthConfig } from '../lib/config';
import { authorizeUrl, challengeS256, createState, createVerifier, parseCallback, tokenRequestBody } from './pkce';
import { sessionFromJwt, type Session } from './session';

const PENDING_KEY = 'gatehouse.pkce';

interface Pending {
  state: string;
  verifier: string;
  returnTo: string;
}

/** Sends the browser to the hosted UI. */
export async function beginSignIn(cfg: CognitoAuthConfig, returnTo: string, go: (url: string) => void = (u) => window.location.assign(u)): Promise<void> {
  const verifier = createVerifier();
  const state = createState();
  const challenge = await challengeS256(verifier);
  const pending: Pending = { state, verifier, returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  go(authorizeUrl({ domain: cfg.domain, clientId: cfg.clientId, redirectUri: cfg.redirectUri, scopes: cfg.scopes, state, challenge }));
}

export class SignInError extends Error {
  constructor(readonly title: string, readonly detail: string) {
    super(`${title}: ${detail}`);
  }
}

export interface CallbackOutcome {
  session: Session;
  returnTo: string;
}

/**
 * Completes a sign-in when the current URL is the hosted UI's redirect.
 * Returns null when it is not. Throws SignInError on a refused or forged
 * response. Either way the code and state leave the address bar.
 */
export async function completeSignIn(
  cfg: CognitoAuthConfig,
  loc: { search: string; pathname: string; hash: string } = window.location,
  fetchImpl: typeof fetch = (i, n) => fetch(i, n),
  replaceUrl: (url: string) => void = (u) => window.history.replaceState(null, '', u),
): Promise<CallbackOutcome | null> {
  const cb = parseCallback(loc.search);
  if (cb.kind === 'none') return null;
  const params = new URLSearchParams(loc.search);
  for (const k of ['code', 'state', 'error', 'error_description', 'error_uri']) params.delete(k);
  const rest = params.toString();
  replaceUrl(loc.pathname + (rest ? `?${rest}` : '') + loc.hash);

  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const pending: Pending | null = raw ? (JSON.parse(raw) as Pending) : null;
  if (cb.kind === 'error') {
    throw new SignInError('Sign-in was refused', cb.description || cb.error);
  }
  if (!pending || pending.state !== cb.state) {
    throw new SignInError('Sign-in could not be completed', 'The sign-in response does not match a sign-in started in this tab. Please sign in again.');
  }
  let res: Response;
  try {
    res = await fetchImpl(`${cfg.domain}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: tokenRequestBody({ clientId: cfg.clientId, code: cb.code, redirectUri: cfg.redirectUri, verifier: pending.verifier }),
    });
  } catch {
    throw new SignInError('Sign-in could not be completed', 'The identity provider could not be reached.');
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    throw new SignInError('Sign-in could not be completed', String(body.error_description ?? body.error ?? `The token endpoint answered ${res.status}.`));
  }
  const token = (cfg.tokenUse === 'access' ? body.access_token : body.id_token) as string | undefined;
  if (typeof token !== 'string' || !token) {
    throw new SignInError('Sign-in could not be completed', 'The identity provider returned no token.');
  }
  const session = sessionFromJwt(token, 'cognito', cfg.orgsClaim);
  if (!session.expiresAt && typeof body.expires_in === 'number') {
    session.expiresAt = new Date(Date.now() + body.expires_in * 1000).toISOString();
  }
  return { session, returnTo: safeReturnTo(pending.returnTo) };
}

/** Only same-origin paths: a crafted returnTo must not send the user elsewhere. */
export function safeReturnTo(p: string | undefined): string {
  return p && p.startsWith('/') && !p.startsWith('//') ? p : '/';
}

export function logoutUrl(cfg: CognitoAuthConfig): string {
  const q = new URLSearchParams({ client_id: cfg.clientId, logout_uri: cfg.logoutUri ?? cfg.redirectUri });
  return `${cfg.domain}/logout?${q.toString()}`;
}
