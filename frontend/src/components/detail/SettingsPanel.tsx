// Rename and edit config, with If-Match: a stale edit gets a 412 that is
// explained, never silently overwritten. The If-Match is the version the
// edit started from: the page may read the gateway again meanwhile (a test,
// a connect), and sending that newer version would overwrite whatever
// someone else changed in between without a word.
import { useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import type { Gateway, UpdateGatewayBody } from '../../lib/types';
import { checkName, parseConfigText } from '../../lib/validation';
import { IconSettings } from '../icons';
import { Button, Card, Field, Notice } from '../ui';
import { SaveError } from './ConflictAlert';

const pretty = (c: Record<string, unknown>) => (c && Object.keys(c).length ? JSON.stringify(c, null, 2) : '');

type Props = {
  gateway: Gateway;
  onSaved: (g: Gateway) => void;
  /** The save failed: the page reads the gateway again. */
  onFailed?: (e: unknown) => void;
  onReload: () => Promise<Gateway | null>;
};

export function SettingsPanel({ gateway, onSaved, onFailed, onReload }: Props) {
  const { api } = useApp();
  // While the form is untouched it shows the gateway as it is now; an edit
  // copies it (base) and works on the copy until saved or discarded.
  const [base, setBase] = useState(gateway);
  const [editName, setName] = useState(gateway.name);
  const [editConfig, setConfigText] = useState(pretty(gateway.config));
  const [dirty, setDirty] = useState(false);
  const name = dirty ? editName : gateway.name;
  const configText = dirty ? editConfig : pretty(gateway.config);
  const [busy, setBusy] = useState(false);
  const [reloading, setReloading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    if (busy || !dirty) return;
    setSaved(false);
    setError(null);
    const fe: Record<string, string> = {};
    const n = checkName(name);
    if (n) fe.name = n;
    const c = parseConfigText(configText);
    if ('error' in c) fe.config = c.error;
    setFieldErr(fe);
    if (Object.keys(fe).length) return;
    const body: UpdateGatewayBody = {};
    const from = base;
    if (name.trim() !== from.name) body.name = name.trim();
    if ('value' in c && JSON.stringify(c.value) !== JSON.stringify(from.config ?? {})) body.config = c.value;
    if (!Object.keys(body).length) {
      setDirty(false);
      setSaved(true);
      return;
    }
    setBusy(true);
    try {
      const g = await api.updateGateway(gateway.id, body, from.version);
      setDirty(false);
      setSaved(true);
      onSaved(g);
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.errors.length) setFieldErr(err.fieldErrors());
      onFailed?.(err);
    } finally {
      setBusy(false);
    }
  };

  const startEdit = () => {
    if (!dirty) {
      setBase(gateway);
      setName(gateway.name);
      setConfigText(pretty(gateway.config));
    }
    setDirty(true);
    setSaved(false);
  };

  const reload = async () => {
    setReloading(true);
    const g = await onReload();
    setReloading(false);
    if (g) {
      setError(null);
      setDirty(false);
    }
  };

  return (
    <Card title="Settings" icon={<IconSettings size={18} />} id="settings">
      <form onSubmit={save} noValidate data-testid="settings-form" class="stack">
        {error ? <SaveError error={error} onReload={reload} reloading={reloading} /> : null}
        {saved && !dirty && <Notice kind="success" title="Changes saved." onDismiss={() => setSaved(false)} />}
        <Field label="Name" error={fieldErr.name} required>
          {({ id, describedBy, invalid }) => (
            <input id={id} name="name" value={name} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
              onInput={(e) => { const v = e.currentTarget.value; startEdit(); setName(v); }} />
          )}
        </Field>
        <Field label="Config (JSON object)" hint="Empty means the type's defaults." error={fieldErr.config} optional>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} name="config" class="mono" rows={4} placeholder="{}" value={configText} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
              onInput={(e) => { const v = e.currentTarget.value; startEdit(); setConfigText(v); }} />
          )}
        </Field>
        <div class="form-actions">
          {dirty && (
            <Button variant="ghost" disabled={busy} onClick={() => { setDirty(false); setFieldErr({}); setError(null); }}>
              Discard
            </Button>
          )}
          <Button type="submit" variant="primary" loading={busy} loadingText="Saving…" disabled={!dirty}>Save changes</Button>
        </div>
      </form>
    </Card>
  );
}
