import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeAudit } from '../src/components/detail/AuditPanel';
import { parseChatIds, routeFieldOf } from '../src/components/detail/RouteForm';
import { replayBody } from '../src/components/detail/RouteReplay';
import { GatewayGoneContext } from '../src/components/detail/gateway-scope';
import { REFRESH_MS, RoutesPanel } from '../src/components/detail/RoutesPanel';
import { duration } from '../src/lib/format';
import type { DeadLetter, Route } from '../src/lib/types';
import { GatewayDetailPage } from '../src/pages/GatewayDetail';
import { fakeFetch, gateway, json, makeApi, type Recorded, withApp } from './helpers';

const BOT = 'gw_1';
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

function route(over: Partial<Route> = {}): Route {
  return {
    id: 'rt_1', gatewayId: BOT, target: { type: 'WEBHOOK', gatewayId: 'gw_hook' },
    filters: { updateTypes: [], chatIds: [], commandPrefix: null },
    status: 'ACTIVE', statusReason: null, lastDeliveredUpdateId: null, lastDeliveredAt: null,
    lag: 0, pending: 0, deadLetters: 0, consecutiveFailures: 0, lastError: null, lastErrorAt: null,
    createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 1, ...over,
  };
}

const hook = gateway({ id: 'gw_hook', name: 'Orders hook', type: 'WEBHOOK', status: 'CONNECTED', credentialInfo: { url: 'https://example.com/hook' } });
const letter = (id: number): DeadLetter => ({
  updateId: id, type: 'message', chatId: 42, failedAt: ago(60), attempts: 5, lastError: 'the webhook endpoint answered HTTP 503 Service Unavailable',
  update: { update_id: id, message: { message_id: 1, date: 1735732800, chat: { id: 42, type: 'private' }, text: `lost ${id}` } },
});

type Handler = (r: Recorded) => Response | Promise<Response> | undefined;

/**
 * The routes API of one bot, kept in memory: list, create (201), get, PUT
 * (If-Match), PATCH, DELETE, dead letters and replay. over answers first
 * when it returns a Response.
 */
function routesServer(initial: Route[] = [], over: Handler = () => undefined) {
  const routes = new Map(initial.map((r) => [r.id, r]));
  let next = 2;
  const f = fakeFetch(async (r) => {
    const o = await over(r);
    if (o) return o;
    const url = new URL(r.url, 'http://x');
    const path = url.pathname;
    if (path === '/api/gateways' && r.method === 'GET') return json(200, { items: url.searchParams.get('type') === 'WEBHOOK' ? [hook] : [], nextCursor: null });
    const m = /^\/api\/gateways\/gw_1\/routes(?:\/([^/]+))?(\/dead-letters|\/replay)?$/.exec(path);
    if (!m) return json(404, { title: 'Not Found', status: 404, detail: 'No route matches this path.' });
    const [, id, sub] = m;
    if (!id) {
      if (r.method === 'GET') return json(200, { items: [...routes.values()], nextCursor: null });
      const b = r.body as { target: Route['target']; filters?: Partial<Route['filters']> };
      const created = route({ id: `rt_${next++}`, target: b.target, filters: { updateTypes: [], chatIds: [], commandPrefix: null, ...b.filters } });
      routes.set(created.id, created);
      return json(201, created, { ETag: '"1"' });
    }
    const cur = routes.get(id);
    if (!cur) return json(404, { title: 'Not Found', status: 404, detail: 'route not found' });
    if (sub === '/dead-letters') return json(200, { items: Array.from({ length: cur.deadLetters }, (_, i) => letter(900 + i)), nextCursor: null });
    if (sub === '/replay') return json(202, { queued: 'deadLetters' in (r.body as object) ? cur.deadLetters : 7 });
    switch (r.method) {
      case 'GET':
        return json(200, cur, { ETag: `"${cur.version}"` });
      case 'PUT': {
        if (r.headers['If-Match'] !== `"${cur.version}"`) {
          return json(412, { title: 'Precondition failed', status: 412, detail: `The route was changed since you read it (it is now at version ${cur.version}); reload it and retry.` });
        }
        const b = r.body as { target: Route['target']; filters: Route['filters'] };
        const saved = { ...cur, target: b.target, filters: b.filters, version: cur.version + 1 };
        routes.set(id, saved);
        return json(200, saved, { ETag: `"${saved.version}"` });
      }
      case 'PATCH': {
        const saved = { ...cur, status: (r.body as { status: Route['status'] }).status, statusReason: null, version: cur.version + 1 };
        routes.set(id, saved);
        return json(200, saved);
      }
      case 'DELETE':
        routes.delete(id);
        return new Response(null, { status: 204 });
      default:
        return json(405, { title: 'Method not allowed', status: 405 });
    }
  });
  return { ...f, routes };
}

