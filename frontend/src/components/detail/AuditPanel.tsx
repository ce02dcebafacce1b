import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { absoluteTime, humanize, relativeTime } from '../../lib/format';
import type { AuditEvent, Page } from '../../lib/types';
import { statusLabel } from '../GatewayStatus';
import { IconHistory } from '../icons';
import { useFetch } from '../../lib/use-fetch';
import { Button, Card, ProblemAlert, Skeleton } from '../ui';
import { useReportGone } from './gateway-scope';

export function describeAudit(e: AuditEvent): string {
  const d = e.details ?? {};
  const changes = e.changes ?? [];
  switch (e.action) {
    case 'gateway.created':
      return 'Created the gateway';
    case 'gateway.updated': {
      const renamed = d.oldName !== undefined && d.newName !== undefined ? `renamed it from “${String(d.oldName)}” to “${String(d.newName)}”` : 'renamed it';
      const parts = changes.map((c) => (c === 'credentials' ? 'replaced the credentials' : c === 'name' ? renamed : c === 'config' ? 'changed the config' : `changed ${c}`));
      return parts.length ? capitalize(parts.join(', ')) : 'Updated the gateway';
    }
    case 'gateway.status_changed':
      return d.from && d.to ? `Status ${statusLabel(String(d.from))} → ${statusLabel(String(d.to))}` : 'Changed the status';
    case 'gateway.tested':
      return d.result ? `Tested the connection: ${String(d.result).replace(/_/g, ' ')}` : 'Tested the connection';
    case 'gateway.deleted':
      return 'Deleted the gateway';
    // A bot's routes are audited in the bot's trail.
    case 'route.created':
      return d.target === 'EVENTBRIDGE' ? 'Added a route to EventBridge' : d.target === 'WEBHOOK' ? 'Added a route to a webhook' : 'Added a route';
    case 'route.updated':
      return changes.length ? `Changed a route's ${changes.join(', ')}` : 'Changed a route';
    case 'route.status_changed':
      return d.newStatus === 'PAUSED' ? 'Paused a route' : d.newStatus === 'ACTIVE' ? (d.oldStatus === 'ERROR' ? 'Retried a failing route' : 'Resumed a route') : 'Changed a route\'s status';
    case 'route.deleted':
      return 'Deleted a route';
    case 'route.replayed':
      if (d.deadLetters === 'true' || d.deadLetters === true) return `Replayed a route's dead letters${d.queued !== undefined ? ` (${String(d.queued)})` : ''}`;
      return d.queued !== undefined ? `Replayed ${String(d.queued)} update${String(d.queued) === '1' ? '' : 's'} along a route` : 'Replayed updates along a route';
    default:
      return humanize(e.action.replace(/^gateway\./, '').replace(/\./g, ' '));
  }
}

// Details the one-line description already says.
const SAID: Record<string, string[]> = {
  'gateway.created': ['type'],
  'gateway.updated': ['oldName', 'newName'],
  'gateway.status_changed': ['from', 'to'],
  'gateway.tested': ['result'],
  'route.created': ['target'],
  'route.status_changed': ['oldStatus', 'newStatus'],
  'route.replayed': ['queued', 'deadLetters'],
};

function extraDetails(e: AuditEvent): [string, unknown][] {
  const said = SAID[e.action] ?? [];
  return Object.entries(e.details ?? {}).filter(([k, v]) => !said.includes(k) && v !== '' && v !== null && v !== undefined);
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The dot's tone: a status change is coloured by where it ends (red for
 * → Error, green for → Connected), a test by its result; other events by
 * their kind.
 */
export function auditTone(e: AuditEvent): string {
  const d = e.details ?? {};
  const to = d.to ?? d.newStatus;
  if (to !== undefined) return `to-${String(to).toLowerCase()}`;
  if (e.action === 'gateway.tested' && d.result !== undefined) return d.result === 'ok' ? 'to-connected' : 'to-error';
  return e.action.split('.').pop() ?? '';
}

/** One row of the trail: a run of identical consecutive events shown once, with how many. */
export interface AuditRun {
  event: AuditEvent;
  count: number;
  /** The oldest event of the run (the list is newest first). */
  oldest: AuditEvent;
}

