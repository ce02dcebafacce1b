// The signed-in session. The token lives in sessionStorage (this tab only,
// gone when it closes) and in memory; it is never put in a URL.

export interface Session {
  token: string;
  /** ISO time after which the token is no longer accepted. */
  expiresAt: string | null;
  sub: string;
  orgs: string[];
  mode: 'dev' | 'cognito';
  /** A display name (email) when the identity provider gave one. */
  displayName?: string;
}

const SESSION_KEY = 'gatehouse.session';
const ORG_KEY = 'gatehouse.org';

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function loadSession(now = Date.now()): Session | null {
  const raw = storage()?.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (!s || typeof s.token !== 'string' || !s.token) return null;
    if (isExpired(s, now)) {
      clearSession();
      return null;
    }
    return { ...s, orgs: Array.isArray(s.orgs) ? s.orgs : [] };
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  storage()?.setItem(SESSION_KEY, JSON.stringify(s));
}

export function clearSession(): void {
  storage()?.removeItem(SESSION_KEY);
  storage()?.removeItem(ORG_KEY);
}

/** Expired, or within 30 s of expiring (a request would race the deadline). */
export function isExpired(s: Pick<Session, 'expiresAt'>, now = Date.now()): boolean {
  if (!s.expiresAt) return false;
  const t = Date.parse(s.expiresAt);
  return Number.isFinite(t) && t - 30_000 <= now;
}

export function loadOrg(): string | null {
  return storage()?.getItem(ORG_KEY) || null;
}

export function saveOrg(org: string | null): void {
  if (org) storage()?.setItem(ORG_KEY, org);
  else storage()?.removeItem(ORG_KEY);
}

/** Decodes a JWT's payload without verifying it (the API verifies). */
export function decodeJwt(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const obj = JSON.parse(new TextDecoder().decode(bytes));
    return obj && typeof obj === 'object' ? (obj as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Reads an organisations claim in any of the shapes it takes on the way:
 * a JSON array, a JSON-encoded array string, API Gateway's flattened "[a b]",
 * or a comma- or space-separated list.
 */
export function parseOrgsClaim(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  if (typeof v !== 'string') return [];
  const s = v.trim();
  if (!s) return [];
  if (s.startsWith('[') && s.endsWith(']')) {
    try {
      const parsed = JSON.parse(s);
      if (Array.isArray(parsed)) return parseOrgsClaim(parsed);
    } catch {
      /* "[a b]" */
    }
    return s.slice(1, -1).split(/[\s,]+/).filter(Boolean);
  }
  return s.split(/[\s,]+/).filter(Boolean);
}

/** Builds a session from a token the identity provider issued. */
export function sessionFromJwt(token: string, mode: Session['mode'], orgsClaim = 'orgs'): Session {
  const c = decodeJwt(token) ?? {};
  const exp = typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : null;
  const sub = typeof c.sub === 'string' ? c.sub : '';
  const displayName = typeof c.email === 'string' ? c.email : typeof c['cognito:username'] === 'string' ? (c['cognito:username'] as string) : undefined;
  return { token, expiresAt: exp, sub, orgs: parseOrgsClaim(c[orgsClaim]), mode, displayName };
}