const show = (fetch: typeof globalThis.fetch, g = gateway({ status: 'CONNECTED' })) => render(withApp(makeApi(fetch), <RoutesPanel gateway={g} />));
const rows = () => screen.queryAllByTestId('route-row');
const panel = () => document.getElementById('routes')!;
const calls = (s: { calls: Recorded[] }, method: string, suffix = '') => s.calls.filter((c) => c.method === method && new URL(c.url, 'http://x').pathname.endsWith(suffix));

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Routes panel', () => {
  it("lists the bot's routes: target by name, filters, status and delivery state", async () => {
    const s = routesServer([
      route({
        filters: { updateTypes: ['message', 'callback_query'], chatIds: [42, -1001234567890], commandPrefix: '/start' },
        lastDeliveredUpdateId: 500002, lastDeliveredAt: ago(30), lastDeliveryLagMs: 850, lag: 125, pending: 1000, pendingCapped: true, deadLetters: 2, consecutiveFailures: 4,
        status: 'ERROR', statusReason: 'Delivery failed 4 times in a row; retrying in 5 min', lastError: 'the webhook endpoint answered HTTP 503 Service Unavailable', lastErrorAt: ago(90),
      }),
      route({ id: 'rt_2', target: { type: 'EVENTBRIDGE' }, status: 'PAUSED', statusReason: 'Paused by alice' }),
    ]);
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(2));
    const [a, b] = rows();
    expect(a.getAttribute('data-route-id')).toBe('rt_1');
    await waitFor(() => expect(within(a).getByRole('link', { name: 'Orders hook' }).getAttribute('href')).toBe('/gateways/gw_hook'));
    expect(within(a).getByTestId('route-status').textContent).toBe('Error');
    expect(within(a).getByTestId('route-status-reason').textContent).toBe('Delivery failed 4 times in a row; retrying in 5 min');
    expect(a.textContent).toMatch(/Types: message, callback_query.*Chats: 42, -1001234567890.*Command: \/start/s);
    expect(within(a).getByTestId('route-lag').textContent).toBe('2 min');
    expect(within(a).getByTestId('route-pending').textContent).toBe('1000+');
    expect(within(a).getByTestId('route-last-delivered').textContent).toMatch(/^Update 500002 · .*ago · took 850 ms$/);
    expect(within(a).getByTestId('route-last-delivered').getAttribute('data-update-id')).toBe('500002');
    expect(within(a).getByTestId('route-dead-letters').textContent).toBe('2');
    expect(within(a).getByTestId('route-last-error').textContent).toMatch(/Last error \(.*ago\): the webhook endpoint answered HTTP 503.*4 failures in a row/);
    expect(within(a).getByRole('button', { name: 'Retry now' })).toBeTruthy();
    expect(b.textContent).toMatch(/EventBridge.*Paused.*Paused by alice.*Every update.*Lag\s*None.*Nothing yet/s);
    expect(within(b).getByRole('button', { name: 'Resume' })).toBeTruthy();
    expect(within(b).queryByRole('button', { name: /Dead letters/ })).toBeNull();
    expect(s.calls[0].url).toBe('/api/gateways/gw_1/routes');
    expect(calls(s, 'GET').some((c) => c.url === '/api/gateways?type=WEBHOOK&limit=100')).toBe(true);
  });

  it('says there are none yet, and adds a route to a webhook with filters', async () => {
    const s = routesServer();
    show(s.fetch);
    await screen.findByText('No routes yet');
    fireEvent.click(screen.getAllByRole('button', { name: 'Add route' })[0]);
    const form = screen.getByTestId('route-form');
    const target = within(form).getByLabelText('Deliver to', { exact: false }) as HTMLSelectElement;
    await waitFor(() => expect([...target.options].map((o) => o.textContent)).toEqual(['Choose a target…', 'Orders hook (webhook)', 'EventBridge']));
    fireEvent.change(target, { target: { value: 'gw_hook' } });
    fireEvent.click(within(form).getByLabelText('message'));
    fireEvent.click(within(form).getByLabelText('callback_query'));
    fireEvent.input(within(form).getByLabelText('Chat IDs', { exact: false }), { target: { value: '42, -1001234567890 42' } });
    fireEvent.input(within(form).getByLabelText('Command prefix', { exact: false }), { target: { value: ' /start ' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Add route' }));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(calls(s, 'POST', '/routes')[0].body).toEqual({
      target: { type: 'WEBHOOK', gatewayId: 'gw_hook' },
      filters: { updateTypes: ['message', 'callback_query'], chatIds: [42, -1001234567890], commandPrefix: '/start' },
    });
    expect(screen.queryByTestId('route-form')).toBeNull();
    expect(panel().querySelector('.alert--success')!.textContent).toBe('Route to Orders hook added.');
    expect(rows()[0].textContent).toMatch(/Orders hook.*Active.*Types: message, callback_query/s);
  });

  it('adds a route to EventBridge with no filters at all', async () => {
    const s = routesServer();
    show(s.fetch);
    fireEvent.click((await screen.findAllByRole('button', { name: 'Add route' }))[0]);
    fireEvent.change(screen.getByLabelText('Deliver to', { exact: false }), { target: { value: 'EVENTBRIDGE' } });
    fireEvent.submit(screen.getByTestId('route-form'));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(calls(s, 'POST', '/routes')[0].body).toEqual({ target: { type: 'EVENTBRIDGE' } });
    expect(rows()[0].textContent).toMatch(/EventBridge.*Every update/s);
  });

  it('checks the target and the chat ids before sending', async () => {
    const s = routesServer();
    show(s.fetch);
    fireEvent.click((await screen.findAllByRole('button', { name: 'Add route' }))[0]);
    const chats = screen.getByLabelText('Chat IDs', { exact: false });
    fireEvent.input(chats, { target: { value: '42, twelve' } });
    fireEvent.submit(screen.getByTestId('route-form'));
    expect(screen.getByText('is required')).toBeTruthy();
    expect(screen.getByText('“twelve” must be an integer, like 42 or -1001234567890')).toBeTruthy();
    expect(chats.getAttribute('aria-invalid')).toBe('true');
    expect(calls(s, 'POST')).toHaveLength(0);
  });

  it("shows a 422's field errors beside their fields, and the others above the form", async () => {
    const s = routesServer([], (r) => (r.method === 'POST' ? json(422, {
      type: 'https://gatehouse.dev/problems/invalid', title: 'Invalid request', status: 422, detail: 'The request is invalid.',
      errors: [
        { field: 'target.gatewayId', message: 'must be a WEBHOOK gateway of yours' },
        { field: 'filters.chatIds[1]', message: 'is not a chat id' },
        { field: 'filters.commandPrefix', message: 'must start with /' },
        { field: 'filters.updateTypes[0]', message: 'is not an update type' },
        { field: 'filters.somethingNew', message: 'is unknown' },
      ],
    }) : undefined));
    show(s.fetch);
    fireEvent.click((await screen.findAllByRole('button', { name: 'Add route' }))[0]);
    await waitFor(() => expect((screen.getByLabelText('Deliver to', { exact: false }) as HTMLSelectElement).options).toHaveLength(3));
    fireEvent.change(screen.getByLabelText('Deliver to', { exact: false }), { target: { value: 'gw_hook' } });
    fireEvent.click(screen.getByLabelText('poll'));
    fireEvent.input(screen.getByLabelText('Command prefix', { exact: false }), { target: { value: 'start' } });
    fireEvent.submit(screen.getByTestId('route-form'));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Invalid request.*filters\.somethingNew: is unknown/s);
    const errorOf = (label: string) => {
      const el = screen.getByLabelText(label, { exact: false });
      expect(el.getAttribute('aria-invalid')).toBe('true');
      return document.getElementById(el.getAttribute('aria-describedby')!.split(' ')[0])!.textContent;
    };
    expect(errorOf('Deliver to')).toBe('must be a WEBHOOK gateway of yours');
    expect(errorOf('Chat IDs')).toBe('is not a chat id');
    expect(errorOf('Command prefix')).toBe('must start with /');
    expect(screen.getByText('is not an update type').closest('fieldset')!.classList.contains('field--invalid')).toBe(true);
    expect(rows()).toHaveLength(0);
  });

  it('pauses, resumes and retries a failing route now', async () => {
    const s = routesServer([route(), route({ id: 'rt_2', status: 'ERROR', statusReason: 'Gave up after 10 attempts' })]);
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(2));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(rows()[0].getAttribute('data-status')).toBe('PAUSED'));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(rows()[0].getAttribute('data-status')).toBe('ACTIVE'));
    fireEvent.click(within(rows()[1]).getByRole('button', { name: 'Retry now' }));
    await waitFor(() => expect(rows()[1].getAttribute('data-status')).toBe('ACTIVE'));
    expect(calls(s, 'PATCH').map((c) => [c.url, c.body])).toEqual([
      ['/api/gateways/gw_1/routes/rt_1', { status: 'PAUSED' }],
      ['/api/gateways/gw_1/routes/rt_1', { status: 'ACTIVE' }],
      ['/api/gateways/gw_1/routes/rt_2', { status: 'ACTIVE' }],
    ]);
    expect(rows()[1].querySelector('[data-testid="route-status-reason"]')).toBeNull();
  });

  it('edits the filters with If-Match, and explains a 412 with a reload of the latest version', async () => {
    const s = routesServer([route({ filters: { updateTypes: ['message'], chatIds: [42], commandPrefix: null }, version: 4 })]);
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(1));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Edit' }));
    const form = screen.getByTestId('route-form');
    await waitFor(() => expect((within(form).getByLabelText('Deliver to', { exact: false }) as HTMLSelectElement).value).toBe('gw_hook'));
    expect((within(form).getByLabelText('message') as HTMLInputElement).checked).toBe(true);
    expect((within(form).getByLabelText('Chat IDs', { exact: false }) as HTMLInputElement).value).toBe('42');
    // Someone else changes it meanwhile.
    s.routes.set('rt_1', { ...s.routes.get('rt_1')!, filters: { updateTypes: ['poll'], chatIds: [], commandPrefix: null }, version: 5 });
    fireEvent.input(within(form).getByLabelText('Chat IDs', { exact: false }), { target: { value: '7' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save route' }));
    const conflict = await screen.findByTestId('conflict');
    // Said once, in our words: not the server's title and detail on top.
    expect(conflict.textContent).toMatch(/^This route was changed somewhere else.*nothing was overwritten/s);
    expect(conflict.textContent).not.toMatch(/Precondition failed|now at version/);
    expect(calls(s, 'PUT')[0].headers['If-Match']).toBe('"4"');
    expect(calls(s, 'PUT')[0].body).toEqual({ target: { type: 'WEBHOOK', gatewayId: 'gw_hook' }, filters: { updateTypes: ['message'], chatIds: [7], commandPrefix: null } });
    fireEvent.click(within(conflict).getByRole('button', { name: 'Reload latest version' }));
    await waitFor(() => expect(screen.queryByTestId('conflict')).toBeNull());
    expect(calls(s, 'GET', '/routes/rt_1')).toHaveLength(1);
    expect((within(form).getByLabelText('poll') as HTMLInputElement).checked).toBe(true);
    expect((within(form).getByLabelText('Chat IDs', { exact: false }) as HTMLInputElement).value).toBe('');
    fireEvent.click(within(form).getByLabelText('message'));
    fireEvent.click(within(form).getByRole('button', { name: 'Save route' }));
    await waitFor(() => expect(screen.queryByTestId('route-form')).toBeNull());
    expect(calls(s, 'PUT')[1].headers['If-Match']).toBe('"5"');
    expect(calls(s, 'PUT')[1].body).toEqual({ target: { type: 'WEBHOOK', gatewayId: 'gw_hook' }, filters: { updateTypes: ['poll', 'message'], chatIds: [], commandPrefix: null } });
    expect(rows()[0].textContent).toMatch(/Types: poll, message/);
    expect(panel().querySelector('.alert--success')!.textContent).toBe('Route to Orders hook saved.');
  });

  it('asks before deleting, naming the target', async () => {
    const s = routesServer([route({ pending: 3 })]);
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(1));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: /^Delete/ }));
    await waitFor(() => expect(screen.getByRole('dialog').textContent).toMatch(/Delete the route to “Orders hook”\?.*3 waiting to be delivered.*cannot be undone/s));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls(s, 'DELETE')).toHaveLength(0);
    fireEvent.click(within(rows()[0]).getByRole('button', { name: /^Delete/ }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete route' }));
    await screen.findByText('No routes yet');
    expect(calls(s, 'DELETE').map((c) => c.url)).toEqual(['/api/gateways/gw_1/routes/rt_1']);
    expect(panel().querySelector('.alert--success')!.textContent).toBe('Route to Orders hook deleted.');
  });

  it('opens the dead letters with their raw JSON on demand, and replays them', async () => {
    const s = routesServer([route({ deadLetters: 2 })]);
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(1));
    const toggle = within(rows()[0]).getByRole('button', { name: 'Dead letters (2)' });
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(calls(s, 'GET', '/dead-letters')).toHaveLength(0);
    fireEvent.click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    await waitFor(() => expect(screen.getAllByTestId('dead-letter')).toHaveLength(2));
    expect(calls(s, 'GET', '/dead-letters')[0].url).toBe('/api/gateways/gw_1/routes/rt_1/dead-letters?limit=20');
    const first = screen.getAllByTestId('dead-letter')[0];
    expect(first.textContent).toMatch(/message.*HTTP 503.*Update 900.*Chat 42.*5 attempts.*Failed/s);
    expect(first.querySelector('pre')).toBeNull();
    fireEvent.click(within(first).getByRole('button', { name: 'Raw JSON of dead letter 900' }));
    expect(JSON.parse(first.querySelector('pre')!.textContent!)).toEqual(letter(900).update);
    fireEvent.click(screen.getByRole('button', { name: 'Replay dead letters' }));
    await waitFor(() => expect(panel().querySelector('.alert--success')!.textContent).toBe('2 updates queued for replay.'));
    expect(calls(s, 'POST', '/replay')[0].body).toEqual({ deadLetters: true });
    // The list is read again after the replay.
    await waitFor(() => expect(calls(s, 'GET', '/dead-letters')).toHaveLength(2));
  });

  it('replays from an update id or from a time', async () => {
    const s = routesServer([route({ lastDeliveredUpdateId: 500002 })]);
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(1));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Replay…' }));
    const form = screen.getByTestId('replay-form');
    const id = within(form).getByLabelText('First update ID', { exact: false });
    expect(id.getAttribute('placeholder')).toBe('500002');
    fireEvent.input(id, { target: { value: '-3' } });
    fireEvent.submit(form);
    expect(within(form).getByText('must be an update id, like 500001')).toBeTruthy();
    fireEvent.input(id, { target: { value: '500000' } });
    fireEvent.submit(form);
    await waitFor(() => expect(panel().querySelector('.alert--success')!.textContent).toBe('7 updates queued for replay.'));
    expect(screen.queryByTestId('replay-form')).toBeNull();

    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Replay…' }));
    fireEvent.click(screen.getByLabelText('From a time'));
    const when = screen.getByLabelText('Received since', { exact: false });
    expect(when.getAttribute('type')).toBe('datetime-local');
    fireEvent.input(when, { target: { value: '2026-03-01T10:30:00' } });
    fireEvent.submit(screen.getByTestId('replay-form'));
    await waitFor(() => expect(calls(s, 'POST', '/replay')).toHaveLength(2));
    expect(calls(s, 'POST', '/replay').map((c) => c.body)).toEqual([{ fromUpdateId: 500000 }, { from: new Date('2026-03-01T10:30:00').toISOString() }]);
  });

  it("shows a replay's field error from the server beside the field", async () => {
    const s = routesServer([route()], (r) => (r.url.endsWith('/replay') ? json(422, { title: 'Invalid request', status: 422, errors: [{ field: 'fromUpdateId', message: 'is older than the oldest stored update (500000)' }] }) : undefined));
    show(s.fetch);
    await waitFor(() => expect(rows()).toHaveLength(1));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Replay…' }));
    fireEvent.input(screen.getByLabelText('First update ID', { exact: false }), { target: { value: '1' } });
    fireEvent.submit(screen.getByTestId('replay-form'));
    expect(await screen.findByText('is older than the oldest stored update (500000)')).toBeTruthy();
    expect(screen.getByLabelText('First update ID', { exact: false }).getAttribute('aria-invalid')).toBe('true');
  });

  it('reads the routes again every few seconds while visible, and stops when hidden or unmounted', async () => {
    vi.useFakeTimers();
    const hidden = vi.spyOn(document, 'hidden', 'get').mockReturnValue(false);
    const s = routesServer([route()]);
    const lists = () => calls(s, 'GET', '/routes').length;
    const { unmount } = show(s.fetch);
    await vi.waitFor(() => expect(rows()).toHaveLength(1));
    expect(lists()).toBe(1);
    s.routes.set('rt_1', { ...s.routes.get('rt_1')!, lastDeliveredUpdateId: 77, lastDeliveredAt: new Date().toISOString() });
    await vi.advanceTimersByTimeAsync(REFRESH_MS);
    expect(lists()).toBe(2);
    await vi.waitFor(() => expect(screen.getByTestId('route-last-delivered').getAttribute('data-update-id')).toBe('77'));

    hidden.mockReturnValue(true);
    document.dispatchEvent(new Event('visibilitychange'));
    await vi.advanceTimersByTimeAsync(REFRESH_MS * 6);
    expect(lists()).toBe(2);
    hidden.mockReturnValue(false);
    document.dispatchEvent(new Event('visibilitychange'));
    await vi.waitFor(() => expect(lists()).toBe(3));

    unmount();
    await vi.advanceTimersByTimeAsync(REFRESH_MS * 6);
    expect(lists()).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the routes through a failed refresh, says so, and recovers', async () => {
    vi.useFakeTimers();
    let fail = false;
    const s = routesServer([route()], (r) => (fail && r.method === 'GET' && r.url.endsWith('/routes') ? json(503, { title: 'Service unavailable', status: 503, detail: 'Try again in a moment.' }) : undefined));
    show(s.fetch);
    await vi.waitFor(() => expect(rows()).toHaveLength(1));
    fail = true;
    await vi.advanceTimersByTimeAsync(REFRESH_MS);
    await vi.waitFor(() => expect(panel().querySelector('[role="alert"]')!.textContent).toMatch(/Service unavailable/));
    expect(rows()).toHaveLength(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(REFRESH_MS);
    await vi.waitFor(() => expect(panel().querySelector('[role="alert"]')).toBeNull());
  });

  it('aborts the read in flight when unmounted', async () => {
    let signal: AbortSignal | undefined;
    const f = ((_: RequestInfo | URL, init: RequestInit = {}) => {
      signal = init.signal ?? undefined;
      return new Promise<Response>(() => {});
    }) as typeof fetch;
    const { unmount } = show(f);
    await waitFor(() => expect(signal).toBeDefined());
    unmount();
    expect(signal!.aborted).toBe(true);
  });

  it('reports a 404 to the page (the gateway is gone) instead of hiding', async () => {
    const f = fakeFetch(() => json(404, { title: 'Not Found', status: 404, detail: 'gateway not found' }));
    const gone = vi.fn();
    render(withApp(makeApi(f.fetch), <GatewayGoneContext.Provider value={gone}><RoutesPanel gateway={gateway({ status: 'CONNECTED' })} /></GatewayGoneContext.Provider>));
    await waitFor(() => expect(gone).toHaveBeenCalled());
    expect(document.getElementById('routes')).not.toBeNull();
  });
});

