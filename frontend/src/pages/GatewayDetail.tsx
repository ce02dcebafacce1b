// Gateway detail: status with last error, masked
// credentials, config; rename and edit config with If-Match; replace
// credentials; connect / disconnect; test connection; type-specific panels
// (Telegram webhook + test message, received updates and the routes that
// push them on, AI chat); health sparkline; audit trail;
// delete with a confirmation that names the gateway.
import { useState } from 'preact/hooks';
import { useApp } from '../app-context';
import { AuditPanel } from '../components/detail/AuditPanel';
import { ChatPanel } from '../components/detail/ChatPanel';
import { CredentialsPanel } from '../components/detail/CredentialsPanel';
import { HealthPanel } from '../components/detail/HealthPanel';
import { RoutesPanel } from '../components/detail/RoutesPanel';
import { SettingsPanel } from '../components/detail/SettingsPanel';
import { TelegramPanel } from '../components/detail/TelegramPanel';
import { UpdatesPanel } from '../components/detail/UpdatesPanel';
import { currentError, GatewayStatusBadge, GatewayStatusIndicator } from '../components/GatewayStatus';
import { IconAlert, IconCheck, IconChevronLeft, IconInfo, IconPlug, IconPulse, IconTrash, IconUnplug, TypeIcon } from '../components/icons';
import { OUTCOME_LABELS } from '../components/Sparkline';
import { Button, Card, EmptyState, Facts, Link, LinkButton, Modal, Notice, ProblemAlert, Skeleton } from '../components/ui';
import { GatewayGoneContext, isNotFound } from '../components/detail/gateway-scope';
import { setFlash, useFlash } from '../lib/flash';
import { absoluteTime, humanize, ms, relativeTime } from '../lib/format';
import { TYPE_LABELS } from '../lib/providers';
import { usePage } from '../lib/page';
import { useFetch } from '../lib/use-fetch';
import { navigate } from '../lib/router';
import type { Gateway, TestResult } from '../lib/types';

type Op = 'test' | 'connect' | 'disconnect';

/**
 * What the delete dialog and the danger zone say happens to the history.
 * The exact retention wording is settled with the API; keep it here only.
 */
export const DELETE_RETENTION = 'The gateway is deleted; its audit trail is kept and stays readable by its owner.';

/**
 * Which of two gateways the page shows: the newer version, so a read that
 * raced a change (a panel's check, an action's answer) never puts an older
 * version over a newer one.
 */
export function newerVersion(current: Gateway | null, next: Gateway): Gateway {
  return current && current.id === next.id && current.version > next.version ? current : next;
}

