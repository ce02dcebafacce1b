// A route's second chances: replaying stored updates from an update id or a
// time, and its dead letters (the updates it gave up on), each with its
// raw JSON on demand, replayed together.
import { useEffect, useId, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import { absoluteTime, clockTime } from '../../lib/format';
import type { DeadLetter, ReplayBody, Route } from '../../lib/types';
import { IconChevronRight, IconRefresh } from '../icons';
import { Button, Field, ProblemAlert, Skeleton } from '../ui';

/** Dead letters per request. */
export const DEAD_LETTERS_PAGE = 20;

const queuedText = (n: number) => `${n} update${n === 1 ? '' : 's'} queued for replay.`;

/**
 * Reads the replay form: an update id (a non-negative integer), or a
 * datetime-local value taken in the browser's time zone and sent as RFC 3339.
 */
export function replayBody(by: 'updateId' | 'time', text: string): { value: ReplayBody } | { field: string; error: string } {
  const t = text.trim();
  if (by === 'updateId') {
    if (!/^\d+$/.test(t)) return { field: 'fromUpdateId', error: 'must be an update id, like 500001' };
    const n = Number(t);
    if (!Number.isSafeInteger(n)) return { field: 'fromUpdateId', error: 'is too large' };
    return { value: { fromUpdateId: n } };
  }
  const d = new Date(t);
  if (!t || Number.isNaN(d.getTime())) return { field: 'from', error: 'must be a date and time' };
  return { value: { from: d.toISOString() } };
}

export function ReplayForm({ route, onQueued, onCancel }: { route: Route; onQueued: (text: string) => void; onCancel: () => void }) {
  const { api } = useApp();
  const [by, setBy] = useState<'updateId' | 'time'>('updateId');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldErr, setFieldErr] = useState<string | null>(null);
  const name = `replay-by-${useId()}`;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    const b = replayBody(by, text);
    if ('error' in b) {
      setFieldErr(b.error);
      return;
    }
    setFieldErr(null);
    setBusy(true);
    try {
      onQueued(queuedText(await api.replayRoute(route.gatewayId, route.id, b.value)));
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) {
        const fe = err.fieldErrors();
        setFieldErr(fe.fromUpdateId ?? fe.from ?? null);
      }
    } finally {
      setBusy(false);
    }
  };

  const pick = (next: 'updateId' | 'time') => {
    setBy(next);
    setText('');
    setFieldErr(null);
  };
  return (
    <form class="route-replay stack" noValidate onSubmit={submit} aria-label="Replay updates" data-testid="replay-form">
      {error ? <ProblemAlert error={error} compact /> : null}
      <div class="segmented" role="radiogroup" aria-label="Replay from">
        <label class="check"><input type="radio" name={name} checked={by === 'updateId'} onChange={() => pick('updateId')} /> From an update ID</label>
        <label class="check"><input type="radio" name={name} checked={by === 'time'} onChange={() => pick('time')} /> From a time</label>
      </div>
      {by === 'updateId' ? (
        <Field label="First update ID" error={fieldErr} hint="Delivers again every stored update from this one on that the route's filters let through.">
          {({ id, describedBy, invalid }) => (
            <input id={id} name="fromUpdateId" inputMode="numeric" autocomplete="off" value={text} placeholder={route.lastDeliveredUpdateId != null ? String(route.lastDeliveredUpdateId) : '500001'}
              aria-describedby={describedBy} aria-invalid={invalid} disabled={busy} onInput={(e) => setText(e.currentTarget.value)} />
          )}
        </Field>
      ) : (
        <Field label="Received since" error={fieldErr} hint="Your local time. Delivers again every stored update received from then on that the route's filters let through.">
          {({ id, describedBy, invalid }) => (
            <input id={id} name="from" type="datetime-local" step={1} value={text}
              aria-describedby={describedBy} aria-invalid={invalid} disabled={busy} onInput={(e) => setText(e.currentTarget.value)} />
          )}
        </Field>
      )}
      <div class="form-actions">
        <Button variant="ghost" disabled={busy} onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" icon={<IconRefresh size={16} />} loading={busy} loadingText="Queuing…">Replay</Button>
      </div>
    </form>
  );
}

