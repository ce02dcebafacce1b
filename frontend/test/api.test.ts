import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, problemFrom, unwrapResult, versionFromEtag } from '../src/lib/api';
import { fakeFetch, json } from './helpers';

describe('problemFrom', () => {
  it('reads problem+json with field errors', async () => {
    const e = await problemFrom(json(400, {
      type: 'https://gatehouse.dev/problems/invalid', title: 'Invalid request', status: 400, detail: 'The request is invalid.',
      errors: [{ field: 'credentials.botToken', message: 'is required' }, { field: 'name', message: 'must not be empty' }],
    }));
    expect(e.status).toBe(400);
    expect(e.title).toBe('Invalid request');
    expect(e.detail).toBe('The request is invalid.');
    expect(e.fieldErrors()).toEqual({ 'credentials.botToken': 'is required', name: 'must not be empty' });
  });

  it("reads API Gateway's own {message} errors", async () => {
    const e = await problemFrom(new Response('{"message":"Not Found"}', { status: 404 }));
    expect(e.title).toBe('Not found');
    expect(e.detail).toBe('Not Found');
  });

  it('reads a plain-text or HTML body without showing markup', async () => {
    expect((await problemFrom(new Response('upstream timed out', { status: 504 }))).detail).toBe('upstream timed out');
    const html = await problemFrom(new Response('<html><body>Bad gateway</body></html>', { status: 502 }));
    expect(html.title).toBe('Bad gateway');
    expect(html.detail).toBe('The server answered 502.');
  });
});

describe('ApiClient', () => {
  it('sends the bearer token and the organisation', async () => {
    const f = fakeFetch(() => json(200, { items: [], nextCursor: null }));
    const api = new ApiClient({ baseUrl: 'https://api.example.com', getToken: () => 'T', getOrg: () => 'acme', fetch: f.fetch });
    await api.listGateways({ type: 'AI', status: '', limit: 20, cursor: 'c1' });
    expect(f.calls[0].url).toBe('https://api.example.com/api/gateways?type=AI&limit=20&cursor=c1');
    expect(f.calls[0].headers.Authorization).toBe('Bearer T');
    expect(f.calls[0].headers['X-Organization-Id']).toBe('acme');
  });

  it('omits X-Organization-Id for personal gateways', async () => {
    const f = fakeFetch(() => json(200, { items: [], nextCursor: null }));
    await new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch }).listGateways();
    expect(f.calls[0].headers['X-Organization-Id']).toBeUndefined();
  });

  it('sends If-Match with the version, and Idempotency-Key on create', async () => {
    const f = fakeFetch((r) => json(r.method === 'POST' ? 201 : 200, { id: 'gw_1', version: 3 }, { ETag: '"3"' }));
    const api = new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch });
    await api.updateGateway('gw_1', { name: 'n' }, 2);
    expect(f.calls[0].headers['If-Match']).toBe('"2"');
    expect(f.calls[0].headers['Content-Type']).toBe('application/json');
    await api.createGateway({ name: 'n', type: 'AI', credentials: {} }, 'key-1');
    expect(f.calls[1].headers['Idempotency-Key']).toBe('key-1');
  });

  it('turns a 412 into a conflict', async () => {
    const f = fakeFetch(() => json(412, { title: 'Precondition failed', status: 412, detail: 'The gateway was changed since you read it.' }));
    const api = new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch });
    const e = await api.updateGateway('gw_1', { name: 'n' }, 1).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.conflict).toBe(true);
    expect(e.detail).toMatch(/changed since you read it/);
  });

  it('calls onUnauthorized on 401 and still rejects', async () => {
    const onUnauthorized = vi.fn();
    const f = fakeFetch(() => json(401, { title: 'Unauthorized', status: 401, detail: 'A valid bearer token is required.' }));
    const api = new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch, onUnauthorized });
    await expect(api.getGateway('x')).rejects.toMatchObject({ status: 401, title: 'Unauthorized' });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('reports a network failure with a title and detail', async () => {
    const api = new ApiClient({ baseUrl: 'https://api.example.com', getToken: () => 'T', getOrg: () => null, fetch: (() => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch });
    const e = await api.getGateway('x').catch((x) => x);
    expect(e).toMatchObject({ status: 0, title: 'Network error' });
    expect(e.detail).toContain('https://api.example.com');
  });

  it('rejects a success that is not JSON', async () => {
    const api = new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: (async () => new Response('<html>', { status: 200 })) as typeof fetch });
    await expect(api.getGateway('x')).rejects.toMatchObject({ title: 'Unexpected response' });
  });

  it('takes the version from the ETag when the body lacks it', async () => {
    const f = fakeFetch(() => json(200, { id: 'gw_1' }, { ETag: 'W/"7"' }));
    const g = await new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch }).getGateway('gw_1');
    expect(g.version).toBe(7);
  });

  it('accepts 204 from DELETE', async () => {
    const f = fakeFetch(() => new Response(null, { status: 204 }));
    await expect(new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch }).deleteGateway('gw_1')).resolves.toBeUndefined();
    expect(f.calls[0].method).toBe('DELETE');
  });

  it('unwraps an action result and normalises health samples', async () => {
    const f = fakeFetch((r) => r.url.endsWith('/health')
      ? json(200, { items: [{ at: '2026-01-01T00:00:00Z', outcome: 'ok', latencyMs: 12 }] })
      : json(200, { action: 'chat', result: { text: 'hi', model: 'm', usage: { inputTokens: 1, outputTokens: 2 } } }));
    const api = new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => null, fetch: f.fetch });
    expect((await api.chat('gw_1', { messages: [] })).text).toBe('hi');
    expect(f.calls[0].url).toBe('/api/gateways/gw_1/actions/chat');
    expect(await api.health('gw_1')).toEqual([{ at: '2026-01-01T00:00:00Z', result: 'ok', latencyMs: 12 }]);
  });
});

