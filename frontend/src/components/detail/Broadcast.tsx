// The Telegram panel's "Broadcast": one message to many chats through the
// messages API, then the job's progress read every POLL_MS until it is done,
// with each chat's outcome a page at a time.
import { useRef, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError, randomId, type FieldError, type JobItem, type JobItemStatus, type MessageJob } from '../../lib/api';
import { useMessageJob } from '../../lib/jobs';
import { checkText, parseChatIds, splitFieldErrors } from '../../lib/telegram';
import type { Gateway } from '../../lib/types';
import { IconSend } from '../icons';
import { Button, Field, Notice, ProblemAlert, Skeleton } from '../ui';

/** Chats a page of the job view shows. */
export const JOB_PAGE = 50;

export function Broadcast({ gateway }: { gateway: Gateway }) {
  const { api } = useApp();
  const connected = gateway.status === 'CONNECTED';
  const [chats, setChats] = useState('');
  const [text, setText] = useState('');
  const [markdown, setMarkdown] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [other, setOther] = useState<FieldError[]>([]);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [job, setJob] = useState<{ id: string; total: number; replayed: boolean } | null>(null);
  // One key per broadcast: set when it is first sent, kept while no answer
  // came (a network error), so pressing Send again cannot queue it twice.
  const key = useRef<string | null>(null);
  const [retrying, setRetrying] = useState(false);

  const list = parseChatIds(chats);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const fe: Record<string, string> = {};
    if (list.invalid.length) fe.chatIds = `Not chat ids: ${list.invalid.slice(0, 5).join(', ')}${list.invalid.length > 5 ? ` and ${list.invalid.length - 5} more` : ''}. Use numeric ids or @channelusername.`;
    else if (!list.ids.length) fe.chatIds = 'At least one chat id is required.';
    else if (list.ids.length > 10000) fe.chatIds = `A broadcast goes to at most 10,000 chats; this list has ${list.ids.length}.`;
    const te = checkText(text, markdown ? 'markdown' : '');
    if (te) fe.text = te;
    setFieldErr(fe);
    setError(null);
    setOther([]);
    if (Object.keys(fe).length) return;
    setBusy(true);
    key.current ??= randomId();
    try {
      const message = markdown ? { text, format: 'markdown' as const } : { text };
      const r = await api.submitMessages(gateway.id, { broadcast: { chatIds: list.ids, message } }, key.current);
      key.current = null;
      setRetrying(false);
      setJob({ id: r.jobId, total: r.total, replayed: r.replayed });
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.status === 0) setRetrying(true);
      else {
        key.current = null;
        setRetrying(false);
      }
      if (err instanceof ApiError) {
        const { fields, other: rest } = splitFieldErrors(err);
        setFieldErr(fields);
        setOther(rest);
      }
    } finally {
      setBusy(false);
    }
  };

  const count = list.ids.length;
  return (
    <>
      <h3 class="subhead">Broadcast</h3>
      <form onSubmit={submit} noValidate class="stack" data-testid="telegram-broadcast">
        <p class="muted small">One message to many chats. Gatehouse queues it and sends at Telegram’s pace (about 30 messages a second, one a second per chat); each chat gets it once.</p>
        {error ? (
          <ProblemAlert error={error} compact>
            {retrying && <p class="alert__detail">Press Send again: it carries the same Idempotency-Key, so if the first attempt reached Gatehouse the broadcast is not queued twice.</p>}
            {other.length > 0 && <ul class="alert__list">{other.map((f) => <li><span class="mono">{f.field}</span>: {f.message}</li>)}</ul>}
          </ProblemAlert>
        ) : null}
        <Field id="tg-bc-chats" label="Chat ids" error={fieldErr.chatIds} required
          hint={<>One per line or separated by commas: numeric ids or @channelusername.{count > 0 && <> <strong>{count}</strong> {count === 1 ? 'chat' : 'chats'}{list.duplicates ? `, ${list.duplicates} repeated (sent once)` : ''}.</>}</>}>
          {({ id, describedBy, invalid }) => (
            <textarea id={id} name="chatIds" rows={3} value={chats} class="mono" spellcheck={false} placeholder={'123456789\n@mychannel'} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy}
              onInput={(e) => setChats(e.currentTarget.value)} />
          )}
        </Field>
        <Field id="tg-bc-text" label="Message" error={fieldErr.text ?? fieldErr.format} required>
          {({ id, describedBy, invalid }) => <textarea id={id} name="text" rows={3} value={text} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy} onInput={(e) => setText(e.currentTarget.value)} />}
        </Field>
        <label class="check">
          <input type="checkbox" name="markdown" checked={markdown} disabled={busy} onChange={(e) => setMarkdown(e.currentTarget.checked)} />
          Markdown (converted by Gatehouse to Telegram’s HTML)
        </label>
        <div class="form-actions">
          <Button type="submit" variant="primary" icon={<IconSend size={16} />} loading={busy} loadingText="Queuing…" disabled={!connected}>
            {retrying ? 'Send again' : count > 1 ? `Send to ${count} chats` : 'Send broadcast'}
          </Button>
        </div>
      </form>
      {job && <JobView key={job.id} gatewayId={gateway.id} jobId={job.id} replayed={job.replayed} />}
    </>
  );
}

