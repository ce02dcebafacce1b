// Replace credentials: the old ones are never shown; new ones are checked
// like on creation and sent with If-Match. The form is built from the
// server's description of the gateway's type; what is stored is shown
// whether or not that description has arrived.
import { useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import { providerFor, TYPE_LABELS, type ProviderInfo } from '../../lib/providers';
import type { Gateway } from '../../lib/types';
import { cleanCredentials, toFieldMap, validateCredentials } from '../../lib/validation';
import { CredentialFields } from '../CredentialFields';
import { IconKey } from '../icons';
import { Button, Card, Notice } from '../ui';
import { WithProviders } from '../WithProviders';
import { SaveError } from './ConflictAlert';
import { CredentialSummary } from './CredentialSummary';

type Props = {
  gateway: Gateway;
  onSaved: (g: Gateway) => void;
  /** The save failed: the page reads the gateway again. */
  onFailed?: (e: unknown) => void;
  onReload: () => Promise<Gateway | null>;
};

export function CredentialsPanel(props: Props) {
  const { gateway } = props;
  return (
    <Card title="Credentials" icon={<IconKey size={18} />} id="credentials">
      <CredentialSummary gateway={gateway} />
      <WithProviders lines={1}>
        {(items) => {
          const info = providerFor(items, gateway.type);
          return info
            ? <CredentialsEditor key={info.type} {...props} info={info} />
            : <Notice title={`The server does not describe ${TYPE_LABELS[gateway.type] ?? gateway.type} gateways, so their credentials cannot be replaced here.`} />;
        }}
      </WithProviders>
    </Card>
  );
}

function CredentialsEditor({ gateway, info, onSaved, onFailed, onReload }: Props & { info: ProviderInfo }) {
  const { api } = useApp();
  const [open, setOpen] = useState(false);
  // If-Match carries the version the form was opened at, not a newer one
  // the page read meanwhile: a change made elsewhere in between is a 412.
  const [baseVersion, setBaseVersion] = useState(gateway.version);
  const initial = (): Record<string, string> => (info.type === 'AI' ? { provider: String(gateway.credentialInfo?.provider ?? info.aiProviders?.[0]?.name ?? 'openai') } : {});
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [reloading, setReloading] = useState(false);
  const [saved, setSaved] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    const errs = validateCredentials(info, values);
    setErrors(toFieldMap(errs));
    if (errs.length) return;
    setBusy(true);
    try {
      const g = await api.updateGateway(gateway.id, { credentials: cleanCredentials(info, values) }, baseVersion);
      onSaved(g);
      setOpen(false);
      setValues(initial());
      setSaved(true);
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.errors.length) setErrors(err.fieldErrors());
      onFailed?.(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {saved && <Notice kind="success" title="Credentials replaced." onDismiss={() => setSaved(false)} />}
      {!open ? (
        <div class="form-actions">
          <Button onClick={() => { setOpen(true); setBaseVersion(gateway.version); setSaved(false); }}>Replace credentials</Button>
        </div>
      ) : (
        <form onSubmit={submit} noValidate data-testid="credentials-form" class="stack">
          <p class="muted small">Stored credentials are encrypted and never shown again. Enter the complete new set.</p>
          {error ? <SaveError error={error} onReload={async () => { setReloading(true); const g = await onReload(); setReloading(false); if (g) { setError(null); setBaseVersion(g.version); } }} reloading={reloading} /> : null}
          <CredentialFields info={info} values={values} onChange={(v) => { setValues(v); setErrors({}); }} errors={errors} disabled={busy} />
          <div class="form-actions">
            <Button variant="ghost" disabled={busy} onClick={() => { setOpen(false); setErrors({}); setError(null); setValues(initial()); }}>Cancel</Button>
            <Button type="submit" variant="primary" loading={busy} loadingText="Saving…">Save credentials</Button>
          </div>
        </form>
      )}
    </>
  );
}
