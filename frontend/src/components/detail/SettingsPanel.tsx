// Rename and edit config, with If-Match: a stale edit gets a 412 that is
// explained, never silently overwritten.
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import type { Gateway, UpdateGatewayBody } from '../../lib/types';
import { checkName, parseConfigText } from '../../lib/validation';
import { IconSettings } from '../icons';
import { Button, Card, Field, Notice } from '../ui';
import { SaveError } from './ConflictAlert';

const pretty = (c: Record<string, unknown>) => (c && Object.keys(c).length ? JSON.stringify(c, null, 2) : '');

export function SettingsPanel({ gateway, onSaved, onReload }: { gateway: Gateway; onSaved: (g: Gateway) => void; onReload: () => Promise<Gateway | null> }) {
  const { api } = useApp();
  const [name, setName] = useState(gateway.name);
  const [configText, setConfigText] = useState(pretty(gateway.config));
  const [dirty, setDirty] = useState(false);
  const [busy, setBusy] = useState(false);
  const [reloading, setReloading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  // Follow the gateway while the form is untouched.
  useEffect(() => {
    if (!dirty) {
      setName(gateway.name);
      setConfigText(pretty(gateway.config));
    }
  }, [gateway.version, gateway.name]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
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
    if (name.trim() !== gateway.name) body.name = name.trim();
    if ('value' in c && JSON.stringify(c.value) !== JSON.stringify(gateway.config ?? {})) body.config = c.value;
    if (!Object.keys(body).length) {
      setDirty(false);
      setSaved(true);
      return;
    }
    setBusy(true);
    try {
      const g = await api.updateGateway(gateway.id, body, gateway.version);
      setDirty(false);
      setSaved(true);
      onSaved(g);
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.errors.length) setFieldErr(err.fieldErrors());
    } finally {
      setBusy(false);
    }
  };

  const reload = async () => {
    setReloading(true);
    const g = await onReload();
    setReloading(false);
    if (g) {
      setError(null);
      setDirty(false);
      setName(g.name);
      setConfigText(pretty(g.config));
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
              onInput={(e) => { setName(e.currentTarget.value); setDirty(true); setSaved(false); }} />
          )}
        </Field>
        <Field label="Config (JSON object)" hint="Empty means the type's defaults." error={fieldErr.config} optional>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} name="config" class="mono" rows={4} placeholder="{}" value={configText} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
              onInput={(e) => { setConfigText(e.currentTarget.value); setDirty(true); setSaved(false); }} />
          )}
        </Field>
        <div class="form-actions">
          {dirty && (
            <Button variant="ghost" disabled={busy} onClick={() => { setDirty(false); setName(gateway.name); setConfigText(pretty(gateway.config)); setFieldErr({}); setError(null); }}>
              Discard
            </Button>
          )}
          <Button type="submit" variant="primary" loading={busy} loadingText="Saving…" disabled={!dirty}>Save changes</Button>
        </div>
      </form>
    </Card>
  );
}