describe('Gateway detail', () => {
  it.each(['TELEGRAM_BOT', 'AI'] as const)('shows the routes of Telegram gateways, after the updates (%s)', async (type) => {
    const s = routesServer([route({ target: { type: 'EVENTBRIDGE' } })], (r) => {
      if (r.url === '/api/gateways/gw_1') return json(200, gateway({ type }), { ETag: '"1"' });
      if (r.url.includes('/updates')) return json(200, { items: [], nextCursor: 'c0' });
      return undefined;
    });
    render(withApp(makeApi(s.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    if (type === 'TELEGRAM_BOT') {
      await waitFor(() => expect(rows()).toHaveLength(1));
      expect(document.getElementById('routes')!.previousElementSibling?.id).toBe('updates');
    } else {
      await new Promise((r) => setTimeout(r, 50));
      expect(document.getElementById('routes')).toBeNull();
      expect(s.calls.some((c) => c.url.includes('/routes'))).toBe(false);
    }
  });
});

describe('Gateway detail audit', () => {
  it("reads the bot's audit trail again after a route change", async () => {
    const s = routesServer([], (r) => {
      if (r.url === '/api/gateways/gw_1') return json(200, gateway(), { ETag: '"1"' });
      if (r.url.includes('/updates')) return json(200, { items: [], nextCursor: 'c0' });
      if (r.url.includes('/audit')) return json(200, { items: [], nextCursor: null });
      return undefined;
    });
    render(withApp(makeApi(s.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByText('No routes yet');
    await waitFor(() => expect(calls(s, 'GET', '/audit')).toHaveLength(1));
    fireEvent.click(within(panel()).getAllByRole('button', { name: 'Add route' })[0]);
    fireEvent.change(within(panel()).getByLabelText('Deliver to', { exact: false }), { target: { value: 'EVENTBRIDGE' } });
    fireEvent.submit(within(panel()).getByTestId('route-form'));
    await waitFor(() => expect(rows()).toHaveLength(1));
    await waitFor(() => expect(calls(s, 'GET', '/audit')).toHaveLength(2));
  });

  const ev = (action: string, details: Record<string, unknown> = {}, changes: string[] = []) => ({ id: 'a', action, at: '2026-01-01T00:00:00Z', actor: {}, details, changes });
  it.each([
    { e: ev('route.created', { routeId: 'rt_1', target: 'WEBHOOK', targetGatewayId: 'gw_hook' }), want: 'Added a route to a webhook' },
    { e: ev('route.created', { target: 'EVENTBRIDGE' }), want: 'Added a route to EventBridge' },
    { e: ev('route.updated', {}, ['filters']), want: "Changed a route's filters" },
    { e: ev('route.status_changed', { oldStatus: 'ACTIVE', newStatus: 'PAUSED' }), want: 'Paused a route' },
    { e: ev('route.status_changed', { oldStatus: 'PAUSED', newStatus: 'ACTIVE' }), want: 'Resumed a route' },
    { e: ev('route.status_changed', { oldStatus: 'ERROR', newStatus: 'ACTIVE' }), want: 'Retried a failing route' },
    { e: ev('route.deleted'), want: 'Deleted a route' },
    { e: ev('route.replayed', { queued: '7', fromUpdateId: '500000' }), want: 'Replayed 7 updates along a route' },
    { e: ev('route.replayed', { queued: '2', deadLetters: 'true' }), want: "Replayed a route's dead letters (2)" },
    { e: ev('route.something_new'), want: 'Route something new' },
  ])('describes $e.action as "$want"', ({ e, want }) => expect(describeAudit(e)).toBe(want));
});

describe('route form helpers', () => {
  it.each([
    { path: 'target', want: 'target' },
    { path: 'target.gatewayId', want: 'target' },
    { path: 'target.type', want: 'target' },
    { path: 'filters.updateTypes', want: 'updateTypes' },
    { path: 'filters.updateTypes[2]', want: 'updateTypes' },
    { path: 'filters.chatIds.0', want: 'chatIds' },
    { path: 'filters.commandPrefix', want: 'commandPrefix' },
    { path: 'filters.chatIdsExtra', want: null },
    { path: 'filters', want: null },
    { path: '', want: null },
  ])('files $path under $want', ({ path, want }) => expect(routeFieldOf(path)).toBe(want));

  it.each([
    { text: '', want: { value: [] } },
    { text: ' 42, -1001234567890\n7 42 ', want: { value: [42, -1001234567890, 7] } },
    { text: '42,,', want: { value: [42] } },
    { text: '4.2', want: { error: '“4.2” must be an integer, like 42 or -1001234567890' } },
    { text: '42, 0', want: { error: '“0” is not a chat id: chat ids are non-zero' } },
    { text: '99999999999999999999', want: { error: '“99999999999999999999” is too large' } },
  ])('reads chat ids "$text"', ({ text, want }) => expect(parseChatIds(text)).toEqual(want));

  it.each([
    { by: 'updateId' as const, text: ' 500001 ', want: { value: { fromUpdateId: 500001 } } },
    { by: 'updateId' as const, text: '', want: { field: 'fromUpdateId', error: 'must be an update id, like 500001' } },
    { by: 'updateId' as const, text: '1e3', want: { field: 'fromUpdateId', error: 'must be an update id, like 500001' } },
    { by: 'time' as const, text: '', want: { field: 'from', error: 'must be a date and time' } },
    { by: 'time' as const, text: '2026-03-01T10:30', want: { value: { from: new Date('2026-03-01T10:30').toISOString() } } },
  ])('reads a replay by $by from "$text"', ({ by, text, want }) => expect(replayBody(by, text)).toEqual(want));

  it.each([
    { s: 0, want: '0 s' }, { s: 44.6, want: '45 s' }, { s: 60, want: '1 min' }, { s: 3599, want: '59 min' },
    { s: 3600, want: '1 h' }, { s: 11_100, want: '3 h 5 min' }, { s: 86_400 * 2 + 3600 * 4, want: '2 d 4 h' },
    { s: -1, want: '—' }, { s: Number.NaN, want: '—' },
  ])('duration($s) is $want', ({ s, want }) => expect(duration(s)).toBe(want));
});
