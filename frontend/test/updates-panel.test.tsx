import { fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayGoneContext } from '../src/components/detail/gateway-scope';
import { MAX_KEPT, mergeNewest, summarizeUpdate, UpdatesPanel } from '../src/components/detail/UpdatesPanel';
import type { ReceivedUpdate } from '../src/lib/types';
import { GatewayDetailPage } from '../src/pages/GatewayDetail';
import { gateway, json, makeApi, withApp } from './helpers';

function upd(id: number, over: Partial<ReceivedUpdate> = {}): ReceivedUpdate {
  return {
    updateId: id, type: 'message', chatId: 42, senderId: 42, messageDate: '2025-01-01T12:00:00Z', receivedAt: '2025-01-01T12:00:01.123Z',
    update: { update_id: id, message: { message_id: id, date: 1735732800, chat: { id: 42, type: 'private', first_name: 'Ada' }, from: { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' }, text: `hello ${id}` } },
    ...over,
  };
}
const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => upd(from + i));
const page = (items: ReceivedUpdate[], nextCursor: string) => json(200, { items, nextCursor });

interface Call {
  at: number;
  url: string;
  q: Record<string, string>;
  signal: AbortSignal;
}

/**
 * The updates route as the test answers it: answer gets the query and the
 * call's index and gives a Response, a promise of one, or null to hold the
 * request until it is aborted — a long poll with nothing new.
 */
function updatesServer(answer: (q: Record<string, string>, n: number) => Response | Promise<Response> | null) {
  const calls: Call[] = [];
  const fetch: typeof globalThis.fetch = ((input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const q = Object.fromEntries(new URL(url, 'http://x').searchParams);
    const signal = init.signal!;
    calls.push({ at: Date.now(), url, q, signal });
    const aborted = new Promise<Response>((_, fail) => signal.addEventListener('abort', () => fail(new DOMException('The operation was aborted.', 'AbortError'))));
    const r = url.includes('/updates') ? answer(q, calls.length - 1) : json(404, { title: 'Not Found', status: 404 });
    return r ? Promise.race([Promise.resolve(r), aborted]) : aborted;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function deferred() {
  let resolve!: (r: Response) => void;
  const promise = new Promise<Response>((r) => { resolve = r; });
  return { promise, resolve };
}

const rows = () => screen.queryAllByTestId('update-row');
const rowIds = () => rows().map((r) => Number(r.getAttribute('data-update-id')));
const mode = () => screen.getByTestId('updates-live').getAttribute('data-mode');
const show = (fetch: typeof globalThis.fetch, g = gateway({ status: 'CONNECTED' })) => render(withApp(makeApi(fetch), <UpdatesPanel gateway={g} />));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Updates panel', () => {
  it('reads the newest updates, shows them newest first, then long-polls, paging on when a poll comes back full', async () => {
    const s = updatesServer((q) => {
      if (q.tail) return page(ids(1, 100), 'c1');
      if (q.cursor === 'c1') return page(ids(101, 200), 'c2');
      if (q.cursor === 'c2' && q.wait) return page(ids(201, 250), 'c3');
      return null;
    });
    show(s.fetch);
    await vi.waitFor(() => expect(s.calls).toHaveLength(3));
    await vi.advanceTimersByTimeAsync(1000);
    await vi.waitFor(() => expect(s.calls).toHaveLength(4));
    expect(s.calls.map((c) => c.q)).toEqual([
      { tail: '100' },
      { cursor: 'c1', limit: '100', wait: '20' },
      // A full page: the next poll follows at once.
      { cursor: 'c2', limit: '100', wait: '20' },
      { cursor: 'c3', limit: '100', wait: '20' },
    ]);
    expect(s.calls[0].url).toBe('/api/gateways/gw_1/updates?tail=100');
    await vi.waitFor(() => expect(rows()).toHaveLength(MAX_KEPT));
    expect(rowIds()[0]).toBe(250);
    expect(rowIds().at(-1)).toBe(51);
    expect(screen.getByText(`Showing the newest ${MAX_KEPT}.`)).toBeTruthy();
    expect(mode()).toBe('live');
    expect(screen.getByTestId('updates-live').textContent).toBe('Live');
  });

  it('puts updates that arrive on top, each once, and announces them at most every 10 s', async () => {
    const polls = [deferred(), deferred()];
    const s = updatesServer((q) => (!q.cursor ? page(ids(1, 2), 'c1') : q.cursor === 'c1' ? polls[0].promise : q.cursor === 'c2' ? polls[1].promise : null));
    show(s.fetch);
    await vi.waitFor(() => expect(rowIds()).toEqual([2, 1]));
    const said = () => screen.getByTestId('updates-announcement').textContent;
    expect(said()).toBe('');
    polls[0].resolve(page([upd(2), upd(3, { type: 'callback_query', senderId: 7, update: { update_id: 3, callback_query: { id: 'q', from: { id: 7, first_name: 'Bo' }, data: 'buy:42' } } })], 'c2'));
    await vi.waitFor(() => expect(rowIds()).toEqual([3, 2, 1]));
    expect(rows()[0].textContent).toMatch(/callback_query.*buy:42.*Chat 42.*From 7 Bo/s);
    await vi.waitFor(() => expect(said()).toBe('1 new update'));
    await vi.advanceTimersByTimeAsync(1000);
    await vi.waitFor(() => expect(s.calls.at(-1)!.q).toEqual({ cursor: 'c2', limit: '100', wait: '20' }));
    polls[1].resolve(page(ids(4, 5), 'c3'));
    await vi.waitFor(() => expect(rowIds()).toEqual([5, 4, 3, 2, 1]));
    expect(said()).toBe('1 new update');
    await vi.advanceTimersByTimeAsync(9000);
    expect(said()).toBe('2 new updates');
  });

  it('explains the empty state, and waits between live polls a server answers at once', async () => {
    const s = updatesServer((q) => page([], q.cursor ?? 'c0'));
    show(s.fetch, gateway({ status: 'DISCONNECTED' }));
    await vi.waitFor(() => screen.getByText('No updates yet'));
    expect(document.getElementById('updates')!.textContent).toMatch(/once the bot is connected and Telegram delivers them to its webhook\. Connect the gateway/);
    await vi.advanceTimersByTimeAsync(5000);
    // The catch-up read, then at most one live poll a second.
    expect(s.calls.length).toBeGreaterThanOrEqual(5);
    expect(s.calls.length).toBeLessThanOrEqual(7);
    expect(s.calls.slice(1).every((c) => c.q.cursor === 'c0' && c.q.wait === '20')).toBe(true);
  });

  it('shows and hides an update as pretty-printed JSON', async () => {
    const s = updatesServer((q) => (!q.cursor ? page([upd(1)], 'c1') : null));
    show(s.fetch);
    const button = await vi.waitFor(() => screen.getByRole('button', { name: 'Raw JSON of update 1' }));
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(rows()[0].textContent).toMatch(/message.*hello 1.*Chat 42.*From 42 @ada/s);
    fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const pre = document.getElementById(button.getAttribute('aria-controls')!)!;
    expect(pre.tagName).toBe('PRE');
    expect(pre.getAttribute('tabindex')).toBe('0');
    expect(pre.textContent).toBe(JSON.stringify(upd(1).update, null, 2));
    expect(pre.textContent).toContain('\n  "message": {\n    "message_id": 1,');
    fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(rows()[0].querySelector('pre')).toBeNull();
  });

  it('starts again from the newest updates when a filter changes, checking the chat id first', async () => {
    const s = updatesServer((q) => (q.tail ? page([upd(q.chatId ? 9 : q.type ? 5 : 1)], 'c1') : null));
    show(s.fetch);
    await vi.waitFor(() => expect(rowIds()).toEqual([1]));
    await vi.waitFor(() => expect(s.calls).toHaveLength(2));
    const held = s.calls[1];

    fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'callback_query' } });
    await vi.waitFor(() => expect(rowIds()).toEqual([5]));
    expect(held.signal.aborted).toBe(true);
    expect(s.calls[2].q).toEqual({ tail: '100', type: 'callback_query' });

    const chat = screen.getByLabelText('Chat ID');
    const before = s.calls.length;
    fireEvent.input(chat, { target: { value: '12.5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(screen.getByText('must be an integer, like 42 or -1001234567890')).toBeTruthy();
    expect(chat.getAttribute('aria-invalid')).toBe('true');
    expect(chat.getAttribute('aria-describedby')).toBe(document.querySelector('.field__error')!.id);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.calls).toHaveLength(before);

    fireEvent.input(chat, { target: { value: ' -1001234567890 ' } });
    fireEvent.submit(chat.closest('form')!);
    await vi.waitFor(() => expect(rowIds()).toEqual([9]));
    expect(s.calls[before].q).toEqual({ tail: '100', type: 'callback_query', chatId: '-1001234567890' });
    expect(chat.getAttribute('aria-invalid')).toBe('false');

    fireEvent.click(screen.getAllByRole('button', { name: 'Clear filters' })[0]);
    await vi.waitFor(() => expect(rowIds()).toEqual([1]));
    expect(s.calls.filter((c) => !c.q.cursor).at(-1)!.q).toEqual({ tail: '100' });
    expect((chat as HTMLInputElement).value).toBe('');
  });

  it('says when nothing matches the filters', async () => {
    const s = updatesServer((q) => (q.type ? page([], 'c1') : !q.cursor ? page([upd(1)], 'c1') : null));
    show(s.fetch);
    await vi.waitFor(() => expect(rowIds()).toEqual([1]));
    fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'poll' } });
    await vi.waitFor(() => screen.getByText('No updates match these filters'));
  });

  it('keeps the list through a failure, retries after 1 s then 2 s, and recovers', async () => {
    const s = updatesServer((q, n) => {
      if (!q.cursor) return page([upd(1)], 'c1');
      if (n === 1 || n === 2) return json(503, { title: 'Service unavailable', status: 503, detail: 'Try again in a moment.' });
      if (n === 3) return page([upd(2)], 'c2');
      return null;
    });
    show(s.fetch);
    const alert = await vi.waitFor(() => screen.getByRole('alert'));
    expect(alert.textContent).toMatch(/Service unavailable.*Try again in a moment/s);
    expect(rowIds()).toEqual([1]);
    expect(mode()).toBe('retrying');
    await vi.advanceTimersByTimeAsync(3000);
    await vi.waitFor(() => expect(rowIds()).toEqual([2, 1]));
    expect(s.calls.slice(1, 4).map((c) => c.q)).toEqual(Array(3).fill({ cursor: 'c1', limit: '100', wait: '20' }));
    const gaps = [s.calls[2].at - s.calls[1].at, s.calls[3].at - s.calls[2].at];
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[0]).toBeLessThan(1100);
    expect(gaps[1]).toBeGreaterThanOrEqual(2000);
    expect(gaps[1]).toBeLessThan(2100);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(mode()).toBe('live');
  });

  it('stops on an error retrying cannot fix, shows it beside the field, and retries when asked', async () => {
    const s = updatesServer((q, n) => (n === 0
      ? json(400, { title: 'Invalid request', status: 400, detail: 'The request is invalid.', errors: [{ field: 'chatId', message: 'is not a chat of this bot' }] })
      : !q.cursor ? page([upd(1)], 'c1') : null));
    show(s.fetch);
    expect((await vi.waitFor(() => screen.getByRole('alert'))).textContent).toMatch(/Invalid request/);
    expect(screen.getByText('is not a chat of this bot')).toBeTruthy();
    expect(mode()).toBe('stopped');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.calls).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await vi.waitFor(() => expect(rowIds()).toEqual([1]));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('stops polling when unmounted', async () => {
    const s = updatesServer((q) => (!q.cursor ? page([upd(1)], 'c1') : null));
    const { unmount } = show(s.fetch);
    await vi.waitFor(() => expect(s.calls).toHaveLength(2));
    expect(s.calls[1].signal.aborted).toBe(false);
    unmount();
    expect(s.calls[1].signal.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(s.calls).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('pauses while the tab is hidden, and goes on from the same cursor', async () => {
    const hidden = vi.spyOn(document, 'hidden', 'get').mockReturnValue(false);
    const s = updatesServer((q) => (!q.cursor ? page([upd(1)], 'c1') : null));
    show(s.fetch);
    await vi.waitFor(() => expect(s.calls).toHaveLength(2));
    hidden.mockReturnValue(true);
    document.dispatchEvent(new Event('visibilitychange'));
    expect(s.calls[1].signal.aborted).toBe(true);
    await vi.waitFor(() => expect(mode()).toBe('hidden'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.calls).toHaveLength(2);
    expect(rowIds()).toEqual([1]);
    hidden.mockReturnValue(false);
    document.dispatchEvent(new Event('visibilitychange'));
    await vi.waitFor(() => expect(s.calls).toHaveLength(3));
    expect(s.calls[2].q).toEqual({ cursor: 'c1', limit: '100', wait: '20' });
    expect(mode()).toBe('live');
  });

  it('pauses and resumes on request', async () => {
    const s = updatesServer((q) => (!q.cursor ? page([upd(1)], 'c1') : null));
    show(s.fetch);
    await vi.waitFor(() => expect(s.calls).toHaveLength(2));
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(s.calls[1].signal.aborted).toBe(true);
    await vi.waitFor(() => expect(mode()).toBe('paused'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.calls).toHaveLength(2);
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await vi.waitFor(() => expect(s.calls).toHaveLength(3));
    expect(s.calls[2].q.cursor).toBe('c1');
    await vi.waitFor(() => expect(mode()).toBe('live'));
  });

  it('reports a 404 to the page (the gateway is gone) and stops polling, without hiding', async () => {
    const s = updatesServer(() => json(404, { title: 'Not Found', status: 404, detail: 'gateway not found' }));
    const gone = vi.fn();
    render(withApp(makeApi(s.fetch), <GatewayGoneContext.Provider value={gone}><UpdatesPanel gateway={gateway({ status: 'CONNECTED' })} /></GatewayGoneContext.Provider>));
    await vi.waitFor(() => expect(gone).toHaveBeenCalledTimes(1));
    expect(document.getElementById('updates')!.querySelector('[role="alert"]')!.textContent).toMatch(/gateway not found/);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.calls).toHaveLength(1);
  });
});

describe('Gateway detail', () => {
  it.each(['TELEGRAM_BOT', 'AI'] as const)('shows the updates of Telegram gateways, after the Telegram panel (%s)', async (type) => {
    const s = updatesServer(() => page([], 'c0'));
    const f = ((input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url === '/api/gateways/gw_1') return Promise.resolve(json(200, gateway({ type }), { ETag: '"1"' }));
      if (url.endsWith('/actions/getWebhookInfo')) return Promise.resolve(json(200, { url: '', pending_update_count: 0 }));
      return s.fetch(input, init);
    }) as typeof fetch;
    render(withApp(makeApi(f), <GatewayDetailPage id="gw_1" />));
    await vi.waitFor(() => screen.getByRole('heading', { level: 1, name: 'Support bot' }));
    if (type === 'TELEGRAM_BOT') {
      await vi.waitFor(() => screen.getByText('No updates yet'));
      expect(document.getElementById('updates')!.previousElementSibling?.id).toBe('telegram');
    } else {
      await vi.advanceTimersByTimeAsync(1000);
      expect(document.getElementById('updates')).toBeNull();
      expect(s.calls.some((c) => c.url.includes('/updates'))).toBe(false);
    }
  });
});

describe('mergeNewest', () => {
  it('puts new updates first, each once, and keeps the newest', () => {
    const [list, fresh] = mergeNewest([upd(2), upd(1)], [upd(2), upd(3), upd(3), upd(4)], 3);
    expect(list.map((u) => u.updateId)).toEqual([4, 3, 2]);
    expect(fresh).toBe(2);
    const kept = [upd(1)];
    expect(mergeNewest(kept, [upd(1)])).toEqual([kept, 0]);
  });
});

describe('summarizeUpdate', () => {
  const u = (type: string, body: unknown) => upd(1, { type, update: { update_id: 1, [type]: body } });
  it.each([
    { name: 'a message', update: u('message', { text: 'hi\nthere' }), want: 'hi there' },
    { name: 'a photo with a caption', update: u('channel_post', { photo: [{}], caption: 'look' }), want: '[photo] look' },
    { name: 'a sticker', update: u('message', { sticker: { emoji: '👍' } }), want: '[sticker 👍]' },
    { name: 'a long text', update: u('edited_message', { text: 'x'.repeat(300) }), want: `${'x'.repeat(119)}…` },
    { name: 'callback data', update: u('callback_query', { data: 'buy:42' }), want: 'buy:42' },
    { name: 'an inline query', update: u('inline_query', { query: 'cats' }), want: 'cats' },
    { name: 'a member change', update: u('my_chat_member', { old_chat_member: { status: 'member' }, new_chat_member: { status: 'kicked' } }), want: 'member → kicked' },
    { name: 'a reaction', update: u('message_reaction', { new_reaction: [{ type: 'emoji', emoji: '🔥' }] }), want: 'Reacted 🔥' },
    { name: 'a poll answer', update: u('poll_answer', { option_ids: [0, 2] }), want: 'Chose option 0, 2' },
    { name: 'an unknown update', update: upd(1, { type: 'unknown', update: { update_id: 1, something_new: {} } }), want: '' },
    { name: 'a field that is not an object', update: u('message', 'odd'), want: '' },
  ])('$name', ({ update, want }) => expect(summarizeUpdate(update)).toBe(want));
});
