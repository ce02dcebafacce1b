// Add gateway: type selector, the credential form for the
// chosen type, client checks that mirror the server's, the server's field
// errors beside their fields, an Idempotency-Key per distinct submission,
// then the new gateway's page.
import { useMemo, useRef, useState } from 'preact/hooks';
import { useApp } from '../app-context';
import { CredentialFields } from '../components/CredentialFields';
import { IconChevronLeft, TypeIcon } from '../components/icons';
import { WithProviders } from '../components/WithProviders';
import { Button, Field, Link, ProblemAlert } from '../components/ui';
import { ApiError, randomId } from '../lib/api';
import { setFlash } from '../lib/flash';
import { humanize } from '../lib/format';
import { providerFor, type ProviderInfo } from '../lib/providers';
import { navigate, useLocation } from '../lib/router';
import type { Gateway, GatewayType } from '../lib/types';
import { cleanCredentials, parseConfigText, toFieldMap, validateCreate } from '../lib/validation';

export function AddGatewayPage() {
  const { providers, org } = useApp();
  const { query } = useLocation();
  // ?type= preselects a type once the server has described it.
  const [type, setType] = useState<GatewayType | null>(query.get('type') as GatewayType | null);
  const info = type && providers.status === 'ready' ? providerFor(providers.items, type) : undefined;

  return (
    <div class="page page--narrow">
      <Link href="/gateways" class="back-link"><IconChevronLeft size={16} /> Gateways</Link>
      <div class="page-header">
        <div>
          <h1 class="page-title">Add gateway</h1>
          <p class="page-subtitle">{org ? <>It will belong to <strong>{org}</strong>.</> : 'It will be one of your personal gateways.'}</p>
        </div>
      </div>

      <section class="card" aria-labelledby="type-heading">
        <h2 class="card__title" id="type-heading"><span class="step">1</span> Choose a type</h2>
        <WithProviders>
          {(infos) => (
            <div class="type-grid" role="radiogroup" aria-label="Gateway type">
              {infos.map((p) => (
                <button
                  type="button"
                  role="radio"
                  aria-checked={type === p.type}
                  class={`type-card${type === p.type ? ' is-selected' : ''}`}
                  data-type={p.type}
                  onClick={() => setType(p.type)}
                >
                  <TypeIcon type={p.type} size={22} />
                  <span class="type-card__name">{p.name}</span>
                  <span class="type-card__desc">{p.description}</span>
                </button>
              ))}
            </div>
          )}
        </WithProviders>
      </section>

      {info && <GatewayForm key={info.type} info={info} />}
    </div>
  );
}

function GatewayForm({ info }: { info: ProviderInfo }) {
  const { api } = useApp();
  const [name, setName] = useState('');
  const [creds, setCreds] = useState<Record<string, string>>((): Record<string, string> =>
    info.type === 'AI' ? { provider: info.aiProviders?.[0]?.name ?? 'openai' } : {},
  );
  const [configText, setConfigText] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // One key per distinct payload: a retry of the same submission reuses it,
  // so the server creates the gateway at most once.
  const idem = useRef<{ key: string; body: string } | null>(null);
  const touched = useRef(false);

  const liveErrors = useMemo(
    () => (touched.current ? toFieldMap(validateCreate(info, { name, credentials: creds, configText })) : {}),
    [info, name, creds, configText],
  );
  // Server errors stay until the field they name is edited.
  const shown = { ...errors, ...liveErrors };

  const edit = <T,>(setter: (v: T) => void, fields: string[]) => (v: T) => {
    setter(v);
    if (fields.length) {
      setErrors((e) => {
        const n = { ...e };
        for (const f of fields) delete n[f];
        return n;
      });
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    touched.current = true;
    const errs = validateCreate(info, { name, credentials: creds, configText });
    setProblem(null);
    if (errs.length) {
      setErrors(toFieldMap(errs));
      focusFirstError();
      return;
    }
    const parsed = parseConfigText(configText);
    const body = {
      name: name.trim(),
      type: info.type,
      credentials: cleanCredentials(info, creds),
      ...('value' in parsed && Object.keys(parsed.value).length ? { config: parsed.value } : {}),
    };
    const bodyText = JSON.stringify(body);
    if (!idem.current || idem.current.body !== bodyText) idem.current = { key: randomId(), body: bodyText };
    setBusy(true);
    try {
      const g: Gateway = await api.createGateway(body, idem.current.key);
      setFlash(`Gateway “${g.name}” created.`);
      navigate(`/gateways/${encodeURIComponent(g.id)}`);
    } catch (err) {
      setBusy(false);
      setProblem(err);
      if (err instanceof ApiError && err.errors.length) {
        setErrors(err.fieldErrors());
        focusFirstError();
      }
    }
  };

  const known = new Set(['name', 'config', ...info.credentialFields.map((f) => `credentials.${f.name}`)]);
  const strayErrors = Object.entries(errors).filter(([k]) => !known.has(k));

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="details-heading" data-testid="gateway-form">
      <h2 class="card__title" id="details-heading"><span class="step">2</span> {info.name} details</h2>
      {problem ? (
        <ProblemAlert error={problem}>
          {strayErrors.length > 0 && (
            <ul class="alert__list">
              {strayErrors.map(([k, m]) => <li><strong>{k ? humanize(k.replace(/^credentials\./, '')) : 'Request'}</strong> {m}</li>)}
            </ul>
          )}
        </ProblemAlert>
      ) : null}
      <Field label="Name" hint="Shown in lists and the audit trail." error={shown.name} required>
        {({ id, describedBy, invalid }) => (
          <input id={id} name="name" data-field="name" value={name} maxLength={200} autocomplete="off" placeholder={info.type === 'TELEGRAM_BOT' ? 'Support bot' : info.type === 'AI' ? 'Assistant' : 'Orders webhook'} aria-describedby={describedBy} aria-invalid={invalid} aria-required="true" disabled={busy} onInput={(e) => edit(setName, ['name'])(e.currentTarget.value)} />
        )}
      </Field>
      <CredentialFields
        info={info}
        values={creds}
        errors={shown}
        disabled={busy}
        onChange={(v) => {
          const changed = Object.keys({ ...v, ...creds }).filter((k) => v[k] !== creds[k]).map((k) => `credentials.${k}`);
          edit(setCreds, changed)(v);
        }}
      />
      <details class="advanced" open={!!shown.config}>
        <summary>Advanced: configuration</summary>
        <Field label="Config (JSON object)" hint={configHint(info)} error={shown.config} optional>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} name="config" data-field="config" rows={4} class="mono" placeholder="{}" value={configText} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy} onInput={(e) => edit(setConfigText, ['config'])(e.currentTarget.value)} />
          )}
        </Field>
      </details>
      <div class="form-actions">
        <Link href="/gateways" class="btn btn--ghost btn--md">Cancel</Link>
        <Button type="submit" variant="primary" loading={busy} loadingText="Creating…">Create gateway</Button>
      </div>
    </form>
  );
}

function configHint(info: ProviderInfo): string {
  if (info.configFields?.length) return `Keys: ${info.configFields.map((f) => f.name).join(', ')}.`;
  return 'Settings for this gateway type. Leave empty for the defaults.';
}

function focusFirstError() {
  requestAnimationFrame(() => {
    document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  });
}
