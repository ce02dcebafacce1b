// Telegram: the updates the bot received (GET …/updates), newest first and
// live. The panel first reads the newest PAGE_SIZE updates (tail), then
// long-polls from there (cursor, wait) while it is mounted, the tab is
// visible and nobody paused it, paging on at once when a poll comes back
// full, and keeps the latest MAX_KEPT. Transient failures (network, 429, 5xx) are
// retried after a growing delay, others when asked to; either way the list
// stays. Hidden where the server has no updates route.
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import { absoluteTime, clockTime } from '../../lib/format';
import type { Gateway, ReceivedUpdate } from '../../lib/types';
import { parseChatId } from '../../lib/validation';
import { IconChevronRight, IconInbox } from '../icons';
import { Button, Card, EmptyState, ProblemAlert, Skeleton } from '../ui';
import { useReportGone } from './gateway-scope';

/** The most updates the panel keeps, newest first. */
export const MAX_KEPT = 200;
/** Updates per request: the API's most, so catching up takes the fewest requests. */
export const PAGE_SIZE = 100;
/** Seconds a live poll lets the server wait for something new (the API allows 0–20). */
export const WAIT_SECONDS = 20;
/** Live polls start at least this far apart, so a server that answers a wait at once is not hammered. */
export const MIN_POLL_GAP_MS = 1000;
/** Screen readers hear of new updates at most this often. */
export const ANNOUNCE_EVERY_MS = 10_000;
/** The delay before the nth retry after a transient failure: 1 s, doubling, at most 30 s. */
export const retryDelay = (n: number) => Math.min(30_000, 1000 * 2 ** (n - 1));

/** The update types offered as filters: the ones bots ask for most (the server takes any Bot API type). */
export const COMMON_UPDATE_TYPES = [
  'message', 'edited_message', 'channel_post', 'edited_channel_post', 'callback_query', 'inline_query',
  'chosen_inline_result', 'my_chat_member', 'chat_member', 'chat_join_request', 'message_reaction',
  'poll', 'poll_answer', 'shipping_query', 'pre_checkout_query',
];

type Mode = 'loading' | 'live' | 'paused' | 'hidden' | 'retrying' | 'stopped';

// Each mode's label and the status dot it borrows.
const MODES: Record<Mode, [string, string]> = {
  loading: ['Loading…', 'connecting'],
  live: ['Live', 'connected'],
  paused: ['Paused', 'disconnected'],
  hidden: ['Paused while the tab is hidden', 'disconnected'],
  retrying: ['Reconnecting…', 'connecting'],
  stopped: ['Stopped', 'error'],
};

interface Filter {
  type: string;
  chatId: number | null;
}

/** Worth retrying unasked: the network, throttling, the server's own trouble. */
function transient(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500);
}

/**
 * Puts a page (oldest first) on top of the kept updates (newest first),
 * each update once, keeping the newest max. Returns the list and how many
 * updates were new.
 */
