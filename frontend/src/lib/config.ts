// Runtime configuration, read from /config.json at start-up so that one build
// serves every environment: the deployment writes the file beside index.html.

export interface DevAuthConfig {
  mode: 'dev';
  /** Where the local runner mints development tokens (POST {sub, orgs}). */
  tokenUrl: string;
}

export interface CognitoAuthConfig {
  mode: 'cognito';
  /** The hosted UI's base URL, e.g. https://example.auth.eu-west-1.amazoncognito.com */
  domain: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  /** Where Cognito sends the browser after sign-out; defaults to redirectUri. */
  logoutUri?: string;
  /**
   * Which token the API receives. The ID token by default, because Cognito
   * puts custom attributes (the organisations claim) only in ID tokens.
   */
  tokenUse?: 'id' | 'access';
  /** The claim that lists the user's organisations (default "orgs"). */
  orgsClaim?: string;
}

export type AuthConfig = DevAuthConfig | CognitoAuthConfig;

export interface AppConfig {
  /** Base URL of the API; "" means the dashboard's own origin. */
  apiBaseUrl: string;
  auth: AuthConfig;
}

/** Checks the shape of a parsed config.json and fills in defaults. */
export function parseConfig(raw: unknown): AppConfig {
  if (!raw || typeof raw !== 'object') throw new Error('config.json is not a JSON object.');
  const o = raw as Record<string, unknown>;
  const apiBaseUrl = typeof o.apiBaseUrl === 'string' ? o.apiBaseUrl.replace(/\/+$/, '') : '';
  const a = o.auth as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object') throw new Error('config.json has no "auth" object.');
  if (a.mode === 'dev') {
    return { apiBaseUrl, auth: { mode: 'dev', tokenUrl: typeof a.tokenUrl === 'string' ? a.tokenUrl : '/dev/token' } };
  }
  if (a.mode === 'cognito') {
    for (const k of ['domain', 'clientId', 'redirectUri']) {
      if (typeof a[k] !== 'string' || !a[k]) throw new Error(`config.json: auth.${k} is required for Cognito sign-in.`);
    }
    const scopes = Array.isArray(a.scopes) ? a.scopes.filter((s): s is string => typeof s === 'string') : ['openid', 'email', 'profile'];
    return {
      apiBaseUrl,
      auth: {
        mode: 'cognito',
        domain: (a.domain as string).replace(/\/+$/, ''),
        clientId: a.clientId as string,
        redirectUri: a.redirectUri as string,
        scopes,
        logoutUri: typeof a.logoutUri === 'string' ? a.logoutUri : undefined,
        tokenUse: a.tokenUse === 'access' ? 'access' : 'id',
        orgsClaim: typeof a.orgsClaim === 'string' && a.orgsClaim ? a.orgsClaim : 'orgs',
      },
    };
  }
  throw new Error(`config.json: unknown auth.mode ${JSON.stringify(a.mode)}.`);
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  let res: Response;
  try {
    res = await fetchImpl('/config.json', { cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch {
    throw new Error('Could not load /config.json: the network request failed.');
  }
  if (!res.ok) throw new Error(`Could not load /config.json: the server answered ${res.status}.`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new Error('/config.json is not valid JSON.');
  }
  return parseConfig(body);
}
