import { humanize } from '../../lib/format';
import type { Gateway } from '../../lib/types';
import { Facts } from '../ui';

const LABELS: Record<string, string> = {
  botId: 'Bot ID', botUsername: 'Bot username', tokenLast4: 'Bot token', apiKeyLast4: 'API key',
  provider: 'Provider', model: 'Default model', baseUrl: 'Base URL', url: 'Endpoint URL', hasSigningSecret: 'Signing secret',
};

/** credentialInfo, masked: the server sends only non-secret facts and last-4s. */
export function CredentialSummary({ gateway }: { gateway: Gateway }) {
  const info = gateway.credentialInfo ?? {};
  const rows = Object.entries(info).map(([k, v]) => {
    let shown: string;
    if (/last4$/i.test(k)) shown = `••••••••${String(v)}`;
    else if (typeof v === 'boolean') shown = v ? 'Set' : 'Not set';
    else if (k === 'botUsername' && typeof v === 'string') shown = v.startsWith('@') ? v : `@${v}`;
    else shown = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return [LABELS[k] ?? humanize(k), <span class={/last4$/i.test(k) || k === 'baseUrl' || k === 'url' ? 'mono' : undefined}>{shown}</span>] as [string, preact.JSX.Element];
  });
  if (!rows.length) return <p class="muted small">No credential details.</p>;
  return <Facts rows={rows} />;
}
