import { useState } from 'preact/hooks';
import { beginSignIn, SignInError } from '../auth/cognito';
import type { Session } from '../auth/session';
import { Logo } from '../components/icons';
import { Button, Field, Notice, ProblemAlert } from '../components/ui';
import { ApiError, problemFrom } from '../lib/api';
import type { AppConfig } from '../lib/config';
import { usePage } from '../lib/page';
import { currentPath } from '../lib/router';

const ORG_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** The API's user id pattern (gateway.PrincipalIDPattern); the runner refuses others. */
const SUB_RE = /^[A-Za-z0-9][A-Za-z0-9._@:|+=-]{0,254}$/;

export function parseOrgList(text: string): string[] {
  return Array.from(new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)));
}

export function SignInPage({ config, onSignedIn, reason, error }: { config: AppConfig; onSignedIn: (s: Session, org: string | null) => void; reason?: string | null; error?: unknown }) {
  usePage('Sign in');
  return (
    <main class="signin" id="main">
      <div class="signin__panel">
        <div class="signin__brand">
          <Logo />
          <span>Gatehouse</span>
        </div>
        <h1 class="signin__title">Sign in</h1>
        <p class="signin__lead">Manage your Telegram bots, AI providers and webhooks in one place.</p>
        {reason && <Notice kind="warning" title={reason} />}
        {error instanceof SignInError ? <ProblemAlert error={new ApiError({ status: 0, title: error.title, detail: error.detail })} /> : error ? <ProblemAlert error={error} /> : null}
        {config.auth.mode === 'dev' ? <DevSignIn tokenUrl={config.auth.tokenUrl} base={config.apiBaseUrl} onSignedIn={onSignedIn} /> : <CognitoSignIn config={config} />}
      </div>
    </main>
  );
}

function CognitoSignIn({ config }: { config: AppConfig }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  if (config.auth.mode !== 'cognito') return null;
  const auth = config.auth;
  const go = async () => {
    setBusy(true);
    setErr(null);
    try {
      await beginSignIn(auth, currentPath());
    } catch (e) {
      setErr(e);
      setBusy(false);
    }
  };
  return (
    <div class="signin__form">
      {err ? <ProblemAlert error={err} /> : null}
      <Button variant="primary" class="btn--block" loading={busy} loadingText="Redirecting…" onClick={go}>
        Continue to sign-in
      </Button>
      <p class="signin__fine">You will be sent to your organisation's sign-in page and brought back here.</p>
    </div>
  );
}

function DevSignIn({ tokenUrl, base, onSignedIn }: { tokenUrl: string; base: string; onSignedIn: (s: Session, org: string | null) => void }) {
  const [sub, setSub] = useState('alice');
  // Empty: personal gateways open, where `make token SUB=…` and the README's
  // curl walkthrough put them. Typed: the first organisation opens.
  const [orgText, setOrgText] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<ApiError | null>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const orgs = parseOrgList(orgText);
    const fe: Record<string, string> = {};
    if (!sub.trim()) fe.sub = 'is required';
    else if (sub.trim().length > 128) fe.sub = 'must be at most 128 characters';
    else if (!SUB_RE.test(sub.trim())) fe.sub = 'must be a user id: letters, digits and . _ @ : | + = -, starting with a letter or digit';
    const bad = orgs.find((o) => !ORG_RE.test(o));
    if (bad) fe.orgs = `"${bad}" is not a valid organisation id: use 1 to 64 letters, digits, '_' or '-'`;
    else if (orgs.length > 20) fe.orgs = 'must have at most 20 items';
    setFieldErr(fe);
    setErr(null);
    if (Object.keys(fe).length) return;
    setBusy(true);
    try {
      const url = tokenUrl.startsWith('http') ? tokenUrl : base + tokenUrl;
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sub: sub.trim(), orgs }) });
      } catch {
        throw new ApiError({ status: 0, title: 'Network error', detail: 'The local runner could not be reached. Is `make run` still running?' });
      }
      if (!res.ok) throw await problemFrom(res);
      const body = (await res.json()) as { token: string; expiresAt?: string };
      onSignedIn({ token: body.token, expiresAt: body.expiresAt ?? null, sub: sub.trim(), orgs, mode: 'dev' }, orgs[0] ?? null);
    } catch (e) {
      const ae = e instanceof ApiError ? e : new ApiError({ status: 0, title: 'Sign-in failed', detail: String(e) });
      const fm: Record<string, string> = {};
      for (const f of ae.errors) fm[f.field.startsWith('orgs') ? 'orgs' : f.field] = f.message;
      setFieldErr(fm);
      setErr(ae);
      setBusy(false);
    }
  };

  return (
    <form class="signin__form" onSubmit={submit} noValidate>
      {err && <ProblemAlert error={err} />}
      <Field label="User ID" hint="Letters, digits and . _ @ : | + = - (no spaces): it becomes the token's subject (sub)." error={fieldErr.sub} required>
        {({ id, describedBy, invalid }) => (
          <input id={id} name="sub" value={sub} autocomplete="username" aria-describedby={describedBy} aria-invalid={invalid} onInput={(e) => setSub(e.currentTarget.value)} />
        )}
      </Field>
      <Field label="Organisations" hint="Comma-separated. The first one opens; empty opens your personal gateways. Switch at any time." error={fieldErr.orgs} optional>
        {({ id, describedBy, invalid }) => (
          <input id={id} name="orgs" value={orgText} placeholder="acme, beta" aria-describedby={describedBy} aria-invalid={invalid} onInput={(e) => setOrgText(e.currentTarget.value)} />
        )}
      </Field>
      <Button type="submit" variant="primary" class="btn--block" loading={busy} loadingText="Signing in…">
        Sign in
      </Button>
      <p class="signin__fine">
        <span class="pill">Local development</span> Tokens come from the local runner and work only against it.
      </p>
    </form>
  );
}
