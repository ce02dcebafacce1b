// Telegram: the bot's routes (…/routes), which push each update it receives
// to one of the owner's WEBHOOK gateways or to EventBridge. Each route shows
// its target, filters, status and delivery state (lag, pending, last
// delivered, last error, dead letters), read again every REFRESH_MS while
// the panel is mounted and the browser tab is visible; it can be added,
// paused and resumed, edited (If-Match), replayed and deleted. Hidden where
// the server has no routes route.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import { absoluteTime, duration, ms, relativeTime } from '../../lib/format';
import type { Gateway, Route, RouteStatus } from '../../lib/types';
import { IconPlus, IconRoute, IconTrash } from '../icons';
import { Button, Card, EmptyState, Link, Modal, Notice, ProblemAlert, Skeleton } from '../ui';
import { RouteForm } from './RouteForm';
import { useReportGone } from './gateway-scope';
import { DeadLetters, ReplayForm } from './RouteReplay';
import { retryDelay } from './UpdatesPanel';

/** How often the routes are read again while visible. */
export const REFRESH_MS = 5000;
/** Pages of routes (or of WEBHOOK gateways) read at most per refresh. */
export const MAX_PAGES = 10;

const STATUS: Record<RouteStatus, [string, string]> = {
  ACTIVE: ['Active', 'connected'],
  PAUSED: ['Paused', 'disconnected'],
  ERROR: ['Error', 'error'],
};

/** Every page of a listing, at most MAX_PAGES of them. */
async function allPages<T>(page: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const p = await page(cursor);
    out.push(...p.items);
    if (!p.nextCursor || p.nextCursor === cursor) break;
    cursor = p.nextCursor;
  }
  return out;
}

