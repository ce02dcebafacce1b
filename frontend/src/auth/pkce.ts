// OAuth 2.0 authorization code flow with PKCE (RFC 7636) for the Cognito
// hosted UI. Pure helpers: the browser-facing flow is in cognito.ts.

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A code verifier: `length` (43–128) characters from the unreserved set, uniformly drawn. */
export function createVerifier(length = 64): string {
  if (length < 43 || length > 128) throw new RangeError('a PKCE code verifier has 43 to 128 characters');
  const out: string[] = [];
  // Rejection sampling keeps the distribution uniform (256 is not a multiple of 66).
  const limit = 256 - (256 % UNRESERVED.length);
  while (out.length < length) {
    const buf = new Uint8Array(length * 2);
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b < limit) out.push(UNRESERVED[b % UNRESERVED.length]);
      if (out.length === length) break;
    }
  }
  return out.join('');
}

/** The S256 code challenge: BASE64URL(SHA-256(ASCII(verifier))). */
export async function challengeS256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** An opaque random value for the `state` parameter. */
export function createState(): string {
  const b = new Uint8Array(24);
  crypto.getRandomValues(b);
  return base64url(b);
}

export interface AuthorizeParams {
  domain: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string;
  challenge: string;
}

export function authorizeUrl(p: AuthorizeParams): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    scope: p.scopes.join(' '),
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  });
  return `${p.domain.replace(/\/+$/, '')}/oauth2/authorize?${q.toString()}`;
}

export type CallbackParams =
  | { kind: 'code'; code: string; state: string }
  | { kind: 'error'; error: string; description: string; state: string | null }
  | { kind: 'none' };

/** Reads an authorization response from a query string ("?code=…&state=…"). */
export function parseCallback(search: string): CallbackParams {
  const q = new URLSearchParams(search);
  const error = q.get('error');
  if (error) return { kind: 'error', error, description: q.get('error_description') ?? '', state: q.get('state') };
  const code = q.get('code');
  const state = q.get('state');
  if (code && state) return { kind: 'code', code, state };
  return { kind: 'none' };
}

/** The form body of the token request that redeems the code. */
export function tokenRequestBody(p: { clientId: string; code: string; redirectUri: string; verifier: string }): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: p.clientId,
    code: p.code,
    redirect_uri: p.redirectUri,
    code_verifier: p.verifier,
  });
}
