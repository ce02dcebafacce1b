import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AppContext, useApp, type AppState } from './app-context';
import { logoutUrl } from './auth/cognito';
import { clearSession, loadOrg, loadSession, saveOrg, saveSession, type Session } from './auth/session';
import { IconBuilding, IconLogout, IconUser, Logo } from './components/icons';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Link } from './components/ui';
import { setAnnouncer } from './lib/announce';
import { ApiClient } from './lib/api';
import type { AppConfig } from './lib/config';
import { loadProviders, type ProvidersState } from './lib/providers';
import { match, navigate, useLocation } from './lib/router';
import { AddGatewayPage } from './pages/AddGateway';
import { GatewayDetailPage } from './pages/GatewayDetail';
import { GatewayListPage } from './pages/GatewayList';
import { NotFoundPage } from './pages/NotFound';
import { SignInPage } from './pages/SignIn';

export function App({ config, signInError }: { config: AppConfig; signInError?: unknown }) {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [org, setOrgState] = useState<string | null>(() => {
    const s = loadSession();
    const o = loadOrg();
    return s && o && s.orgs.includes(o) ? o : null;
  });
  const [signOutReason, setSignOutReason] = useState<string | null>(null);
  const [providers, setProviders] = useState<ProvidersState>({ status: 'loading' });
  const [providersAttempt, setProvidersAttempt] = useState(0);
  const sessionRef = useRef(session);
  const orgRef = useRef(org);
  sessionRef.current = session;
  orgRef.current = org;

  const signOut = useCallback((reason?: string) => {
    const wasCognito = sessionRef.current?.mode === 'cognito';
    clearSession();
    sessionRef.current = null;
    setSession(null);
    setOrgState(null);
    setProviders({ status: 'loading' });
    setSignOutReason(reason ?? null);
    if (!reason && wasCognito && config.auth.mode === 'cognito') window.location.assign(logoutUrl(config.auth));
  }, [config]);

  const api = useMemo(
    () => new ApiClient({
      baseUrl: config.apiBaseUrl,
      getToken: () => sessionRef.current?.token ?? null,
      getOrg: () => orgRef.current,
      onUnauthorized: () => signOut('Your session has expired. Please sign in again.'),
    }),
    [config, signOut],
  );

  // Sign out when the token expires rather than failing the next request.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const left = Date.parse(session.expiresAt) - Date.now() - 30_000;
    if (left > 2 ** 31 - 1) return;
    const t = setTimeout(() => signOut('Your session has expired. Please sign in again.'), Math.max(0, left));
    return () => clearTimeout(t);
  }, [session, signOut]);

  // The gateway types come from the server only; a failure is shown where
  // they are needed, with a retry (reloadProviders), never papered over.
  useEffect(() => {
    if (!session) return;
    let live = true;
    setProviders({ status: 'loading' });
    loadProviders(api).then(
      (items) => live && setProviders({ status: 'ready', items }),
      (error) => live && setProviders({ status: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [session, api, providersAttempt]);
  const reloadProviders = useCallback(() => setProvidersAttempt((n) => n + 1), []);

  const onSignedIn = (s: Session, initialOrg: string | null) => {
    saveSession(s);
    saveOrg(initialOrg);
    sessionRef.current = s;
    orgRef.current = initialOrg;
    setSignOutReason(null);
    setOrgState(initialOrg);
    setSession(s);
  };

  const setOrg = (o: string | null) => {
    saveOrg(o);
    orgRef.current = o;
    setOrgState(o);
    navigate('/gateways');
  };

  const { path } = useLocation();

  if (!session) {
    return (
      <>
        <SignInPage config={config} onSignedIn={onSignedIn} reason={signOutReason} error={signInError} />
        <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="announcer" ref={setAnnouncer} />
      </>
    );
  }

  const state: AppState = { config, api, session, org, setOrg, signOut, providers, reloadProviders };
  let page;
  let params: Record<string, string> | null;
  if (path === '/' || path === '') page = <Redirect to="/gateways" />;
  else if (match('/gateways', path)) page = <GatewayListPage key={`list:${org}`} />;
  else if (match('/gateways/new', path)) page = <AddGatewayPage key={`new:${org}`} />;
  else if ((params = match('/gateways/:id', path))) page = <GatewayDetailPage key={`gw:${org}:${params.id}`} id={params.id} />;
  else page = <NotFoundPage />;

  return (
    <AppContext.Provider value={state}>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <div class="topbar__inner">
          <Link href="/gateways" class="brand" aria-label="Gatehouse home">
            <Logo />
            <span class="brand__name">Gatehouse</span>
          </Link>
          <nav class="topbar__nav" aria-label="Main">
            <Link href="/gateways" class={`nav-link${path.startsWith('/gateways') ? ' is-active' : ''}`} aria-current={path.startsWith('/gateways') ? 'page' : undefined}>Gateways</Link>
          </nav>
          <div class="topbar__spacer" />
          <OrgSwitcher />
          <div class="user-chip" title={session.displayName ?? session.sub}>
            <IconUser size={16} />
            <span class="user-chip__name" data-testid="user-name">{session.displayName ?? session.sub}</span>
          </div>
          <button type="button" class="icon-btn" aria-label="Sign out" title="Sign out" onClick={() => signOut()}>
            <IconLogout size={18} />
          </button>
        </div>
      </header>
      <main id="main" class="container">
        <ErrorBoundary key={path}>{page}</ErrorBoundary>
      </main>
      <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="announcer" ref={setAnnouncer} />
    </AppContext.Provider>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function OrgSwitcher() {
  const { session, org, setOrg } = useApp();
  return (
    <label class="org-switcher" title="Whose gateways you see">
      <IconBuilding size={16} />
      <span class="sr-only">Workspace</span>
      <select
        aria-label="Workspace"
        data-testid="org-switcher"
        value={org ?? ''}
        onChange={(e) => setOrg((e.currentTarget as HTMLSelectElement).value || null)}
      >
        <option value="">Personal</option>
        {session.orgs.map((o) => <option value={o}>{o}</option>)}
      </select>
    </label>
  );
}