export function GatewayDetailPage({ id }: { id: string }) {
  const { api } = useApp();
  // The gateway as the server has it. Every read goes through here — the
  // first, and the re-reads after a failed change, a panel's 404 or a
  // conflict — so a newer read cancels an older one and leaving the page
  // cancels the read under way. The page is keyed by id (App.tsx).
  const read = useFetch((signal) => api.getGateway(id, signal), [api, id], { merge: newerVersion });
  const gateway = read.data;
  // A change answered 404: the gateway is gone, nothing to read again.
  const [gone, setGone] = useState<unknown>(null);
  // A 404 at any time means it is gone: the whole page says so, whatever
  // was showing before. Another failure replaces the page only while there
  // is nothing to show; after that it is reported like a failed action.
  const loadError = gone ?? (isNotFound(read.error) || (!gateway && !read.loading) ? read.error : null);
  const readError = gateway && !loadError ? read.error : null;
  const [refreshKey, setRefreshKey] = useState(0);
  // Route changes are audited in the bot's trail: read it again after one.
  const [routeChanges, setRouteChanges] = useState(0);
  const [flash, clearFlash] = useFlash();
  const [op, setOp] = useState<Op | null>(null);
  const [opError, setOpError] = useState<unknown>(null);
  // A test's result, with the status it left the gateway in: it is shown
  // only while the gateway is still in that status.
  const [test, setTest] = useState<{ result: TestResult; status: string } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  usePage(isNotFound(loadError) ? 'Gateway not found' : loadError ? 'Gateway could not be loaded' : gateway ? gateway.name : null);

  // Reads the gateway as the server has it now; resolves to what the page
  // shows then, or null when the read failed or a newer one superseded it.
  const load = read.reload;

  // A change the server answered with the new gateway: show it, let the
  // panels read what depends on it, and drop a notice about an earlier
  // state ("created"), which no longer applies.
  const changed = (g: Gateway) => {
    read.set(g);
    setRefreshKey((k) => k + 1);
    clearFlash();
  };

  // A change that failed may still have changed the gateway (a failed
  // connect records ERROR): show what the server has now.
  const failed = async (e: unknown) => {
    if (isNotFound(e)) {
      setGone(e);
      return;
    }
    if (await load()) setRefreshKey((k) => k + 1);
  };

  // Long operations: one at a time, with progress, never double-submitted.
  const run = async (which: Op) => {
    if (op || !gateway) return;
    setOp(which);
    setOpError(null);
    setTest(null);
    try {
      if (which === 'test') {
        const r = await api.test(gateway.id);
        const now = r.gateway && r.gateway.id === gateway.id ? r.gateway : await load();
        if (now) changed(now);
        setTest({ result: r, status: (now ?? gateway).status });
      } else {
        changed(await api.setStatus(gateway.id, which === 'connect' ? 'CONNECTED' : 'DISCONNECTED'));
      }
    } catch (e) {
      if (!isNotFound(e)) setOpError(e);
      await failed(e);
    } finally {
      setOp(null);
    }
  };

  if (loadError) {
    if (isNotFound(loadError)) {
      return (
        <div class="card">
          <EmptyState level={1} title="Gateway not found" action={<LinkButton href="/gateways" variant="primary">Back to gateways</LinkButton>}>
            It was deleted, or it belongs to another workspace.
          </EmptyState>
        </div>
      );
    }
    return <ProblemAlert error={loadError} onRetry={() => void load()} />;
  }
  if (!gateway) return <div class="page"><div class="card"><Skeleton lines={5} /></div></div>;

  const status = op === 'connect' ? 'CONNECTING' : gateway.status;
  const isConnected = gateway.status === 'CONNECTED' || gateway.status === 'CONNECTING';

  const lastError = currentError(gateway);
  return (
    <GatewayGoneContext.Provider value={() => void load()}>
    <div class="page">
      <Link href="/gateways" class="back-link"><IconChevronLeft size={16} /> Gateways</Link>
      <div class="detail-header">
        <TypeIcon type={gateway.type} size={26} />
        <div class="detail-header__main">
          <h1 class="page-title" data-testid="gateway-name">{gateway.name}</h1>
          <div class="detail-header__meta">
            <GatewayStatusBadge status={status} lastError={lastError?.message} lastErrorAt={lastError?.at} />
            <span>{TYPE_LABELS[gateway.type] ?? gateway.type}</span>
            <span class="mono muted">{gateway.id}</span>
          </div>
        </div>
        <div class="page-actions">
          <Button
            icon={<IconPulse size={16} />} loading={op === 'test'} loadingText="Testing…" disabled={!!op}
            title="Run a health check now"
            onClick={() => run('test')}
          >
            Test connection
          </Button>
          {isConnected ? (
            <Button icon={<IconUnplug size={16} />} loading={op === 'disconnect'} loadingText="Disconnecting…" disabled={!!op} onClick={() => run('disconnect')}>Disconnect</Button>
          ) : (
            <Button variant="primary" icon={<IconPlug size={16} />} loading={op === 'connect'} loadingText="Connecting…" disabled={!!op} onClick={() => run('connect')}>Connect</Button>
          )}
        </div>
      </div>

      {flash && <Notice kind="success" title={flash} onDismiss={clearFlash} />}
      {opError || readError ? <ProblemAlert error={opError ?? readError} /> : null}
      {test && test.status === gateway.status && <TestResultCard result={test.result} onDismiss={() => setTest(null)} />}

      <div class="detail-grid">
        <div class="detail-main">
          <Card title="Overview" icon={<IconInfo size={18} />} id="overview">
            {lastError && (
              <div class="last-error" data-testid="last-error">
                <GatewayStatusIndicator status={gateway.status} lastError={lastError.message} lastErrorAt={lastError.at} showError />
              </div>
            )}
            <Facts
              rows={[
                ['Status', <GatewayStatusIndicator status={status} />],
                ['Type', TYPE_LABELS[gateway.type] ?? gateway.type],
                ['Workspace', gateway.organizationId ? <>Organisation <strong>{gateway.organizationId}</strong></> : <>Personal ({gateway.userId})</>],
                ['Created', <time title={absoluteTime(gateway.createdAt)}>{relativeTime(gateway.createdAt)}</time>],
                ['Updated', <time title={absoluteTime(gateway.updatedAt)}>{relativeTime(gateway.updatedAt)}</time>],
                ['Last connected', gateway.lastConnectedAt ? <time title={absoluteTime(gateway.lastConnectedAt)}>{relativeTime(gateway.lastConnectedAt)}</time> : <span class="muted">Never</span>],
                ['Last check', gateway.lastCheckedAt ? <span title={absoluteTime(gateway.lastCheckedAt)}>{relativeTime(gateway.lastCheckedAt)}{gateway.lastLatencyMs != null && ` · ${ms(gateway.lastLatencyMs)}`}</span> : <span class="muted">Not yet</span>],
                ['Version', String(gateway.version)],
              ]}
            />
            {gateway.config && Object.keys(gateway.config).length > 0 && (
              <>
                <h3 class="subhead">Config</h3>
                <pre class="code" data-testid="config-view">{JSON.stringify(gateway.config, null, 2)}</pre>
              </>
            )}
          </Card>
          {gateway.type === 'TELEGRAM_BOT' && <TelegramPanel gateway={gateway} refreshKey={refreshKey} />}
          {gateway.type === 'TELEGRAM_BOT' && <UpdatesPanel gateway={gateway} />}
          {gateway.type === 'TELEGRAM_BOT' && <RoutesPanel gateway={gateway} onChange={() => setRouteChanges((n) => n + 1)} />}
          {gateway.type === 'AI' && <ChatPanel gateway={gateway} />}
        </div>
        <div class="detail-side">
          <HealthPanel gatewayId={gateway.id} status={gateway.status} refreshKey={refreshKey} />
          <SettingsPanel gateway={gateway} onSaved={changed} onFailed={failed} onReload={load} />
          <CredentialsPanel gateway={gateway} onSaved={changed} onFailed={failed} onReload={load} />
          <Card title="Danger zone" class="card--danger">
            <p class="muted small">{DELETE_RETENTION} {gateway.type === 'TELEGRAM_BOT' ? "The bot's webhook is removed too. " : ''}This cannot be undone.</p>
            <div class="form-actions">
              <Button variant="danger" icon={<IconTrash size={16} />} disabled={!!op} onClick={() => setConfirmDelete(true)}>Delete gateway</Button>
            </div>
          </Card>
        </div>
        <div class="detail-audit">
          <AuditPanel gatewayId={gateway.id} refreshKey={refreshKey + routeChanges} />
        </div>
      </div>

      {confirmDelete && <DeleteDialog gateway={gateway} onClose={() => setConfirmDelete(false)} />}
    </div>
    </GatewayGoneContext.Provider>
  );
}

