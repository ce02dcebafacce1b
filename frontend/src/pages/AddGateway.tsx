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
import { providerFor, type ProviderInfo } from '../lib/providers';
import { usePage } from '../lib/page';
import { navigate, useLocation } from '../lib/router';
import type { Gateway, GatewayType } from '../lib/types';
import { cleanCredentials, parseConfigText, toFieldMap, validateCreate } from '../lib/validation';

export function AddGatewayPage() {
  const { providers, org } = useApp();
  usePage('Add gateway');
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
            <div class="type-grid" role="radiogroup" aria-label="Gateway type" onKeyDown={(e) => radioKeys(e, infos.map((p) => p.type), type, setType)}>
              {infos.map((p, i) => (
                <button
                  type="button"
                  role="radio"
                  aria-checked={type === p.type}
                  // One stop in the tab order (the checked radio, or the first); arrows move within.
                  tabIndex={type === p.type || (!infos.some((q) => q.type === type) && i === 0) ? 0 : -1}
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
  // The config editor stays open once opened (or once the server finds fault with the config).
  const [advancedOpen, setAdvancedOpen] = useState(false);
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
        setErrors(formErrors(err));
        if (Object.keys(formErrors(err)).some((k) => k === 'config')) setAdvancedOpen(true);
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
        <ProblemAlert error={problemForForm(problem, info)}>
          {strayErrors.length > 0 && (
            <ul class="alert__list">
              {strayErrors.map(([k, m]) => <li>{k ? <code>{k.replace(/^credentials\./, '')}</code> : <strong>Request</strong>} {m}</li>)}
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
      <details class="advanced" open={advancedOpen || !!shown.config} onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}>
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

/**
 * The ARIA radio group's keys: arrows move to the next or previous type
 * (wrapping) and select it, Home and End to the first and last.
 */
export function radioKeys(e: KeyboardEvent, types: GatewayType[], current: GatewayType | null, select: (t: GatewayType) => void): void {
  const step: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (!(e.key in step) && e.key !== 'Home' && e.key !== 'End') return;
  e.preventDefault();
  const at = Math.max(0, types.indexOf(current as GatewayType));
  const next = e.key === 'Home' ? 0 : e.key === 'End' ? types.length - 1 : (at + step[e.key] + types.length) % types.length;
  select(types[next]);
  (e.currentTarget as HTMLElement).querySelector<HTMLElement>(`[data-type="${types[next]}"]`)?.focus();
}

/**
 * The server's field errors keyed by the form's fields. Errors inside the
 * config ("config.maxConnections") belong under the config editor, named
 * as the user wrote the key in their JSON.
 */
export function formErrors(err: ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (k: string, m: string) => { out[k] = out[k] ? `${out[k]}; ${m}` : m; };
  for (const e of err.errors) {
    if (!e.field) continue;
    if (e.field.startsWith('config.')) add('config', `${e.field.slice('config.'.length)} ${e.message}`);
    else add(e.field, e.message);
  }
  return out;
}

const GENERIC_TITLES = new Set(['Invalid request', 'Bad request', 'Unprocessable content', 'Unprocessable entity']);

/**
 * What the alert over the form says, as a person would: a credential the
 * provider refused is named ("The provider rejected this API key"); a
 * generic "Invalid request / The request is invalid." whose field errors
 * sit beside their fields says only where to look. Anything else is the
 * server's own problem text.
 */
export function problemForForm(problem: unknown, info: ProviderInfo): unknown {
  if (!(problem instanceof ApiError) || !GENERIC_TITLES.has(problem.title)) return problem;
  const fields = problem.errors.filter((e) => e.field);
  if (!fields.length) return problem;
  const rejected = fields.find((e) => e.field.startsWith('credentials.') && /rejected/i.test(e.message));
  if (rejected) {
    const raw = info.credentialFields.find((f) => `credentials.${f.name}` === rejected.field)?.label ?? rejected.field.slice('credentials.'.length);
    // "Bot token" → "bot token", but "API key" keeps its capitals.
    const label = /^[A-Z][a-z]/.test(raw) ? raw.charAt(0).toLowerCase() + raw.slice(1) : raw;
    return new ApiError({ status: problem.status, title: `The provider rejected this ${label}`, detail: `Check the ${label} and try again.`, errors: problem.errors.filter((e) => !e.field) });
  }
  return new ApiError({ status: problem.status, title: fields.length === 1 ? 'Please correct the highlighted field.' : 'Please correct the highlighted fields.', errors: problem.errors.filter((e) => !e.field) });
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
