// Gateway list: name, type with its icon, status badge, last
// check and last error on hover; filters by type and status kept in the URL;
// cursor pagination; an empty state that leads to "Add gateway"; refresh.
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../app-context';
import { currentError, GatewayStatusBadge, STATUS_LABELS } from '../components/GatewayStatus';
import { IconChevronLeft, IconChevronRight, IconPlus, IconRefresh, TypeIcon } from '../components/icons';
import { Button, EmptyState, LinkButton, Notice, ProblemAlert, Skeleton } from '../components/ui';
import { useFlash } from '../lib/flash';
import { absoluteTime, ms, relativeTime } from '../lib/format';
import { TYPE_LABELS } from '../lib/providers';
import { usePage } from '../lib/page';
import { useFetch } from '../lib/use-fetch';
import { navigate, onLinkClick, useLocation } from '../lib/router';
import { GATEWAY_STATUSES, GATEWAY_TYPES, type Gateway, type GatewayStatus, type GatewayType } from '../lib/types';

export const PAGE_SIZE = 20;

export function GatewayListPage() {
  const { api, org } = useApp();
  usePage('Gateways');
  const { query } = useLocation();
  const type = (GATEWAY_TYPES as string[]).includes(query.get('type') ?? '') ? (query.get('type') as GatewayType) : '';
  const status = (GATEWAY_STATUSES as string[]).includes(query.get('status') ?? '') ? (query.get('status') as GatewayStatus) : '';

  // cursors[i] is the cursor of page i (null for the first page); they
  // belong to one filter, and a new filter starts again from the first page.
  const filterKey = `${type}|${status}`;
  const [paging, setPaging] = useState<{ filter: string; cursors: (string | null)[] }>({ filter: filterKey, cursors: [null] });
  const cursors = paging.filter === filterKey ? paging.cursors : [null];
  const setCursors = (c: (string | null)[]) => setPaging({ filter: filterKey, cursors: c });
  const page = cursors.length - 1;
  const [flash, clearFlash] = useFlash();
  const list = useFetch((signal) => api.listGateways({ type, status, limit: PAGE_SIZE, cursor: cursors[page] }, signal), [api, type, status, cursors[page]]);
  const items = list.data?.items ?? null;
  const next = list.data?.nextCursor ?? null;
  const { error, loading } = list;
  const [refreshedAt, setRefreshedAt] = useState<number | null>(null);
  useEffect(() => {
    if (list.data) setRefreshedAt(Date.now());
  }, [list.data]);

  const setFilter = (k: 'type' | 'status', v: string) => {
    const q = new URLSearchParams(window.location.search);
    if (v) q.set(k, v);
    else q.delete(k);
    const s = q.toString();
    navigate(`/gateways${s ? `?${s}` : ''}`, { replace: true });
  };

  const goNext = () => {
    if (!next) return;
    setCursors([...cursors, next]);
  };
  const goPrev = () => {
    if (page === 0) return;
    setCursors(cursors.slice(0, -1));
  };

  const filtered = !!(type || status);
  const scope = org ? <>Gateways of <strong>{org}</strong></> : <>Your personal gateways</>;

  return (
    <div class="page">
      <div class="page-header">
        <div>
          <h1 class="page-title">Gateways</h1>
          <p class="page-subtitle">{scope}</p>
        </div>
        <div class="page-actions">
          <Button
            icon={<IconRefresh size={16} />}
            loading={loading && items !== null}
            loadingText="Refreshing…"
            onClick={list.reload}
            title={refreshedAt ? `Updated ${relativeTime(new Date(refreshedAt).toISOString())}` : undefined}
          >
            Refresh
          </Button>
          <LinkButton href="/gateways/new" variant="primary" icon={<IconPlus size={16} />}>Add gateway</LinkButton>
        </div>
      </div>

      {flash && <Notice kind="success" title={flash} onDismiss={clearFlash} />}

      <div class="toolbar" role="group" aria-label="Filters">
        <label class="select-field">
          <span>Type</span>
          <select data-testid="filter-type" value={type} onChange={(e) => setFilter('type', e.currentTarget.value)}>
            <option value="">All types</option>
            {GATEWAY_TYPES.map((t) => <option value={t}>{TYPE_LABELS[t]}</option>)}
          </select>
        </label>
        <label class="select-field">
          <span>Status</span>
          <select data-testid="filter-status" value={status} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">All statuses</option>
            {GATEWAY_STATUSES.map((s) => <option value={s}>{STATUS_LABELS[s]}</option>)}
          </select>
        </label>
        {filtered && (
          <Button variant="ghost" size="sm" onClick={() => navigate('/gateways', { replace: true })}>Clear filters</Button>
        )}
      </div>

      {error ? (
        <ProblemAlert error={error} onRetry={list.reload} />
      ) : items === null ? (
        <div class="card"><Skeleton lines={4} /></div>
      ) : items.length === 0 && page === 0 ? (
        filtered ? (
          <div class="card">
            <EmptyState level={2} title="No gateways match these filters" action={<Button onClick={() => navigate('/gateways', { replace: true })}>Clear filters</Button>}>
              Try another type or status.
            </EmptyState>
          </div>
        ) : (
          <div class="card">
            <EmptyState
              level={2}
              icon={<div class="empty__icons"><TypeIcon type="TELEGRAM_BOT" /><TypeIcon type="AI" /><TypeIcon type="WEBHOOK" /></div>}
              title="No gateways yet"
              action={<LinkButton href="/gateways/new" variant="primary" icon={<IconPlus size={16} />}>Add gateway</LinkButton>}
            >
              Connect a Telegram bot, an AI provider or a webhook endpoint to get started.
            </EmptyState>
          </div>
        )
      ) : (
        <>
          <div class={`card card--flush${loading ? ' is-loading' : ''}`}>
            <table class="gw-table" data-testid="gateway-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last check</th>
                  <th scope="col"><span class="sr-only">Open</span></th>
                </tr>
              </thead>
              <tbody>
                {items.map((g) => <GatewayRow g={g} />)}
              </tbody>
            </table>
          </div>
          {(page > 0 || next) && (
            <nav class="pager" aria-label="Pagination">
              <Button size="sm" icon={<IconChevronLeft size={16} />} disabled={page === 0 || loading} onClick={goPrev}>Previous</Button>
              <span class="pager__label">Page {page + 1}</span>
              <Button size="sm" disabled={!next || loading} onClick={goNext}>
                Next <IconChevronRight size={16} />
              </Button>
            </nav>
          )}
        </>
      )}
    </div>
  );
}