describe('ApiClient.updates', () => {
  const api = (f: typeof fetch) => new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => 'acme', fetch: f });
  const page = { items: [{ updateId: 7, type: 'message', chatId: -1001, senderId: 42, messageDate: null, receivedAt: '2025-01-01T12:00:01.123Z', update: { update_id: 7 } }], nextCursor: 'c2' };

  it.each([
    { name: 'nothing set', filter: {}, want: '/api/gateways/gw%201/updates' },
    { name: 'every parameter', filter: { cursor: 'c1', limit: 100, type: 'callback_query', chatId: -1001234567890, wait: 20 }, want: '/api/gateways/gw%201/updates?cursor=c1&limit=100&type=callback_query&chatId=-1001234567890&wait=20' },
    { name: 'empty and null values', filter: { cursor: null, type: '', chatId: null }, want: '/api/gateways/gw%201/updates' },
    { name: 'an opaque cursor, escaped', filter: { cursor: 'a+b/c=' }, want: '/api/gateways/gw%201/updates?cursor=a%2Bb%2Fc%3D' },
    { name: 'chat 0 and no wait', filter: { chatId: 0, wait: 0 }, want: '/api/gateways/gw%201/updates?chatId=0&wait=0' },
  ])('builds the query: $name', async ({ filter, want }) => {
    const f = fakeFetch(() => json(200, page));
    expect(await api(f.fetch).updates('gw 1', filter)).toEqual(page);
    expect(f.calls[0].url).toBe(want);
    expect(f.calls[0].method).toBe('GET');
    expect(f.calls[0].headers.Authorization).toBe('Bearer T');
    expect(f.calls[0].headers['X-Organization-Id']).toBe('acme');
  });

  it('keeps the cursor it was given when the answer has none', async () => {
    const f = fakeFetch(() => json(200, { items: [] }));
    expect(await api(f.fetch).updates('gw_1', { cursor: 'c9' })).toEqual({ items: [], nextCursor: 'c9' });
  });

  it.each([
    { name: 'a 400 naming the field', status: 400, body: { title: 'Invalid request', status: 400, detail: 'The request is invalid.', errors: [{ field: 'chatId', message: 'must be an integer' }] }, want: { status: 400, title: 'Invalid request' }, fields: { chatId: 'must be an integer' } },
    { name: 'a 404', status: 404, body: { title: 'Not Found', status: 404, detail: 'gateway not found' }, want: { status: 404, detail: 'gateway not found' }, fields: {} },
    { name: 'a 409 for another type', status: 409, body: { title: 'Conflict', status: 409, detail: 'The gateway is not a TELEGRAM_BOT.' }, want: { status: 409, detail: 'The gateway is not a TELEGRAM_BOT.' }, fields: {} },
  ])('turns $name into an ApiError', async ({ status, body, want, fields }) => {
    const e = await api(fakeFetch(() => json(status, body)).fetch).updates('gw_1', { chatId: 1 }).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject(want);
    expect(e.fieldErrors()).toEqual(fields);
  });

  it('passes the signal on and rejects with the AbortError when aborted', async () => {
    let seen: AbortSignal | undefined;
    const f = ((_: RequestInfo | URL, init: RequestInit = {}) => new Promise<Response>((_ok, fail) => {
      seen = init.signal ?? undefined;
      seen?.addEventListener('abort', () => fail(new DOMException('The operation was aborted.', 'AbortError')));
    })) as typeof fetch;
    const ac = new AbortController();
    const p = api(f).updates('gw_1', { wait: 20 }, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toBe(ac.signal);
  });
});

