import { fireEvent, render, screen, within } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Broadcast } from '../src/components/detail/Broadcast';
import type { JobItem, MessageJob } from '../src/lib/api';
import { POLL_MS } from '../src/lib/jobs';
import { gateway, json, makeApi, withApp } from './helpers';

interface Call {
  method: string;
  url: string;
  q: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  signal?: AbortSignal;
}

/** The messages API as a test answers it; answer may throw to play a dropped connection. */
function messagesServer(answer: (c: Call, n: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const c: Call = {
      method: init.method ?? 'GET', url, q: Object.fromEntries(new URL(url, 'http://x').searchParams),
      headers: { ...(init.headers as Record<string, string>) }, body: init.body ? JSON.parse(String(init.body)) : undefined, signal: init.signal ?? undefined,
    };
    calls.push(c);
    return answer(c, calls.length - 1);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const item = (index: number, status: JobItem['status'], over: Partial<JobItem> = {}): JobItem => ({
  index, chatId: 1000 + index, status, messageId: status === 'SENT' ? 500 + index : null, error: null, ...over,
});

function job(over: Partial<MessageJob>): MessageJob {
  return { jobId: 'job_b', status: 'RUNNING', total: 3, sent: 0, failed: 0, unknown: 0, queued: 3, items: [], nextCursor: null, ...over };
}

const show = (fetch: typeof globalThis.fetch) => render(withApp(makeApi(fetch), <Broadcast gateway={gateway({ status: 'CONNECTED' })} />));
const bc = () => within(screen.getByTestId('telegram-broadcast'));
const posts = (calls: Call[]) => calls.filter((c) => c.method === 'POST');
const reads = (calls: Call[]) => calls.filter((c) => c.method === 'GET');

function fill(chats: string, text: string) {
  fireEvent.input(bc().getByLabelText(/^Chat ids/), { target: { value: chats } });
  fireEvent.input(bc().getByLabelText(/^Message/), { target: { value: text } });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Telegram panel: broadcast', () => {
  it('submits once with an Idempotency-Key, polls the job until DONE, then stops', async () => {
    const states: MessageJob[] = [
      job({ status: 'QUEUED', items: [item(0, 'QUEUED'), item(1, 'QUEUED'), item(2, 'QUEUED')] }),
      job({ sent: 1, queued: 2, items: [item(0, 'SENT'), item(1, 'QUEUED'), item(2, 'QUEUED')] }),
      job({
        status: 'DONE', sent: 1, failed: 1, unknown: 1, queued: 0,
        items: [item(0, 'SENT'), item(1, 'FAILED', { error: 'Telegram sendMessage failed (403): Forbidden: bot was blocked by the user' }), item(2, 'UNKNOWN', { error: 'no answer after the request was sent' })],
      }),
    ];
    let n = 0;
    const s = messagesServer((c) => (c.method === 'POST'
      ? json(202, { jobId: 'job_b', status: 'QUEUED', total: 3 }, { Location: '/api/gateways/gw_1/messages/job_b' })
      : json(200, states[Math.min(n++, states.length - 1)])));
    show(s.fetch);
    fill('1000\n1001, 1002\n1000', '**Maintenance** tonight');
    fireEvent.click(bc().getByLabelText(/^Markdown/));
    expect(document.getElementById('tg-bc-chats-hint')!.textContent).toMatch(/3 chats, 1 repeated \(sent once\)\.$/);
    fireEvent.click(bc().getByRole('button', { name: 'Send to 3 chats' }));

    await vi.waitFor(() => expect(reads(s.calls)).toHaveLength(1));
    expect(posts(s.calls)).toHaveLength(1);
    const post = posts(s.calls)[0];
    expect(post.url).toBe('/api/gateways/gw_1/messages');
    expect(post.body).toEqual({ broadcast: { chatIds: [1000, 1001, 1002], message: { text: '**Maintenance** tonight', format: 'markdown' } } });
    expect(post.headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(reads(s.calls)[0].url).toBe('/api/gateways/gw_1/messages/job_b?limit=50');
    await vi.waitFor(() => expect(screen.getByTestId('job-view').getAttribute('data-status')).toBe('QUEUED'));

    await vi.advanceTimersByTimeAsync(POLL_MS);
    await vi.waitFor(() => expect(screen.getByTestId('job-counts').textContent).toBe('1 sent0 failed0 unknown2 queuedof 3'));
    const bar = screen.getByRole('progressbar', { name: 'Broadcast progress' });
    expect(bar.getAttribute('aria-valuenow')).toBe('1');
    expect(bar.getAttribute('aria-valuetext')).toBe('1 of 3 done: 1 sent, 0 failed, 0 unknown, 2 queued');

    await vi.advanceTimersByTimeAsync(POLL_MS);
    await vi.waitFor(() => expect(screen.getByTestId('job-view').getAttribute('data-status')).toBe('DONE'));
    const rows = screen.getAllByTestId('job-item');
    expect(rows.map((r) => r.getAttribute('data-status'))).toEqual(['SENT', 'FAILED', 'UNKNOWN']);
    expect(rows[0].textContent).toBe('1000Sentmessage 500');
    expect(rows[1].textContent).toMatch(/Forbidden: bot was blocked by the user/);
    expect(rows[2].textContent).toMatch(/Sent, but Telegram’s answer never came — not resent\./);
    expect(screen.getByText(/Check those chats before sending to them again/)).toBeTruthy();

    // Done: no more reading.
    const seen = s.calls.length;
    await vi.advanceTimersByTimeAsync(POLL_MS * 5);
    expect(s.calls).toHaveLength(seen);
  });

  it('pages through the chats with the job\'s cursor, polling the page shown', async () => {
    const page1 = job({ total: 120, queued: 120, items: Array.from({ length: 50 }, (_, i) => item(i, 'QUEUED')), nextCursor: 'c50' });
    const page2 = job({ total: 120, queued: 120, items: Array.from({ length: 50 }, (_, i) => item(50 + i, 'QUEUED')), nextCursor: 'c100' });
    const s = messagesServer((c) => {
      if (c.method === 'POST') return json(202, { jobId: 'job_b', status: 'QUEUED', total: 120 });
      return json(200, c.q.cursor === 'c50' ? page2 : page1);
    });
    show(s.fetch);
    fill(Array.from({ length: 120 }, (_, i) => String(1000 + i)).join(','), 'hi');
    fireEvent.click(bc().getByRole('button', { name: 'Send to 120 chats' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('job-item')).toHaveLength(50));
    expect(screen.getByText('1–50 of 120')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Previous' }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Next' }));
    await vi.waitFor(() => expect(screen.getByText('51–100 of 120')).toBeTruthy());
    expect(screen.getAllByTestId('job-item')[0].textContent).toMatch(/^1050Queued/);
    expect(screen.getByRole('list', { name: 'Chats 51 to 100 of 120' })).toBeTruthy();
    const before = reads(s.calls).length;
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await vi.waitFor(() => expect(reads(s.calls).length).toBeGreaterThan(before));
    expect(reads(s.calls).at(-1)!.q).toEqual({ cursor: 'c50', limit: '50' });

    fireEvent.click(screen.getByRole('button', { name: 'Previous' }));
    await vi.waitFor(() => expect(screen.getByText('1–50 of 120')).toBeTruthy());
    expect(reads(s.calls).at(-1)!.q).toEqual({ limit: '50' });
  });

  it('stops polling and aborts the reading in flight when it unmounts', async () => {
    let hold: AbortSignal | undefined;
    const s = messagesServer((c, n) => {
      if (c.method === 'POST') return json(202, { jobId: 'job_b', status: 'QUEUED', total: 1 });
      if (n < 3) return json(200, job({ total: 1, queued: 1, items: [item(0, 'QUEUED')] }));
      hold = c.signal;
      return new Promise<Response>((_, fail) => c.signal!.addEventListener('abort', () => fail(new DOMException('aborted', 'AbortError'))));
    });
    const view = show(s.fetch);
    fill('1000', 'hi');
    fireEvent.click(bc().getByRole('button', { name: 'Send broadcast' }));
    await vi.waitFor(() => expect(reads(s.calls)).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await vi.waitFor(() => expect(reads(s.calls)).toHaveLength(2));
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await vi.waitFor(() => expect(hold).toBeDefined());
    expect(hold!.aborted).toBe(false);
    view.unmount();
    expect(hold!.aborted).toBe(true);
    const seen = s.calls.length;
    await vi.advanceTimersByTimeAsync(POLL_MS * 10);
    expect(s.calls).toHaveLength(seen);
  });

  it('keeps the Idempotency-Key after a network error, and takes a new one for the next broadcast', async () => {
    let n = 0;
    const s = messagesServer((c) => {
      if (c.method === 'GET') return json(200, job({ status: 'DONE', total: 1, sent: 1, queued: 0, items: [item(0, 'SENT')] }));
      if (n++ === 0) throw new TypeError('Failed to fetch');
      return json(202, { jobId: 'job_b', status: 'QUEUED', total: 1 }, n === 3 ? { 'Idempotent-Replayed': 'true' } : {});
    });
    show(s.fetch);
    fill('@news_room', 'hi');
    fireEvent.click(bc().getByRole('button', { name: 'Send broadcast' }));
    expect(await bc().findByText('Network error')).toBeTruthy();
    expect(bc().getByText(/same Idempotency-Key/)).toBeTruthy();
    fireEvent.click(bc().getByRole('button', { name: 'Send again' }));
    await vi.waitFor(() => expect(screen.getByTestId('job-view')).toBeTruthy());
    expect(bc().queryByRole('alert')).toBeNull();
    fireEvent.click(bc().getByRole('button', { name: 'Send broadcast' }));
    await vi.waitFor(() => expect(posts(s.calls)).toHaveLength(3));
    const keys = posts(s.calls).map((c) => c.headers['Idempotency-Key']);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(posts(s.calls)[0].body).toEqual({ broadcast: { chatIds: ['@news_room'], message: { text: 'hi' } } });
    expect(await screen.findByText('This broadcast had been queued already.')).toBeTruthy();
  });

  it('checks the chat ids before sending, and shows the server\'s field errors under their inputs', async () => {
    const s = messagesServer(() => json(400, {
      title: 'Invalid request', status: 400,
      errors: [{ field: 'broadcast.chatIds[1]', message: 'must be an integer chat id or @channelusername' }, { field: 'broadcast.message.text', message: 'must be 1-40960 characters of Markdown' }],
    }));
    show(s.fetch);
    fill('1, two, @x', 'hi');
    fireEvent.click(bc().getByRole('button', { name: 'Send broadcast' }));
    expect(bc().getByText('Not chat ids: two, @x. Use numeric ids or @channelusername.')).toBeTruthy();
    expect(bc().getByLabelText(/^Chat ids/).getAttribute('aria-invalid')).toBe('true');
    expect(s.calls).toHaveLength(0);

    fill('1, 2', 'hi');
    fireEvent.click(bc().getByRole('button', { name: 'Send to 2 chats' }));
    expect(await bc().findByText('Entry 2: must be an integer chat id or @channelusername')).toBeTruthy();
    const text = bc().getByLabelText(/^Message/);
    expect(document.getElementById(text.getAttribute('aria-describedby')!)!.textContent).toBe('must be 1-40960 characters of Markdown');
  });

  it('shows a 404 as the problem it is, not as a missing feature', async () => {
    const s = messagesServer(() => json(404, { title: 'Not Found', status: 404, detail: 'The gateway does not exist.' }));
    show(s.fetch);
    fill('1', 'hi');
    fireEvent.click(bc().getByRole('button', { name: 'Send broadcast' }));
    expect(await bc().findByText(/The gateway does not exist/)).toBeTruthy();
    expect(screen.queryByText(/aren’t available on this server/)).toBeNull();
  });
});

describe('messages API client', () => {
  it('posts to …/messages and reads …/messages/{jobId}, escaping the ids', async () => {
    const s = messagesServer((c) => (c.method === 'POST'
      ? json(202, { jobId: 'job_1', status: 'QUEUED', total: 2 }, { Location: '/api/gateways/gw%2F1/messages/job_1' })
      : json(200, { jobId: 'job 1', status: 'DONE', total: 0, sent: 0, failed: 0, unknown: 0, queued: 0 })));
    const api = makeApi(s.fetch);
    expect(await api.submitMessages('gw/1', { messages: [{ chat_id: 1, text: 'a' }, { chat_id: '@b_chat', text: 'b' }] })).toEqual({ jobId: 'job_1', status: 'QUEUED', total: 2, replayed: false });
    expect(s.calls[0].url).toBe('/api/gateways/gw%2F1/messages');
    expect(s.calls[0].headers['Idempotency-Key']).toBeUndefined();
    const j = await api.getMessageJob('gw/1', 'job 1', { cursor: 'bTUw', limit: 10 });
    expect(s.calls[1].url).toBe('/api/gateways/gw%2F1/messages/job%201?cursor=bTUw&limit=10');
    // A job without items or cursor reads as an empty last page.
    expect(j.items).toEqual([]);
    expect(j.nextCursor).toBeNull();
  });
});
