import type { ComponentChildren } from 'preact';
import { AppContext, type AppState } from '../src/app-context';
import { ApiClient } from '../src/lib/api';
import type { Gateway } from '../src/lib/types';
import { serverProviders } from './server-providers';

export interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  /** The request's AbortSignal, to see whether the app cancelled it. */
  signal?: AbortSignal;
}

/** A fetch that answers from a handler and records every request. */
export function fakeFetch(handler: (r: Recorded) => Response | Promise<Response>) {
  const calls: Recorded[] = [];
  const fn = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const r: Recorded = {
      method: init.method ?? 'GET',
      url: String(input),
      headers: Object.fromEntries(Object.entries((init.headers as Record<string, string>) ?? {})),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      signal: init.signal ?? undefined,
    };
    calls.push(r);
    return handler(r);
  };
  return { fetch: fn as typeof fetch, calls };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': type, ...headers } });
}

export function makeApi(f: typeof fetch, org: string | null = null) {
  return new ApiClient({ baseUrl: '', getToken: () => 'tok', getOrg: () => org, fetch: f });
}

export function withApp(api: ApiClient, children: ComponentChildren, over: Partial<AppState> = {}) {
  const state: AppState = {
    config: { apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } },
    api,
    session: { token: 'tok', expiresAt: null, sub: 'alice', orgs: ['acme'], mode: 'dev' },
    org: null,
    setOrg: () => {},
    signOut: () => {},
    providers: { status: 'ready', items: serverProviders },
    reloadProviders: () => {},
    ...over,
  };
  return <AppContext.Provider value={state}>{children}</AppContext.Provider>;
}

export function gateway(over: Partial<Gateway> = {}): Gateway {
  return {
    id: 'gw_1', name: 'Support bot', type: 'TELEGRAM_BOT', status: 'DISCONNECTED', config: {},
    credentialInfo: { botId: '123456789', tokenLast4: 'le12' }, userId: 'alice', organizationId: null,
    lastConnectedAt: null, lastErrorAt: null, lastError: null, lastCheckedAt: null, lastLatencyMs: null,
    createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 1, ...over,
  };
}