/** Collapses consecutive events that read the same and were made by the same actor ("Tested the connection: ok ×10"). */
export function collapseRuns(items: AuditEvent[]): AuditRun[] {
  const out: AuditRun[] = [];
  // Latency differs on every test; it does not make a test a different event.
  const key = (e: AuditEvent) => JSON.stringify([describeAudit(e), actorText(e), e.actor?.organizationId ?? null, extraDetails(e).filter(([k]) => k !== 'latencyMs')]);
  let prev = '';
  for (const e of items) {
    const k = key(e);
    const last = out[out.length - 1];
    if (last && k === prev) {
      last.count += 1;
      last.oldest = e;
    } else {
      out.push({ event: e, count: 1, oldest: e });
    }
    prev = k;
  }
  return out;
}

function actorText(e: AuditEvent): string {
  const a = e.actor ?? {};
  if (a.system) return a.system;
  return a.userId ?? 'unknown';
}

const PAGE = 20;

export function AuditPanel({ gatewayId, refreshKey }: { gatewayId: string; refreshKey: number }) {
  const { api } = useApp();
  const reportGone = useReportGone();
  // The newest page, read again on every refresh.
  const first = useFetch((signal) => api.audit(gatewayId, null, PAGE, signal), [api, gatewayId, refreshKey]);
  // Older pages belong to the first page they were read after: once a
  // refresh brings a new first page they are dropped, and a "load older"
  // still in flight is aborted, so an old page is never appended to a new list.
  const [older, setOlder] = useState<{ after: Page<AuditEvent>; items: AuditEvent[]; next: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [more, setMore] = useState(false);
  const moreReq = useRef<{ ac: AbortController; after: Page<AuditEvent> } | null>(null);
  useEffect(() => () => moreReq.current?.ac.abort(), []);
  useEffect(() => {
    if (!moreReq.current || moreReq.current.after === first.data) return;
    moreReq.current.ac.abort();
    moreReq.current = null;
    setMore(false);
    setMoreError(null);
  }, [first.data]);
  useEffect(() => reportGone(first.error), [first.error]);

  const mine = first.data && older?.after === first.data ? older : null;
  const items = first.data ? [...first.data.items, ...(mine?.items ?? [])] : null;
  const next = mine ? mine.next : (first.data?.nextCursor ?? null);
  const error = first.error ?? moreError;

  const loadOlder = async () => {
    const after = first.data;
    if (!after || !next || more) return;
    moreReq.current?.ac.abort();
    const ac = new AbortController();
    moreReq.current = { ac, after };
    setMore(true);
    setMoreError(null);
    try {
      const r = await api.audit(gatewayId, next, PAGE, ac.signal);
      if (ac.signal.aborted) return;
      setOlder((o) => ({ after, items: [...(o?.after === after ? o.items : []), ...r.items], next: r.nextCursor }));
    } catch (e) {
      if (ac.signal.aborted) return;
      setMoreError(e);
      reportGone(e);
    } finally {
      if (!ac.signal.aborted) setMore(false);
    }
  };

  return (
    <Card title="Audit trail" icon={<IconHistory size={18} />} id="audit">
      {error ? <ProblemAlert error={error} compact onRetry={first.error ? first.reload : loadOlder} /> : null}
      {items === null ? (!error && <Skeleton lines={3} />) : items.length === 0 ? (
        <p class="muted">No events yet.</p>
      ) : (
        <ol class="timeline" data-testid="audit-list">
          {collapseRuns(items).map(({ event: e, count, oldest }) => (
            <li class="timeline__item" data-action={e.action} data-tone={auditTone(e)} data-count={count}>
              <span class={`timeline__dot timeline__dot--${auditTone(e)}`} aria-hidden="true" />
              <div class="timeline__body">
                <div class="timeline__title">
                  {describeAudit(e)}
                  {count > 1 && <span class="timeline__count" title={`${count} times, since ${absoluteTime(oldest.at)}`}> ×{count}</span>}
                </div>
                <div class="timeline__meta">
                  <span>{actorText(e)}</span>
                  {e.actor?.organizationId && <span> · {e.actor.organizationId}</span>}
                  {e.actor?.sourceIp && <span class="mono"> · {e.actor.sourceIp}</span>}
                  <span> · </span>
                  <time dateTime={e.at} title={absoluteTime(e.at)}>{relativeTime(e.at)}</time>
                </div>
                {extraDetails(e).length > 0 && (
                  <div class="chips">
                    {extraDetails(e).map(([k, v]) => <span class="chip"><span class="muted">{humanize(k)}:</span> {typeof v === 'object' ? JSON.stringify(v) : String(v)}</span>)}
                  </div>
                )}
              </div>
            </li>
          ))}
        </ol>
      )}
      {next && (
        <div class="form-actions">
          <Button size="sm" loading={more} loadingText="Loading…" onClick={loadOlder}>Load older events</Button>
        </div>
      )}
    </Card>
  );
}