export function mergeNewest(kept: ReceivedUpdate[], page: ReceivedUpdate[], max = MAX_KEPT): [ReceivedUpdate[], number] {
  const seen = new Set(kept.map((u) => u.updateId));
  const fresh: ReceivedUpdate[] = [];
  for (const u of page) {
    if (seen.has(u.updateId)) continue;
    seen.add(u.updateId);
    fresh.push(u);
  }
  return [fresh.length ? [...fresh.reverse(), ...kept].slice(0, max) : kept, fresh.length];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const MESSAGE_TYPES = ['message', 'edited_message', 'channel_post', 'edited_channel_post', 'business_message', 'edited_business_message'];
// What a message carries besides text, named in its summary.
const MEDIA = ['photo', 'video', 'animation', 'audio', 'voice', 'video_note', 'document', 'sticker', 'location', 'venue', 'contact', 'poll', 'dice', 'new_chat_members', 'left_chat_member', 'pinned_message'];

function oneLine(s: string, max = 120): string {
  const chars = Array.from(s.replace(/\s+/g, ' ').trim());
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : chars.join('');
}

/** One line on what an update is about: a message's text, a callback's data, a member's new status… */
export function summarizeUpdate(u: ReceivedUpdate): string {
  const b = obj(u.update?.[u.type]);
  if (!b) return '';
  if (MESSAGE_TYPES.includes(u.type)) {
    const media = MEDIA.find((k) => k in b);
    let tag = media ? media.replace(/_/g, ' ') : '';
    if (media === 'sticker') tag = `${tag} ${str(obj(b.sticker)?.emoji)}`.trim();
    return oneLine(`${tag ? `[${tag}] ` : ''}${str(b.text) || str(b.caption)}`);
  }
  switch (u.type) {
    case 'callback_query':
      return oneLine(str(b.data) || str(b.game_short_name));
    case 'inline_query':
    case 'chosen_inline_result':
      return oneLine(str(b.query));
    case 'poll':
      return oneLine(str(b.question));
    case 'poll_answer':
      return Array.isArray(b.option_ids) ? (b.option_ids.length ? `Chose option ${b.option_ids.join(', ')}` : 'Retracted the vote') : '';
    case 'my_chat_member':
    case 'chat_member':
      return `${str(obj(b.old_chat_member)?.status) || '?'} → ${str(obj(b.new_chat_member)?.status) || '?'}`;
    case 'chat_join_request':
      return oneLine(`Asks to join${str(b.bio) ? `: ${str(b.bio)}` : ''}`);
    case 'message_reaction': {
      const r = Array.isArray(b.new_reaction) ? b.new_reaction.map((x) => str(obj(x)?.emoji) || str(obj(x)?.type)).filter(Boolean) : [];
      return r.length ? oneLine(`Reacted ${r.join(' ')}`) : 'Removed a reaction';
    }
    case 'shipping_query':
    case 'pre_checkout_query':
      return oneLine(str(b.invoice_payload));
    default:
      return '';
  }
}

/** @username, else a person's name or a chat's title. */
function nameOf(v: unknown): string {
  const o = obj(v);
  if (!o) return '';
  if (str(o.username)) return `@${str(o.username)}`;
  return str(o.title) || [str(o.first_name), str(o.last_name)].filter(Boolean).join(' ');
}

function allowedUpdates(g: Gateway): string[] {
  const a = g.config?.allowedUpdates;
  return Array.isArray(a) ? a.filter((t): t is string => typeof t === 'string') : [];
}

export function UpdatesPanel({ gateway }: { gateway: Gateway }) {
  const { api } = useApp();
  const [filter, setFilter] = useState<Filter>({ type: '', chatId: null });
  const [chatText, setChatText] = useState('');
  const [chatErr, setChatErr] = useState<string | null>(null);
  const [items, setItems] = useState<ReceivedUpdate[] | null>(null);
  const [mode, setMode] = useState<Mode>('loading');
  const [error, setError] = useState<unknown>(null);
  const reportGone = useReportGone();
  const [paused, setPaused] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const pausedRef = useRef(false);
  // The running poll's controls: look again at whether it may poll; retry now.
  const control = useRef({ check: () => {}, retry: () => {} });
  const uid = useId();
  const chatInput = `updates-chat-${uid}`;

  useEffect(() => {
    let stopped = false;
    let fatal = false;
    let req: AbortController | null = null;
    let wake = () => {};
    let kept: ReceivedUpdate[] = [];
    let pending = 0;
    let lastAnnounced = 0;
    let announceTimer: ReturnType<typeof setTimeout> | undefined;

    /** Resolves after ms (without ms, never), or as soon as woken or stopped. */
    const sleep = (ms?: number) => new Promise<void>((resolve) => {
      const t = ms === undefined ? undefined : setTimeout(() => wake(), ms);
      wake = () => {
        clearTimeout(t);
        wake = () => {};
        resolve();
      };
    });
    const mayPoll = () => !pausedRef.current && !document.hidden;
    // Paused or hidden: end the request in flight. Free to go: go now,
    // unless an error waits for "Try again".
    const check = () => {
      if (!mayPoll()) req?.abort();
      else if (!fatal) wake();
    };
    const announce = (n: number) => {
      pending += n;
      if (announceTimer !== undefined) return;
      announceTimer = setTimeout(() => {
        announceTimer = undefined;
        lastAnnounced = Date.now();
        setAnnouncement(`${pending} new update${pending === 1 ? '' : 's'}`);
        pending = 0;
      }, Math.max(0, lastAnnounced + ANNOUNCE_EVERY_MS - Date.now()));
    };

    control.current = { check, retry: () => { fatal = false; wake(); } };
    document.addEventListener('visibilitychange', check);
    setItems(null);
    setError(null);
    setAnnouncement('');

    void (async () => {
      let cursor: string | null = null;
      let caughtUp = false;
      let failures = 0;
      while (!stopped) {
        if (!mayPoll()) {
          setMode(pausedRef.current ? 'paused' : 'hidden');
          await sleep();
          continue;
        }
        setMode(failures ? 'retrying' : caughtUp ? 'live' : 'loading');
        const ac = new AbortController();
        req = ac;
        const started = Date.now();
        try {
          const first = cursor === null;
          const page = await api.updates(gateway.id, first
            ? { tail: PAGE_SIZE, type: filter.type, chatId: filter.chatId }
            : { cursor, limit: PAGE_SIZE, type: filter.type, chatId: filter.chatId, wait: caughtUp ? WAIT_SECONDS : undefined },
          ac.signal);
          if (stopped) return;
          if (ac.signal.aborted) continue;
          failures = 0;
          setError(null);
          cursor = page.nextCursor || cursor;
          const [next, fresh] = mergeNewest(kept, page.items);
          const polled = caughtUp;
          if (polled && fresh) announce(fresh);
          kept = next;
          setItems(kept);
          // The newest updates leave nothing to catch up on; a full page
          // of a poll means more are waiting.
          const more = !first && page.items.length >= PAGE_SIZE;
          caughtUp ||= !more;
          setMode(caughtUp ? 'live' : 'loading');
          // A full page means more are waiting; the first live poll follows the catch-up at once.
          if (more || !polled) continue;
          const gap = started + MIN_POLL_GAP_MS - Date.now();
          if (gap > 0) await sleep(gap);
        } catch (e) {
          if (stopped) return;
          if (ac.signal.aborted) continue;
          setError(e);
          reportGone(e);
          if (e instanceof ApiError && e.status === 400 && e.fieldErrors().chatId) setChatErr(e.fieldErrors().chatId);
          if (transient(e)) {
            failures += 1;
            setMode('retrying');
            await sleep(retryDelay(failures));
          } else {
            fatal = true;
            setMode('stopped');
            await sleep();
          }
        } finally {
          if (req === ac) req = null;
        }
      }
    })();

    return () => {
      stopped = true;
      document.removeEventListener('visibilitychange', check);
      clearTimeout(announceTimer);
      req?.abort();
      wake();
    };
  }, [api, gateway.id, filter]);

  // Applying a filter starts again from the oldest update, and resumes.
  const run = (next: Filter) => {
    pausedRef.current = false;
    setPaused(false);
    if (next.type !== filter.type || next.chatId !== filter.chatId) setFilter(next);
    else control.current.check();
  };
  const applyForm = (type: string) => {
    const c = parseChatId(chatText);
    setChatErr('error' in c ? c.error : null);
    run({ type, chatId: 'error' in c ? filter.chatId : c.value });
  };
  const clearFilters = () => {
    setChatText('');
    setChatErr(null);
    run({ type: '', chatId: null });
  };
  const togglePause = () => {
    pausedRef.current = !paused;
    setPaused(!paused);
    control.current.check();
  };

  const types = [...new Set([...COMMON_UPDATE_TYPES, ...allowedUpdates(gateway), filter.type].filter(Boolean))];
  const filtered = !!filter.type || filter.chatId !== null;
  const [label, dot] = MODES[mode];
  return (
    <Card
      title="Updates" icon={<IconInbox size={18} />} id="updates"
      actions={
        <>
          <span class="live-indicator" data-testid="updates-live" data-mode={mode}>
            <span class={`status-dot status-dot--sm status-dot--${dot}${mode === 'live' ? ' is-animated' : ''}`} aria-hidden="true" />
            {label}
          </span>
          <Button size="sm" variant="ghost" onClick={togglePause}>{paused ? 'Resume' : 'Pause'}</Button>
        </>
      }
    >
      <p class="sr-only" role="status" data-testid="updates-announcement">{announcement}</p>
      <form class="toolbar" aria-label="Filter updates" noValidate onSubmit={(e) => { e.preventDefault(); applyForm(filter.type); }}>
        <label class="select-field">
          <span>Type</span>
          <select name="type" value={filter.type} onChange={(e) => applyForm(e.currentTarget.value)}>
            <option value="">Any type</option>
            {types.map((t) => <option value={t}>{t}</option>)}
          </select>
        </label>
        <div class="select-field">
          <label for={chatInput}>Chat ID</label>
          {/* Text, not type=number: phone keypads for numbers may lack the minus sign groups need. */}
          <input
            id={chatInput} name="chatId" value={chatText} placeholder="Any chat" autocomplete="off" spellcheck={false}
            aria-invalid={!!chatErr} aria-describedby={chatErr ? `${chatInput}-error` : undefined}
            onInput={(e) => setChatText(e.currentTarget.value)}
          />
          {chatErr && <p class="field__error" id={`${chatInput}-error`}>{chatErr}</p>}
        </div>
        <Button type="submit">Apply</Button>
        {filtered && <Button variant="ghost" onClick={clearFilters}>Clear filters</Button>}
      </form>

      {error ? <ProblemAlert error={error} compact onRetry={() => control.current.retry()} /> : null}
      {items === null ? (!error && <Skeleton lines={3} />) : items.length === 0 ? (
        filtered ? (
          <EmptyState title="No updates match these filters" action={<Button onClick={clearFilters}>Clear filters</Button>}>
            Updates that match appear here as they arrive.
          </EmptyState>
        ) : (
          <EmptyState title="No updates yet">
            Updates appear here once the bot is connected and Telegram delivers them to its webhook.
            {gateway.status === 'CONNECTED' ? '' : ' Connect the gateway to register the webhook.'}
          </EmptyState>
        )
      ) : (
        <>
          <ol class="update-list" data-testid="updates-list" aria-label="Received updates, newest first">
            {items.map((u) => <UpdateRow key={u.updateId} u={u} />)}
          </ol>
          {items.length >= MAX_KEPT && <p class="muted small">Showing the newest {MAX_KEPT}.</p>}
        </>
      )}
    </Card>
  );
}

function UpdateRow({ u }: { u: ReceivedUpdate }) {
  const [open, setOpen] = useState(false);
  const jsonId = `update-json-${useId()}`;
  const body = obj(u.update?.[u.type]);
  const sender = nameOf(body?.from ?? body?.user);
  const chat = nameOf(body?.chat ?? obj(body?.message)?.chat);
  const summary = summarizeUpdate(u);
  return (
    <li class="update-row" data-testid="update-row" data-update-id={u.updateId}>
      <span class="chip mono update-row__type">{u.type}</span>
      <span class="update-row__summary">{summary || <span class="muted">—</span>}</span>
      <div class="update-row__meta">
        <time dateTime={u.receivedAt} title={`Received ${absoluteTime(u.receivedAt)}`}>{clockTime(u.receivedAt)}</time>
        {u.chatId != null && <span>Chat <span class="mono">{u.chatId}</span>{chat && chat !== sender ? ` ${chat}` : ''}</span>}
        {u.senderId != null && <span>From <span class="mono">{u.senderId}</span>{sender ? ` ${sender}` : ''}</span>}
      </div>
      <button type="button" class="btn btn--ghost btn--sm update-row__toggle" aria-expanded={open} aria-controls={open ? jsonId : undefined} onClick={() => setOpen(!open)}>
        <IconChevronRight size={14} />
        <span>Raw JSON<span class="sr-only"> of update {u.updateId}</span></span>
      </button>
      {open && (
        // Focusable, so a keyboard can scroll a long update.
        <pre class="code update-row__json" id={jsonId} tabIndex={0} aria-label={`Update ${u.updateId}, raw JSON`}>{JSON.stringify(u.update, null, 2)}</pre>
      )}
    </li>
  );
}
