import { render } from 'preact';
import { App } from './App';
import { completeSignIn, SignInError } from './auth/cognito';
import { saveOrg, saveSession } from './auth/session';
import { loadConfig } from './lib/config';
import './styles.css';

function BootError({ error }: { error: unknown }) {
  const detail = error instanceof Error ? error.message : String(error);
  return (
    <div class="boot-error" role="alert">
      <h1>Gatehouse could not start</h1>
      <p>{detail}</p>
      <button type="button" class="btn btn--primary btn--md" onClick={() => window.location.reload()}>Reload</button>
    </div>
  );
}

async function boot() {
  const root = document.getElementById('app')!;
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    render(<BootError error={e} />, root);
    return;
  }
  let signInError: unknown = null;
  if (config.auth.mode === 'cognito') {
    try {
      const out = await completeSignIn(config.auth);
      if (out) {
        saveSession(out.session);
        saveOrg(null);
        window.history.replaceState(null, '', out.returnTo);
      }
    } catch (e) {
      signInError = e instanceof SignInError ? e : new SignInError('Sign-in could not be completed', String(e));
    }
  }
  root.replaceChildren();
  render(<App config={config} signInError={signInError} />, root);
}

void boot();
