import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { beginSignIn, completeSignIn, logoutUrl, safeReturnTo, SignInError } from '../src/auth/cognito';
import { authorizeUrl, base64url, challengeS256, createState, createVerifier, parseCallback, tokenRequestBody } from '../src/auth/pkce';
import { clearSession, decodeJwt, isExpired, loadSession, parseOrgsClaim, saveSession, sessionFromJwt } from '../src/auth/session';
import type { CognitoAuthConfig } from '../src/lib/config';
import { parseConfig } from '../src/lib/config';

const cfg: CognitoAuthConfig = {
  mode: 'cognito', domain: 'https://gh.auth.eu-west-1.amazoncognito.com', clientId: 'client123',
  redirectUri: 'https://app.example.com/', scopes: ['openid', 'email', 'profile'], tokenUse: 'id', orgsClaim: 'custom:orgs',
};

function jwt(payload: Record<string, unknown>): string {
  const enc = (o: unknown) => base64url(new TextEncoder().encode(JSON.stringify(o)));
  return `${enc({ alg: 'RS256' })}.${enc(payload)}.sig`;
}

describe('PKCE', () => {
  it('matches the RFC 7636 appendix B example', async () => {
    expect(await challengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('makes verifiers of the right length and alphabet, never twice the same', () => {
    const a = createVerifier();
    expect(a).toMatch(/^[A-Za-z0-9\-._~]{64}$/);
    expect(createVerifier(43)).toHaveLength(43);
    expect(createVerifier(128)).toHaveLength(128);
    expect(createVerifier()).not.toBe(a);
    expect(() => createVerifier(42)).toThrow(RangeError);
    expect(createState()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('builds the authorize URL', () => {
    const u = new URL(authorizeUrl({ domain: cfg.domain, clientId: 'c', redirectUri: cfg.redirectUri, scopes: cfg.scopes, state: 's', challenge: 'ch' }));
    expect(u.origin + u.pathname).toBe('https://gh.auth.eu-west-1.amazoncognito.com/oauth2/authorize');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: 'code', client_id: 'c', redirect_uri: 'https://app.example.com/', scope: 'openid email profile',
      state: 's', code_challenge: 'ch', code_challenge_method: 'S256',
    });
  });

  it('parses callbacks', () => {
    expect(parseCallback('?code=abc&state=xyz')).toEqual({ kind: 'code', code: 'abc', state: 'xyz' });
    expect(parseCallback('?error=access_denied&error_description=nope&state=s')).toEqual({ kind: 'error', error: 'access_denied', description: 'nope', state: 's' });
    expect(parseCallback('?type=AI')).toEqual({ kind: 'none' });
    expect(tokenRequestBody({ clientId: 'c', code: 'k', redirectUri: 'r', verifier: 'v' }).toString()).toBe('grant_type=authorization_code&client_id=c&code=k&redirect_uri=r&code_verifier=v');
  });
});

describe('Cognito sign-in', () => {
  beforeEach(() => sessionStorage.clear());
  afterEach(() => sessionStorage.clear());

  async function begin(): Promise<URL> {
    let to = '';
    await beginSignIn(cfg, '/gateways/gw_1', (u) => { to = u; });
    return new URL(to);
  }

  it('round-trips: code for tokens, URL wiped, session built from the ID token', async () => {
    const auth = await begin();
    const state = auth.searchParams.get('state')!;
    const token = jwt({ sub: 'u-1', email: 'ana@example.com', exp: Math.floor(Date.now() / 1000) + 3600, 'custom:orgs': '[acme beta]' });
    let sent: URLSearchParams | null = null;
    let replaced = '';
    const out = await completeSignIn(cfg, { search: `?code=the-code&state=${state}`, pathname: '/', hash: '' },
      (async (_u: string, init: RequestInit) => { sent = init.body as URLSearchParams; return new Response(JSON.stringify({ id_token: token, access_token: 'a', expires_in: 3600 }), { status: 200 }); }) as unknown as typeof fetch,
      (u) => { replaced = u; });
    expect(replaced).toBe('/');
    expect(sent!.get('code')).toBe('the-code');
    expect(await challengeS256(sent!.get('code_verifier')!)).toBe(auth.searchParams.get('code_challenge'));
    expect(out!.session).toMatchObject({ token, sub: 'u-1', orgs: ['acme', 'beta'], displayName: 'ana@example.com', mode: 'cognito' });
    expect(out!.returnTo).toBe('/gateways/gw_1');
    expect(sessionStorage.getItem('gatehouse.pkce')).toBeNull();
  });

  it('refuses a state it did not issue', async () => {
    await begin();
    const e = await completeSignIn(cfg, { search: '?code=c&state=forged', pathname: '/', hash: '' }, (async () => new Response('{}')) as unknown as typeof fetch, () => {}).catch((x) => x);
    expect(e).toBeInstanceOf(SignInError);
    expect(e.detail).toMatch(/does not match/);
  });

  it('reports a refused sign-in with its description', async () => {
    const e = await completeSignIn(cfg, { search: '?error=access_denied&error_description=User+is+disabled', pathname: '/', hash: '' }, (async () => new Response('{}')) as unknown as typeof fetch, () => {}).catch((x) => x);
    expect(e).toMatchObject({ title: 'Sign-in was refused', detail: 'User is disabled' });
  });

  it('reports a failed token exchange', async () => {
    const auth = await begin();
    const e = await completeSignIn(cfg, { search: `?code=c&state=${auth.searchParams.get('state')}`, pathname: '/', hash: '' },
      (async () => new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 400 })) as unknown as typeof fetch, () => {}).catch((x) => x);
    expect(e).toMatchObject({ title: 'Sign-in could not be completed', detail: 'invalid_grant' });
  });

  it('does nothing on an ordinary URL', async () => {
    expect(await completeSignIn(cfg, { search: '', pathname: '/gateways', hash: '' }, (() => { throw new Error('no'); }) as unknown as typeof fetch, () => {})).toBeNull();
  });

  it('only returns to same-origin paths', () => {
    expect(safeReturnTo('/gateways')).toBe('/gateways');
    expect(safeReturnTo('//evil.example.com')).toBe('/');
    expect(safeReturnTo('https://evil.example.com')).toBe('/');
  });

  it('builds the logout URL', () => {
    expect(logoutUrl(cfg)).toBe('https://gh.auth.eu-west-1.amazoncognito.com/logout?client_id=client123&logout_uri=https%3A%2F%2Fapp.example.com%2F');
  });
});

describe('session', () => {
  beforeEach(() => sessionStorage.clear());

  it('parses every shape of the orgs claim', () => {
    expect(parseOrgsClaim(['a', 'b'])).toEqual(['a', 'b']);
    expect(parseOrgsClaim('[a b]')).toEqual(['a', 'b']);
    expect(parseOrgsClaim('["a","b"]')).toEqual(['a', 'b']);
    expect(parseOrgsClaim('a,b')).toEqual(['a', 'b']);
    expect(parseOrgsClaim('[]')).toEqual([]);
    expect(parseOrgsClaim(undefined)).toEqual([]);
  });

  it('decodes JWT payloads with URL-safe base64 and UTF-8', () => {
    expect(decodeJwt(jwt({ sub: 'ünïcode' }))).toEqual({ sub: 'ünïcode' });
    expect(decodeJwt('garbage')).toBeNull();
  });

  it('stores the session in sessionStorage and drops it once expired', () => {
    saveSession({ token: 't', expiresAt: new Date(Date.now() + 3600_000).toISOString(), sub: 'a', orgs: [], mode: 'dev' });
    expect(loadSession()?.token).toBe('t');
    expect(loadSession(Date.now() + 7200_000)).toBeNull();
    expect(sessionStorage.getItem('gatehouse.session')).toBeNull();
    clearSession();
  });

  it('treats a token within 30 s of expiry as expired', () => {
    expect(isExpired({ expiresAt: new Date(Date.now() + 10_000).toISOString() })).toBe(true);
    expect(isExpired({ expiresAt: null })).toBe(false);
  });

  it('builds a session from a token', () => {
    const s = sessionFromJwt(jwt({ sub: 'x', exp: 2000000000, orgs: ['acme'] }), 'cognito');
    expect(s).toMatchObject({ sub: 'x', orgs: ['acme'], expiresAt: '2033-05-18T03:33:20.000Z' });
  });
});

describe('config.json', () => {
  it('accepts the local and the AWS shapes', () => {
    expect(parseConfig({ apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } })).toEqual({ apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } });
    const c = parseConfig({ apiBaseUrl: 'https://api.example.com/', auth: { mode: 'cognito', domain: 'https://d/', clientId: 'c', redirectUri: 'https://app/', scopes: ['openid'] } });
    expect(c.apiBaseUrl).toBe('https://api.example.com');
    expect(c.auth).toMatchObject({ mode: 'cognito', domain: 'https://d', tokenUse: 'id', orgsClaim: 'orgs' });
  });
  it('explains what is wrong', () => {
    expect(() => parseConfig({ auth: { mode: 'cognito' } })).toThrow(/auth.domain is required/);
    expect(() => parseConfig({ auth: { mode: 'saml' } })).toThrow(/unknown auth.mode/);
    expect(() => parseConfig(null)).toThrow(/not a JSON object/);
  });
});