const STATUS_LABELS: Record<JobItemStatus, string> = { QUEUED: 'Queued', SENT: 'Sent', FAILED: 'Failed', UNKNOWN: 'Unknown' };
const UNKNOWN_NOTE = 'Sent, but Telegram’s answer never came — not resent.';

/** A job's progress and its chats, a page at a time, read again until it is done. */
export function JobView({ gatewayId, jobId, replayed }: { gatewayId: string; jobId: string; replayed?: boolean }) {
  const { api } = useApp();
  // The cursors of the pages before this one, for Previous.
  const [pages, setPages] = useState<(string | null)[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const { job, cursor: shown, error } = useMessageJob(api, gatewayId, jobId, cursor, JOB_PAGE);
  const turning = shown !== cursor;

  const first = pages.length * JOB_PAGE;
  return (
    <section class="job" aria-labelledby="tg-job-title" data-testid="job-view" data-status={job?.status ?? 'LOADING'}>
      <div class="job__head">
        <h4 id="tg-job-title" class="job__title">Job <span class="mono">{jobId}</span></h4>
        {job && <span class={`job__status job__status--${job.status.toLowerCase()}`}>{job.status === 'DONE' ? 'Done' : job.status === 'RUNNING' ? 'Sending…' : 'Queued'}</span>}
      </div>
      {replayed && <Notice title="This broadcast had been queued already.">The server recognised its Idempotency-Key and shows the first job; nothing was sent twice.</Notice>}
      {error ? <ProblemAlert error={error} compact>{job && job.status !== 'DONE' ? <p class="alert__detail">Trying again shortly.</p> : null}</ProblemAlert> : null}
      {!job ? (error ? null : <Skeleton lines={2} />) : (
        <>
          <JobProgress job={job} />
          {job.unknown > 0 && <p class="small muted"><strong>Unknown</strong>: {UNKNOWN_NOTE} Check those chats before sending to them again.</p>}
          {turning ? <Skeleton lines={3} /> : (
            <ol class="job-items" start={first + 1} aria-label={`Chats ${first + 1} to ${first + job.items.length} of ${job.total}`} data-testid="job-items">
              {job.items.map((it) => <JobRow item={it} />)}
            </ol>
          )}
          {(pages.length > 0 || job.nextCursor) && (
            <div class="job__pager">
              <Button size="sm" disabled={pages.length === 0 || turning} onClick={() => { setCursor(pages[pages.length - 1]); setPages(pages.slice(0, -1)); }}>Previous</Button>
              {!turning && <span class="muted small">{first + 1}–{first + job.items.length} of {job.total}</span>}
              <Button size="sm" disabled={!job.nextCursor || turning} onClick={() => { setPages([...pages, cursor]); setCursor(job.nextCursor); }}>Next</Button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function JobRow({ item }: { item: JobItem }) {
  const ids = item.messageIds?.length ? item.messageIds : item.messageId != null ? [item.messageId] : [];
  return (
    <li class={`job-item job-item--${item.status.toLowerCase()}`} data-testid="job-item" data-status={item.status}>
      <span class="mono job-item__chat">{String(item.chatId)}</span>
      <span class={`job-item__status job-item__status--${item.status.toLowerCase()}`}>{STATUS_LABELS[item.status] ?? item.status}</span>
      <span class="job-item__detail">
        {item.status === 'SENT' && ids.length > 0 && <>message {ids.join(', ')}</>}
        {item.status === 'FAILED' && (item.error || 'Telegram refused it.')}
        {item.status === 'UNKNOWN' && <>{UNKNOWN_NOTE}{item.error ? <span class="muted"> ({item.error})</span> : null}</>}
      </span>
    </li>
  );
}

/** Sent, failed, unknown and queued as one bar, with the same figures in words for everyone. */
export function JobProgress({ job }: { job: MessageJob }) {
  const total = Math.max(job.total, 1);
  const parts: [string, number, string][] = [
    ['sent', job.sent, 'sent'], ['failed', job.failed, 'failed'], ['unknown', job.unknown, 'unknown'], ['queued', job.queued, 'queued'],
  ];
  const done = job.sent + job.failed + job.unknown;
  const words = parts.map(([, n, w]) => `${n} ${w}`).join(', ');
  return (
    <div class="job-progress">
      <div class="job-progress__bar" role="progressbar" aria-label="Broadcast progress" aria-valuemin={0} aria-valuemax={job.total} aria-valuenow={done}
        aria-valuetext={`${done} of ${job.total} done: ${words}`}>
        {parts.map(([cls, n]) => n > 0 && <span class={`job-progress__seg job-progress__seg--${cls}`} style={{ width: `${(n / total) * 100}%` }} />)}
      </div>
      <p class="job-progress__legend small" data-testid="job-counts">
        {parts.map(([cls, n, w]) => <span class={`job-progress__key job-progress__key--${cls}`}><strong>{n}</strong> {w}</span>)}
        <span class="muted">of {job.total}</span>
      </p>
    </div>
  );
}
