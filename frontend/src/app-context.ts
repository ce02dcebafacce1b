import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from './auth/session';
import type { ApiClient } from './lib/api';
import type { AppConfig } from './lib/config';
import type { ProvidersState } from './lib/providers';

export interface AppState {
  config: AppConfig;
  api: ApiClient;
  session: Session;
  /** The selected organisation, or null for the user's personal gateways. */
  org: string | null;
  setOrg: (org: string | null) => void;
  signOut: (reason?: string) => void;
  /** GET /api/providers: loading, its answer, or why there is none. */
  providers: ProvidersState;
  /** Asks the server again after the providers failed to load. */
  reloadProviders: () => void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error('useApp outside AppContext');
  return s;
}