describe('ApiClient routes', () => {
  const api = (f: typeof fetch) => new ApiClient({ baseUrl: '', getToken: () => 'T', getOrg: () => 'acme', fetch: f });
  const target = { type: 'WEBHOOK' as const, gatewayId: 'gw_hook' };

  it('calls one path per endpoint, escaping the ids', async () => {
    const f = fakeFetch((r) => (r.method === 'DELETE' ? new Response(null, { status: 204 })
      : r.url.endsWith('/replay') ? json(202, { queued: 3 })
      : r.url.includes('/dead-letters') || r.url.endsWith('/routes') || r.url.includes('/routes?') ? json(200, { items: [], nextCursor: null })
      : json(r.method === 'POST' ? 201 : 200, { id: 'rt_1', version: 2 })));
    const a = api(f.fetch);
    await a.listRoutes('gw 1', 'c1');
    await a.createRoute('gw 1', { target, filters: { chatIds: [42] } });
    await a.getRoute('gw 1', 'rt/1');
    await a.updateRoute('gw 1', 'rt/1', { target: { type: 'EVENTBRIDGE' } }, 4);
    await a.setRouteStatus('gw 1', 'rt/1', 'PAUSED');
    await a.deleteRoute('gw 1', 'rt/1');
    await a.deadLetters('gw 1', 'rt/1', { cursor: 'd1', limit: 20 });
    expect(await a.replayRoute('gw 1', 'rt/1', { from: '2026-03-01T10:30:00.000Z' })).toBe(3);
    expect(f.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /api/gateways/gw%201/routes?cursor=c1',
      'POST /api/gateways/gw%201/routes',
      'GET /api/gateways/gw%201/routes/rt%2F1',
      'PUT /api/gateways/gw%201/routes/rt%2F1',
      'PATCH /api/gateways/gw%201/routes/rt%2F1',
      'DELETE /api/gateways/gw%201/routes/rt%2F1',
      'GET /api/gateways/gw%201/routes/rt%2F1/dead-letters?cursor=d1&limit=20',
      'POST /api/gateways/gw%201/routes/rt%2F1/replay',
    ]);
    expect(f.calls[1].body).toEqual({ target, filters: { chatIds: [42] } });
    expect(f.calls[3].headers['If-Match']).toBe('"4"');
    expect(f.calls[3].body).toEqual({ target: { type: 'EVENTBRIDGE' } });
    expect(f.calls[4].body).toEqual({ status: 'PAUSED' });
    expect(f.calls[7].body).toEqual({ from: '2026-03-01T10:30:00.000Z' });
    expect(f.calls.every((c) => c.headers['X-Organization-Id'] === 'acme')).toBe(true);
  });

  it('turns a stale edit into a conflict and a 422 into field errors', async () => {
    const stale = await api(fakeFetch(() => json(412, { title: 'Precondition failed', status: 412 })).fetch).updateRoute('gw_1', 'rt_1', { target }, 1).catch((x) => x);
    expect(stale.conflict).toBe(true);
    const invalid = await api(fakeFetch(() => json(422, { title: 'Invalid request', status: 422, errors: [{ field: 'filters.chatIds[0]', message: 'is not a chat id' }] })).fetch)
      .createRoute('gw_1', { target }).catch((x) => x);
    expect(invalid.fieldErrors()).toEqual({ 'filters.chatIds[0]': 'is not a chat id' });
  });

  it('takes a route version from the ETag when the body lacks it', async () => {
    const r = await api(fakeFetch(() => json(200, { id: 'rt_1' }, { ETag: '"9"' })).fetch).getRoute('gw_1', 'rt_1');
    expect(r.version).toBe(9);
  });
});

describe('helpers', () => {
  it('versionFromEtag', () => {
    expect(versionFromEtag('"3"')).toBe(3);
    expect(versionFromEtag('W/"12"')).toBe(12);
    expect(versionFromEtag('abc')).toBeNull();
    expect(versionFromEtag(null)).toBeNull();
  });
  it('unwrapResult keeps objects that already hold the key', () => {
    expect(unwrapResult({ url: 'x' }, 'url')).toEqual({ url: 'x' });
    expect(unwrapResult({ result: { url: 'x' } }, 'url')).toEqual({ url: 'x' });
  });
});
