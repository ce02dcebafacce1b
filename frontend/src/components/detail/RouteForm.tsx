// Adds a route, or edits one's target and filters (PUT with If-Match: a
// stale edit gets a 412 that is explained, never silently overwritten).
// The server is the authority on every field: its 422 field errors land
// beside the fields they name.
import { useId, useState } from 'preact/hooks';
import { ApiError } from '../../lib/api';
import type { Gateway, Route, RouteBody, RouteFilters, RouteTarget } from '../../lib/types';
import { parseChatId } from '../../lib/validation';
import { Button, Field, Link, ProblemAlert } from '../ui';
import { SaveError } from './ConflictAlert';
import { COMMON_UPDATE_TYPES } from './UpdatesPanel';

const EVENTBRIDGE = 'EVENTBRIDGE';

/** The form's own field keys, under which server errors are filed too. */
type Key = 'target' | 'updateTypes' | 'chatIds' | 'commandPrefix';

/** The form field a server error path belongs to ("filters.chatIds[1]" → chatIds), or null for the request as a whole. */
export function routeFieldOf(path: string): Key | null {
  if (path === 'target' || path.startsWith('target.') || path.startsWith('target[')) return 'target';
  const m = /^filters\.(updateTypes|chatIds|commandPrefix)\b/.exec(path);
  return m ? (m[1] as Key) : null;
}

/** Reads the chat ids box: integers separated by commas or spaces; empty means every chat. */
export function parseChatIds(text: string): { value: number[] } | { error: string } {
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const c = parseChatId(part);
    if ('error' in c) return { error: `“${part}” ${c.error}` };
    // No chat has id 0; the server refuses it too.
    if (c.value === 0) return { error: `“${part}” is not a chat id: chat ids are non-zero` };
    if (c.value !== null && !out.includes(c.value)) out.push(c.value);
  }
  return { value: out };
}

const targetKey = (t: RouteTarget | undefined) => (!t ? '' : t.type === 'WEBHOOK' ? t.gatewayId : EVENTBRIDGE);

interface Values {
  target: string;
  updateTypes: string[];
  chatIds: string;
  commandPrefix: string;
}

const valuesOf = (r?: Route): Values => ({
  target: targetKey(r?.target),
  updateTypes: r?.filters.updateTypes ?? [],
  chatIds: (r?.filters.chatIds ?? []).join(', '),
  commandPrefix: r?.filters.commandPrefix ?? '',
});

export interface RouteFormProps {
  /** The bot whose updates the route delivers. */
  bot: Gateway;
  /** The owner's WEBHOOK gateways, the targets to offer (null while they load). */
  webhooks: Gateway[] | null;
  /** The route being edited; without one, the form adds a route. */
  route?: Route;
  /** Sends the body: POST, or PUT with the version the edit started from. */
  save: (body: RouteBody) => Promise<Route>;
  onSaved: (r: Route) => void;
  onCancel: () => void;
  /** After a 412: the route as it is now (null when it could not be read). */
  reload?: () => Promise<Route | null>;
}