/** The route's dead letters, read when opened, with "Replay dead letters". */
export function DeadLetters({ route, onQueued }: { route: Route; onQueued: (text: string) => void }) {
  const { api } = useApp();
  const [items, setItems] = useState<DeadLetter[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [replaying, setReplaying] = useState(false);
  const [reloadKey, setReloadKey] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setError(null);
    api.deadLetters(route.gatewayId, route.id, { limit: DEAD_LETTERS_PAGE }, ac.signal).then(
      (p) => {
        setItems(p.items);
        setCursor(p.nextCursor);
        setLoading(false);
      },
      (e) => {
        if (ac.signal.aborted) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => ac.abort();
  }, [api, route.gatewayId, route.id, reloadKey]);

  const more = async () => {
    if (loading || !cursor) return;
    setLoading(true);
    try {
      const p = await api.deadLetters(route.gatewayId, route.id, { cursor, limit: DEAD_LETTERS_PAGE });
      setItems((old) => [...(old ?? []), ...p.items]);
      setCursor(p.nextCursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  const replay = async () => {
    if (replaying) return;
    setReplaying(true);
    setError(null);
    try {
      onQueued(queuedText(await api.replayRoute(route.gatewayId, route.id, { deadLetters: true })));
      setReloadKey((k) => k + 1);
    } catch (e) {
      setError(e);
    } finally {
      setReplaying(false);
    }
  };

  return (
    <div class="dead-letters stack" data-testid="dead-letters">
      {error ? (
        <ProblemAlert error={error} compact onRetry={() => setReloadKey((k) => k + 1)}>
          {error instanceof ApiError && error.errors.filter((f) => f.field).map((f) => <p class="alert__detail">{f.message}</p>)}
        </ProblemAlert>
      ) : null}
      {items === null ? (!error && <Skeleton lines={2} />) : items.length === 0 ? (
        <p class="muted small">No dead letters.</p>
      ) : (
        <ol class="update-list" aria-label="Dead letters">
          {items.map((d) => <DeadLetterRow key={d.updateId} d={d} />)}
        </ol>
      )}
      <div class="form-actions">
        {cursor && <Button size="sm" variant="ghost" loading={loading} loadingText="Loading…" onClick={more}>Load more</Button>}
        <Button size="sm" icon={<IconRefresh size={14} />} loading={replaying} loadingText="Queuing…" disabled={!items?.length && !route.deadLetters} onClick={replay}>
          Replay dead letters
        </Button>
      </div>
    </div>
  );
}

function DeadLetterRow({ d }: { d: DeadLetter }) {
  const [open, setOpen] = useState(false);
  const jsonId = `dead-letter-json-${useId()}`;
  return (
    <li class="update-row" data-testid="dead-letter" data-update-id={d.updateId}>
      <span class="chip mono update-row__type">{d.type}</span>
      <span class="update-row__summary text-danger" title={d.lastError}>{d.lastError || <span class="muted">—</span>}</span>
      <div class="update-row__meta">
        <span>Update <span class="mono">{d.updateId}</span></span>
        {d.chatId != null && <span>Chat <span class="mono">{d.chatId}</span></span>}
        <span>{d.attempts} attempt{d.attempts === 1 ? '' : 's'}</span>
        <span>Failed <time dateTime={d.failedAt} title={absoluteTime(d.failedAt)}>{clockTime(d.failedAt)}</time></span>
      </div>
      <button type="button" class="btn btn--ghost btn--sm update-row__toggle" aria-expanded={open} aria-controls={open ? jsonId : undefined} onClick={() => setOpen(!open)}>
        <IconChevronRight size={14} />
        <span>Raw JSON<span class="sr-only"> of dead letter {d.updateId}</span></span>
      </button>
      {open && <pre class="code update-row__json" id={jsonId} tabIndex={0} aria-label={`Dead letter ${d.updateId}, raw JSON`}>{JSON.stringify(d.update, null, 2)}</pre>}
    </li>
  );
}