function TestResultCard({ result, onDismiss }: { result: TestResult; onDismiss: () => void }) {
  const ok = result.success;
  const details = Object.entries(result.details ?? {}).filter(([, v]) => v !== '' && v !== null && v !== undefined);
  return (
    <div class={`test-result test-result--${ok ? 'ok' : 'fail'}`} role="status" data-testid="test-result" data-result={result.result}>
      <div class="test-result__icon">{ok ? <IconCheck /> : <IconAlert />}</div>
      <div class="test-result__body">
        <strong>{ok ? 'Connection OK' : (OUTCOME_LABELS[result.result] ?? humanize(result.result))}</strong>
        <span class="muted"> · {ms(result.latencyMs)}</span>
        {result.error && <p class="test-result__error">{result.error}</p>}
        {details.length > 0 && (
          <div class="chips">
            {details.map(([k, v]) => <span class="chip"><span class="muted">{humanize(k)}:</span> {typeof v === 'object' ? JSON.stringify(v) : String(v)}</span>)}
          </div>
        )}
      </div>
      <button type="button" class="icon-btn" aria-label="Dismiss" onClick={onDismiss}>×</button>
    </div>
  );
}

function DeleteDialog({ gateway, onClose }: { gateway: Gateway; onClose: () => void }) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const del = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.deleteGateway(gateway.id);
      setFlash(`Gateway “${gateway.name}” deleted.`);
      navigate('/gateways');
    } catch (e) {
      if (isNotFound(e)) {
        setFlash(`Gateway “${gateway.name}” was already deleted.`);
        navigate('/gateways');
        return;
      }
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Delete “${gateway.name}”?`}
      onClose={onClose}
      busy={busy}
      footer={
        <>
          <Button variant="ghost" disabled={busy} onClick={onClose} data-autofocus>Cancel</Button>
          <Button variant="danger" icon={<IconTrash size={16} />} loading={busy} loadingText="Deleting…" onClick={del}>Delete gateway</Button>
        </>
      }
    >
      {error ? <ProblemAlert error={error} compact /> : null}
      <p>
        You are deleting the {TYPE_LABELS[gateway.type] ?? gateway.type} gateway <strong>{gateway.name}</strong> and its credentials.
        {gateway.status === 'CONNECTED' ? ' It is connected right now.' : ''} This cannot be undone.
      </p>
      <p data-testid="delete-retention">
        {DELETE_RETENTION}
      </p>
    </Modal>
  );
}