export function RouteForm({ bot, webhooks, route, save, onSaved, onCancel, reload }: RouteFormProps) {
  const [v, setV] = useState<Values>(() => valuesOf(route));
  const [busy, setBusy] = useState(false);
  const [reloading, setReloading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldErr, setFieldErr] = useState<Partial<Record<Key, string>>>({});
  const uid = useId();
  const editing = !!route;

  const set = <K extends keyof Values>(k: K, value: Values[K]) => setV((old) => ({ ...old, [k]: value }));
  const toggleType = (t: string, on: boolean) => set('updateTypes', on ? [...v.updateTypes, t] : v.updateTypes.filter((x) => x !== t));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    const fe: Partial<Record<Key, string>> = {};
    if (!v.target) fe.target = 'is required';
    const chats = parseChatIds(v.chatIds);
    if ('error' in chats) fe.chatIds = chats.error;
    setFieldErr(fe);
    if (Object.keys(fe).length || 'error' in chats) return;
    const target: RouteTarget = v.target === EVENTBRIDGE ? { type: 'EVENTBRIDGE' } : { type: 'WEBHOOK', gatewayId: v.target };
    const prefix = v.commandPrefix.trim();
    // An edit replaces the filters, so it names every one; an addition only those set.
    let filters: RouteFilters | undefined = { updateTypes: v.updateTypes, chatIds: chats.value, commandPrefix: prefix || null };
    if (!editing) {
      filters = {};
      if (v.updateTypes.length) filters.updateTypes = v.updateTypes;
      if (chats.value.length) filters.chatIds = chats.value;
      if (prefix) filters.commandPrefix = prefix;
      if (!Object.keys(filters).length) filters = undefined;
    }
    setBusy(true);
    try {
      onSaved(await save(filters ? { target, filters } : { target }));
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) {
        const byField: Partial<Record<Key, string>> = {};
        for (const f of err.errors) {
          const k = routeFieldOf(f.field);
          if (k) byField[k] = byField[k] ? `${byField[k]}; ${f.message}` : f.message;
        }
        setFieldErr(byField);
      }
    } finally {
      setBusy(false);
    }
  };

  const reloadLatest = async () => {
    if (!reload) return;
    setReloading(true);
    const r = await reload();
    setReloading(false);
    if (r) {
      setError(null);
      setFieldErr({});
      setV(valuesOf(r));
    }
  };

  // Errors on fields this form does not have are the request's: say them above it.
  const unplaced = error instanceof ApiError ? error.errors.filter((f) => f.field && !routeFieldOf(f.field)) : [];
  const known = new Set(webhooks?.map((g) => g.id) ?? []);
  const types = [...new Set([...allowedUpdates(bot), ...COMMON_UPDATE_TYPES, ...v.updateTypes])];
  const typesId = `route-types-${uid}`;
  return (
    <form class="route-form stack" noValidate onSubmit={submit} data-testid="route-form" aria-label={editing ? 'Edit route' : 'Add route'}>
      {error ? (
        error instanceof ApiError && error.conflict && reload ? (
          <SaveError error={error} onReload={reloadLatest} reloading={reloading} what="route" />
        ) : (
          <ProblemAlert error={error} compact>
            {unplaced.map((f) => <p class="alert__detail">{f.field}: {f.message}</p>)}
          </ProblemAlert>
        )
      ) : null}
      <Field
        label="Deliver to" required error={fieldErr.target}
        hint={webhooks && webhooks.length === 0
          ? <>You have no WEBHOOK gateways yet: <Link href="/gateways/new">add one</Link> to deliver to your own URL.</>
          : 'A WEBHOOK gateway receives each update as a signed POST; EventBridge gets it as an event.'}
      >
        {({ id, describedBy, invalid }) => (
          <select id={id} name="target" value={v.target} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
            onChange={(e) => set('target', e.currentTarget.value)}>
            <option value="">{webhooks === null ? 'Loading your webhooks…' : 'Choose a target…'}</option>
            {webhooks?.map((g) => <option value={g.id}>{g.name} (webhook)</option>)}
            {v.target && v.target !== EVENTBRIDGE && !known.has(v.target) && <option value={v.target}>Webhook {v.target}</option>}
            <option value={EVENTBRIDGE}>EventBridge</option>
          </select>
        )}
      </Field>
      <fieldset class={`field check-field${fieldErr.updateTypes ? ' field--invalid' : ''}`} aria-describedby={`${typesId}-hint${fieldErr.updateTypes ? ` ${typesId}-error` : ''}`}>
        <legend class="field__label">Update types <span class="field__opt">(optional)</span></legend>
        <div class="check-grid">
          {types.map((t) => (
            <label class="check">
              <input type="checkbox" name="updateTypes" value={t} checked={v.updateTypes.includes(t)} disabled={busy}
                onChange={(e) => toggleType(t, e.currentTarget.checked)} />
              <span class="mono">{t}</span>
            </label>
          ))}
        </div>
        {fieldErr.updateTypes && <p class="field__error" id={`${typesId}-error`}>{fieldErr.updateTypes}</p>}
        <p class="field__hint" id={`${typesId}-hint`}>None checked: every type.</p>
      </fieldset>
      <Field label="Chat IDs" optional error={fieldErr.chatIds} hint="Separated by commas, like 42, -1001234567890. Empty: every chat.">
        {({ id, describedBy, invalid }) => (
          <input id={id} name="chatIds" value={v.chatIds} autocomplete="off" spellcheck={false} placeholder="Any chat" aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
            onInput={(e) => set('chatIds', e.currentTarget.value)} />
        )}
      </Field>
      <Field label="Command prefix" optional error={fieldErr.commandPrefix} hint="Only messages whose text starts with it, like /start. Empty: every message.">
        {({ id, describedBy, invalid }) => (
          <input id={id} name="commandPrefix" value={v.commandPrefix} autocomplete="off" spellcheck={false} placeholder="/start" aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
            onInput={(e) => set('commandPrefix', e.currentTarget.value)} />
        )}
      </Field>
      <div class="form-actions">
        <Button variant="ghost" disabled={busy} onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" loading={busy} loadingText="Saving…">{editing ? 'Save route' : 'Add route'}</Button>
      </div>
    </form>
  );
}

function allowedUpdates(g: Gateway): string[] {
  const a = g.config?.allowedUpdates;
  return Array.isArray(a) ? a.filter((t): t is string => typeof t === 'string') : [];
}