/** onChange: a route was added, changed, replayed or deleted here (the bot's audit trail has news). */
export function RoutesPanel({ gateway, onChange }: { gateway: Gateway; onChange?: () => void }) {
  const { api } = useApp();
  const [routes, setRoutes] = useState<Route[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reportGone = useReportGone();
  const [webhooks, setWebhooks] = useState<Gateway[] | null>(null);
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  // Reads the routes now, ending any read in flight.
  const refresh = useRef(() => {});

  useEffect(() => {
    let stopped = false;
    let failures = 0;
    let req: AbortController | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const tick = async () => {
      clearTimeout(timer);
      req?.abort();
      if (stopped || document.hidden) return;
      const ac = new AbortController();
      req = ac;
      try {
        const items = await allPages((cursor) => api.listRoutes(gateway.id, cursor, ac.signal));
        if (stopped || ac.signal.aborted) return;
        failures = 0;
        setRoutes(items);
        setError(null);
      } catch (e) {
        if (stopped || ac.signal.aborted) return;
        reportGone(e);
        failures += 1;
        setError(e);
      } finally {
        if (req === ac) req = null;
      }
      timer = setTimeout(tick, failures ? Math.max(REFRESH_MS, retryDelay(failures)) : REFRESH_MS);
    };
    // Hidden: stop reading; visible again: read now.
    const onVisibility = () => void tick();

    refresh.current = () => void tick();
    document.addEventListener('visibilitychange', onVisibility);
    setRoutes(null);
    setError(null);
    void tick();
    return () => {
      stopped = true;
      document.removeEventListener('visibilitychange', onVisibility);
      clearTimeout(timer);
      req?.abort();
    };
  }, [api, gateway.id]);

  // The targets on offer: the owner's WEBHOOK gateways, read again when the form opens.
  useEffect(() => {
    const ac = new AbortController();
    allPages((cursor) => api.listGateways({ type: 'WEBHOOK', limit: 100, cursor }, ac.signal)).then(
      (items) => setWebhooks(items),
      () => { if (!ac.signal.aborted) setWebhooks((w) => w ?? []); },
    );
    return () => ac.abort();
  }, [api, adding]);

  const replace = (r: Route) => setRoutes((rs) => (rs ?? []).map((x) => (x.id === r.id ? r : x)));
  const said = (text: string) => {
    setNotice(text);
    refresh.current();
    onChange?.();
  };
  const targetName = (r: Route) => targetLabel(r, webhooks);

  return (
    <Card
      title="Routes" icon={<IconRoute size={18} />} id="routes"
      actions={!adding && <Button size="sm" icon={<IconPlus size={14} />} onClick={() => { setNotice(null); setAdding(true); }}>Add route</Button>}
    >
      <p class="muted small">
        Each update the bot receives is pushed to every route whose filters it matches, in order within each chat. A failed delivery is
        retried; an update that keeps failing becomes a dead letter, which you can replay.
      </p>
      {notice && <Notice kind="success" title={notice} onDismiss={() => setNotice(null)} />}
      {error ? <ProblemAlert error={error} compact onRetry={() => refresh.current()} /> : null}
      {adding && (
        <RouteForm
          bot={gateway} webhooks={webhooks}
          save={(body) => api.createRoute(gateway.id, body)}
          onSaved={(r) => {
            setAdding(false);
            setRoutes((rs) => [...(rs ?? []).filter((x) => x.id !== r.id), r]);
            said(`Route to ${targetName(r)} added.`);
          }}
          onCancel={() => setAdding(false)}
        />
      )}
      {routes === null ? (!error && <Skeleton lines={3} />) : routes.length === 0 ? (
        !adding && (
          <EmptyState title="No routes yet" action={<Button variant="primary" icon={<IconPlus size={16} />} onClick={() => setAdding(true)}>Add route</Button>}>
            Add a route to push this bot's updates to one of your webhooks or to EventBridge as they arrive.
          </EmptyState>
        )
      ) : (
        <ul class="route-list" data-testid="routes-list" aria-label="Routes">
          {routes.map((r) => (
            <RouteRow
              key={r.id} bot={gateway} route={r} webhooks={webhooks} target={targetName(r)}
              onChanged={(x) => { replace(x); onChange?.(); }} onNotice={said}
              onDeleted={() => {
                setRoutes((rs) => (rs ?? []).filter((x) => x.id !== r.id));
                said(`Route to ${targetName(r)} deleted.`);
              }}
            />
          ))}
        </ul>
      )}
    </Card>
  );
}

/** The target's name: the WEBHOOK gateway's, or "EventBridge". */
export function targetLabel(r: Route, webhooks: Gateway[] | null): string {
  if (r.target.type === 'EVENTBRIDGE') return 'EventBridge';
  const id = r.target.gatewayId;
  return webhooks?.find((g) => g.id === id)?.name ?? id;
}

type Open = 'edit' | 'replay' | null;

interface RowProps {
  bot: Gateway;
  route: Route;
  webhooks: Gateway[] | null;
  target: string;
  onChanged: (r: Route) => void;
  onDeleted: () => void;
  onNotice: (text: string) => void;
}

function RouteRow({ bot, route: r, webhooks, target, onChanged, onDeleted, onNotice }: RowProps) {
  const { api } = useApp();
  const [open, setOpen] = useState<Open>(null);
  const [deadOpen, setDeadOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // An edit is checked against the version it started from.
  const [editVersion, setEditVersion] = useState(r.version);
  const [label, cls] = STATUS[r.status] ?? [r.status, 'unknown'];
  const f = r.filters ?? { updateTypes: [], chatIds: [], commandPrefix: null };
  const unfiltered = !f.updateTypes?.length && !f.chatIds?.length && !f.commandPrefix;

  const setStatus = async (status: 'ACTIVE' | 'PAUSED') => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      onChanged(await api.setRouteStatus(r.gatewayId, r.id, status));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const toggle = (which: Open) => {
    setError(null);
    if (which === 'edit') setEditVersion(r.version);
    setOpen(open === which ? null : which);
  };

  return (
    <li class="route-row" data-testid="route-row" data-route-id={r.id} data-status={r.status}>
      <div class="route-row__head">
        <span class="route-row__target">
          {r.target.type === 'WEBHOOK' && target !== r.target.gatewayId ? <Link href={`/gateways/${encodeURIComponent(r.target.gatewayId)}`}>{target}</Link> : <span class={target === 'EventBridge' ? '' : 'mono'}>{target}</span>}
          <span class="muted small"> · {r.target.type === 'WEBHOOK' ? 'Webhook' : 'Event bus'}</span>
        </span>
        <span class={`status-badge status-badge--${cls}`} data-testid="route-status" title={r.statusReason ?? undefined}>
          <span class={`status-dot status-dot--sm status-dot--${cls}`} aria-hidden="true" />
          {label}
        </span>
      </div>
      {r.statusReason && <p class={`small ${r.status === 'ERROR' ? 'text-danger' : 'muted'}`} data-testid="route-status-reason">{r.statusReason}</p>}
      <div class="chips" aria-label="Filters">
        {unfiltered && <span class="chip">Every update</span>}
        {f.updateTypes?.length ? <span class="chip"><span class="muted">Types:</span> <span class="mono">{f.updateTypes.join(', ')}</span></span> : null}
        {f.chatIds?.length ? <span class="chip"><span class="muted">Chats:</span> <span class="mono">{f.chatIds.join(', ')}</span></span> : null}
        {f.commandPrefix ? <span class="chip"><span class="muted">Command:</span> <span class="mono">{f.commandPrefix}</span></span> : null}
      </div>
      <dl class="route-stats">
        <div><dt>Lag</dt><dd data-testid="route-lag">{r.lag > 0 ? duration(r.lag) : 'None'}</dd></div>
        <div><dt>Pending</dt><dd data-testid="route-pending">{r.pending}{r.pendingCapped ? '+' : ''}</dd></div>
        <div>
          <dt>Last delivered</dt>
          <dd data-testid="route-last-delivered" data-update-id={r.lastDeliveredUpdateId ?? undefined}>
            {r.lastDeliveredUpdateId != null ? (
              <>
                Update <span class="mono">{r.lastDeliveredUpdateId}</span>
                {r.lastDeliveredAt && <time dateTime={r.lastDeliveredAt} title={absoluteTime(r.lastDeliveredAt)}> · {relativeTime(r.lastDeliveredAt)}</time>}
                {r.lastDeliveryLagMs != null && <span class="muted" title="From its receipt to its delivery"> · took {ms(r.lastDeliveryLagMs)}</span>}
              </>
            ) : <span class="muted">Nothing yet</span>}
          </dd>
        </div>
        <div><dt>Dead letters</dt><dd data-testid="route-dead-letters">{r.deadLetters}</dd></div>
      </dl>
      {r.lastError && (
        <p class="route-row__error small" data-testid="route-last-error">
          <strong>Last error</strong>{r.lastErrorAt && <time dateTime={r.lastErrorAt} title={absoluteTime(r.lastErrorAt)}> ({relativeTime(r.lastErrorAt)})</time>}: {r.lastError}
          {r.consecutiveFailures > 1 && <span class="muted"> · {r.consecutiveFailures} failures in a row</span>}
        </p>
      )}
      {error ? <ProblemAlert error={error} compact /> : null}
      <div class="route-row__actions">
        {r.status === 'ACTIVE' ? (
          <Button size="sm" loading={busy} loadingText="Pausing…" onClick={() => setStatus('PAUSED')}>Pause</Button>
        ) : (
          <Button size="sm" loading={busy} loadingText={r.status === 'ERROR' ? 'Retrying…' : 'Resuming…'} onClick={() => setStatus('ACTIVE')}>
            {r.status === 'ERROR' ? 'Retry now' : 'Resume'}
          </Button>
        )}
        <Button size="sm" variant="ghost" aria-expanded={open === 'edit'} onClick={() => toggle('edit')}>Edit</Button>
        <Button size="sm" variant="ghost" aria-expanded={open === 'replay'} onClick={() => toggle('replay')}>Replay…</Button>
        {(r.deadLetters > 0 || deadOpen) && (
          <Button size="sm" variant="ghost" aria-expanded={deadOpen} onClick={() => setDeadOpen(!deadOpen)}>Dead letters ({r.deadLetters})</Button>
        )}
        <Button size="sm" variant="ghost" class="route-row__delete" icon={<IconTrash size={14} />} onClick={() => setConfirmDelete(true)}>
          Delete<span class="sr-only"> route to {target}</span>
        </Button>
      </div>
      {open === 'edit' && (
        <RouteForm
          bot={bot} webhooks={webhooks} route={{ ...r, version: editVersion }}
          save={(body) => api.updateRoute(r.gatewayId, r.id, body, editVersion)}
          reload={async () => {
            try {
              const latest = await api.getRoute(r.gatewayId, r.id);
              onChanged(latest);
              setEditVersion(latest.version);
              return latest;
            } catch (e) {
              setError(e);
              return null;
            }
          }}
          onSaved={(saved) => {
            onChanged(saved);
            setOpen(null);
            onNotice(`Route to ${target} saved.`);
          }}
          onCancel={() => setOpen(null)}
        />
      )}
      {open === 'replay' && <ReplayForm route={r} onCancel={() => setOpen(null)} onQueued={(t) => { setOpen(null); onNotice(t); }} />}
      {deadOpen && <DeadLetters route={r} onQueued={onNotice} />}
      {confirmDelete && <DeleteRouteDialog route={r} target={target} onClose={() => setConfirmDelete(false)} onDeleted={onDeleted} />}
    </li>
  );
}

function DeleteRouteDialog({ route, target, onClose, onDeleted }: { route: Route; target: string; onClose: () => void; onDeleted: () => void }) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const del = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.deleteRoute(route.gatewayId, route.id);
      onDeleted();
    } catch (e) {
      // Already gone is what was asked for.
      if (e instanceof ApiError && e.status === 404) {
        onDeleted();
        return;
      }
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={`Delete the route to “${target}”?`} onClose={onClose} busy={busy}
      footer={
        <>
          <Button variant="ghost" disabled={busy} onClick={onClose} data-autofocus>Cancel</Button>
          <Button variant="danger" icon={<IconTrash size={16} />} loading={busy} loadingText="Deleting…" onClick={del}>Delete route</Button>
        </>
      }
    >
      {error ? <ProblemAlert error={error} compact /> : null}
      <p>
        Gatehouse stops pushing this bot's updates to <strong>{target}</strong>
        {route.pending > 0 ? ` (${route.pending} waiting to be delivered)` : ''}. This cannot be undone.
      </p>
    </Modal>
  );
}