function GatewayRow({ g }: { g: Gateway }) {
  const href = `/gateways/${encodeURIComponent(g.id)}`;
  const err = currentError(g);
  return (
    <tr class="gw-row" data-testid="gateway-row" data-id={g.id} onClick={(e) => {
      if ((e.target as HTMLElement).closest('a')) return;
      navigate(href);
    }}>
      <td class="gw-row__name">
        <TypeIcon type={g.type} />
        <div class="gw-row__title">
          <a href={href} onClick={onLinkClick} class="gw-row__link">{g.name}</a>
          <span class="gw-row__sub mono">{g.id}</span>
        </div>
      </td>
      <td class="gw-row__type" data-label="Type">{TYPE_LABELS[g.type] ?? g.type}</td>
      <td data-label="Status">
        <GatewayStatusBadge status={g.status} lastError={err?.message} lastErrorAt={err?.at} />
        {/* Readable without hovering (touch, keyboard); cut to one line here, whole on the detail page. */}
        {err && <span class="gw-row__error" data-testid="row-error">{err.message}</span>}
      </td>
      <td class="gw-row__checked" data-label="Last check" title={absoluteTime(g.lastCheckedAt)}>
        {g.lastCheckedAt ? <>{relativeTime(g.lastCheckedAt)}{g.lastLatencyMs != null && <span class="muted"> · {ms(g.lastLatencyMs)}</span>}</> : <span class="muted">Not yet</span>}
      </td>
      <td class="gw-row__go" aria-hidden="true"><IconChevronRight size={16} /></td>
    </tr>
  );
}
