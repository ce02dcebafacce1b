import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import type { AppState } from '../src/app-context';
import { SettingsPanel } from '../src/components/detail/SettingsPanel';
import { ApiError } from '../src/lib/api';
import { setFlash } from '../src/lib/flash';
import { loadProviders } from '../src/lib/providers';
import { auditTone, collapseRuns, describeAudit } from '../src/components/detail/AuditPanel';
import { HEALTH_PAUSED } from '../src/components/detail/HealthPanel';
import type { AuditEvent } from '../src/lib/types';
import { MIN_SCALE_MS, scaleTop, Sparkline } from '../src/components/Sparkline';
import { DELETE_RETENTION, GatewayDetailPage } from '../src/pages/GatewayDetail';
import { fakeFetch, gateway, json, makeApi, withApp } from './helpers';
import { serverProviders } from './server-providers';

describe('Settings (rename, config)', () => {
  it('explains a 412 and reloads the latest version', async () => {
    const latest = gateway({ name: 'Renamed elsewhere', version: 3 });
    const f = fakeFetch((r) => (r.method === 'PUT'
      ? json(412, { type: 'https://gatehouse.dev/problems/version_mismatch', title: 'Precondition failed', status: 412, detail: 'The gateway was changed since you read it (it is now at version 3); reload it and retry.' })
      : json(200, latest)));
    let shown = gateway({ version: 2 });
    const onReload = async () => { shown = latest; return latest; };
    const { rerender } = render(withApp(makeApi(f.fetch), <SettingsPanel gateway={shown} onSaved={() => {}} onReload={onReload} />));
    fireEvent.input(screen.getByLabelText('Name', { exact: false }), { target: { value: 'Stale' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    const conflict = await screen.findByTestId('conflict');
    expect(conflict.textContent).toMatch(/^This gateway was changed somewhere else.*nothing was overwritten/s);
    expect(conflict.textContent).not.toMatch(/Precondition failed|now at version/);
    expect(f.calls[0].headers['If-Match']).toBe('"2"');
    expect(f.calls[0].body).toEqual({ name: 'Stale' });
    fireEvent.click(screen.getByRole('button', { name: 'Reload latest version' }));
    await waitFor(() => expect(screen.queryByTestId('conflict')).toBeNull());
    rerender(withApp(makeApi(f.fetch), <SettingsPanel gateway={shown} onSaved={() => {}} onReload={onReload} />));
    expect((screen.getByLabelText('Name', { exact: false }) as HTMLInputElement).value).toBe('Renamed elsewhere');
  });

  it('checks config JSON before saving', async () => {
    const f = fakeFetch(() => json(200, gateway()));
    render(withApp(makeApi(f.fetch), <SettingsPanel gateway={gateway()} onSaved={() => {}} onReload={async () => null} />));
    fireEvent.input(screen.getByLabelText('Config', { exact: false }), { target: { value: '[1,2]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText('must be a JSON object')).toBeTruthy();
    expect(f.calls).toHaveLength(0);
  });
});

describe('Gateway detail', () => {
  const routes = (over: Record<string, () => Response> = {}) => fakeFetch((r) => {
    const key = `${r.method} ${r.url.replace(/\?.*/, '')}`;
    if (over[key]) return over[key]();
    if (key === 'GET /api/gateways/gw_1') return json(200, gateway(), { ETag: '"1"' });
    if (key === 'GET /api/gateways/gw_1/audit') return json(200, { items: [], nextCursor: null });
    return json(404, { type: 'https://gatehouse.dev/problems/not_found', title: 'Not Found', status: 404, detail: 'No route matches this path.' });
  });

  it('says "Gateway not found", with a way back, when Test finds it deleted elsewhere', async () => {
    let deleted = false;
    const gone = () => json(404, { type: 'https://gatehouse.dev/problems/not_found', title: 'Not Found', status: 404, detail: 'gateway not found' });
    const f = routes({
      'GET /api/gateways/gw_1': () => (deleted ? gone() : json(200, gateway(), { ETag: '"1"' })),
      'GET /api/gateways/gw_1/health': () => json(200, { items: [] }),
      'POST /api/gateways/gw_1/actions/getWebhookInfo': () => json(409, { title: 'Conflict', status: 409, detail: 'not connected' }),
      'POST /api/gateways/gw_1/test': gone,
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    expect(await screen.findByRole('heading', { level: 1, name: 'Support bot' })).toBeTruthy();
    await waitFor(() => expect(document.getElementById('health')!.textContent).toMatch(/paused/));
    deleted = true;
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText('Gateway not found')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Back to gateways' }).getAttribute('href')).toBe('/gateways');
    expect(document.body.textContent).not.toMatch(/not available/);
  });

  it('checks the gateway when a panel gets a 404, and says it is gone', async () => {
    // The first read finds it; it is deleted elsewhere right after.
    let reads = 0;
    const gone = () => json(404, { title: 'Not Found', status: 404, detail: 'gateway not found' });
    const f = routes({ 'GET /api/gateways/gw_1': () => (++reads > 1 ? gone() : json(200, gateway(), { ETag: '"1"' })) });
    // Every other route answers 404 (see routes()): the panels report it.
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    expect(await screen.findByRole('heading', { level: 1, name: 'Support bot' })).toBeTruthy();
    expect(await screen.findByText('Gateway not found')).toBeTruthy();
    expect(reads).toBeGreaterThan(1);
  });

  it('a panel 404 while the gateway exists keeps the page and shows the error in the panel', async () => {
    const f = routes({ 'GET /api/gateways/gw_1/health': () => json(404, { title: 'Not Found', status: 404, detail: 'No route matches this path.' }) });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    await waitFor(() => expect(document.getElementById('health')!.querySelector('[role="alert"]')!.textContent).toMatch(/No route matches/));
    expect(screen.queryByText('Gateway not found')).toBeNull();
    expect(document.getElementById('telegram')).not.toBeNull();
  });

  it('shows the ERROR the server recorded right after a failed Connect', async () => {
    let connected = false;
    const f = routes({
      'GET /api/gateways/gw_1': () => json(200, connected
        ? gateway({ type: 'AI', status: 'ERROR', lastError: 'Could not reach the provider.', lastErrorAt: '2026-01-02T00:00:00Z', version: 3 })
        : gateway({ type: 'AI' }), { ETag: connected ? '"3"' : '"1"' }),
      'PATCH /api/gateways/gw_1/status': () => { connected = true; return json(502, { title: 'The provider could not be reached', status: 502, detail: 'Could not reach the provider.' }); },
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Connect' }));
    await waitFor(() => expect(document.querySelector('.detail-header [data-testid="status-badge"]')!.getAttribute('data-status')).toBe('ERROR'));
    expect(document.getElementById('overview')!.textContent).toMatch(/Version3/);
    expect(screen.getByTestId('last-error').textContent).toMatch(/Could not reach the provider/);
    expect(screen.getAllByRole('alert').some((a) => /could not be reached/.test(a.textContent ?? ''))).toBe(true);
  });

  it('reads the gateway again after a test whose answer carries none, and after a failed save', async () => {
    let v = 1;
    const f = routes({
      'GET /api/gateways/gw_1': () => json(200, gateway({ version: v, status: v > 1 ? 'ERROR' : 'DISCONNECTED', lastError: v > 1 ? 'bad token' : null }), { ETag: `"${v}"` }),
      'POST /api/gateways/gw_1/test': () => { v = 2; return json(200, { success: false, latencyMs: 5, result: 'auth_failed', error: 'bad token' }); },
      'PUT /api/gateways/gw_1': () => { v = 3; return json(422, { title: 'The provider rejected this bot token', status: 422, errors: [{ field: 'credentials.botToken', message: 'was rejected' }] }); },
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Test connection' }));
    await waitFor(() => expect(document.getElementById('overview')!.textContent).toMatch(/Version2/));
    fireEvent.click(screen.getByRole('button', { name: 'Replace credentials' }));
    fireEvent.input(screen.getByLabelText('Bot token', { exact: false }), { target: { value: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save credentials' }));
    await waitFor(() => expect(document.getElementById('overview')!.textContent).toMatch(/Version3/));
  });

  it('sends the version a rename started from, though the page read a newer one meanwhile', async () => {
    const f = routes({
      'POST /api/gateways/gw_1/test': () => json(200, { success: true, latencyMs: 5, result: 'ok', gateway: gateway({ version: 2, lastCheckedAt: '2026-01-02T00:00:00Z' }) }),
      'PUT /api/gateways/gw_1': () => json(412, { title: 'Precondition failed', status: 412, detail: 'The gateway was changed since you read it (it is now at version 3); reload it and retry.' }),
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.input(await screen.findByLabelText('Name', { exact: false }), { target: { value: 'Mine' } });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await waitFor(() => expect(document.getElementById('overview')!.textContent).toMatch(/Version2/));
    expect((screen.getByLabelText('Name', { exact: false }) as HTMLInputElement).value).toBe('Mine');
    fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    const conflict = await screen.findByTestId('conflict');
    const put = f.calls.find((c) => c.method === 'PUT')!;
    expect(put.headers['If-Match']).toBe('"1"');
    expect(put.body).toEqual({ name: 'Mine' });
    expect(conflict.textContent?.match(/changed somewhere else/g)).toHaveLength(1);
    expect(within(conflict).getByRole('button', { name: 'Reload latest version' })).toBeTruthy();
  });

  it('sends the version the credentials form was opened at', async () => {
    const f = routes({
      'PATCH /api/gateways/gw_1/status': () => json(200, gateway({ status: 'CONNECTED', version: 2, lastConnectedAt: '2026-01-02T00:00:00Z' })),
      'PUT /api/gateways/gw_1': () => json(412, { title: 'Precondition failed', status: 412, detail: 'changed' }),
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Replace credentials' }));
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    await screen.findByRole('button', { name: 'Disconnect' });
    fireEvent.input(screen.getByLabelText('Bot token', { exact: false }), { target: { value: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save credentials' }));
    expect(await screen.findByTestId('conflict')).toBeTruthy();
    expect(f.calls.find((c) => c.method === 'PUT')!.headers['If-Match']).toBe('"1"');
  });

  it.each([
    { name: 'an error older than the last connect', over: { status: 'CONNECTED' as const, lastError: 'unreachable', lastErrorAt: '2026-01-01T00:00:00Z', lastConnectedAt: '2026-01-02T00:00:00Z' }, shown: false },
    { name: 'an error older than a passing check', over: { status: 'DISCONNECTED' as const, lastError: 'unreachable', lastErrorAt: '2026-01-01T00:00:00Z', lastCheckedAt: '2026-01-02T00:00:00Z' }, shown: false },
    { name: 'an error newer than the last connect', over: { status: 'CONNECTED' as const, lastError: 'webhook taken over', lastErrorAt: '2026-01-03T00:00:00Z', lastConnectedAt: '2026-01-02T00:00:00Z' }, shown: true },
    { name: 'an ERROR gateway, whatever the times', over: { status: 'ERROR' as const, lastError: 'unreachable', lastErrorAt: '2026-01-01T00:00:00Z', lastCheckedAt: '2026-01-02T00:00:00Z' }, shown: true },
    { name: 'a creation warning with no success since', over: { status: 'DISCONNECTED' as const, lastError: 'could not check', lastErrorAt: '2026-01-01T00:00:00Z' }, shown: true },
  ])('shows the last error only while it is current: $name', async ({ over, shown }) => {
    const f = routes({ 'GET /api/gateways/gw_1': () => json(200, gateway(over), { ETag: '"1"' }) });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    expect(screen.queryByTestId('last-error') !== null).toBe(shown);
    expect(document.querySelector('.detail-header .status-badge__alert') !== null).toBe(shown);
  });

  it('drops notices that no longer apply: "created" after a rename, "Connection OK" after the status changed', async () => {
    setFlash('Gateway “Support bot” created.');
    const f = routes({
      'PUT /api/gateways/gw_1': () => json(200, gateway({ name: 'Renamed', version: 2 })),
      'POST /api/gateways/gw_1/test': () => json(200, { success: true, latencyMs: 5, result: 'ok', gateway: gateway({ name: 'Renamed', version: 3 }) }),
      'PATCH /api/gateways/gw_1/status': () => json(200, gateway({ name: 'Renamed', status: 'CONNECTED', version: 4 })),
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    expect(await screen.findByText('Gateway “Support bot” created.')).toBeTruthy();
    fireEvent.input(screen.getByLabelText('Name', { exact: false }), { target: { value: 'Renamed' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByRole('heading', { level: 1, name: 'Renamed' });
    expect(screen.queryByText('Gateway “Support bot” created.')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect((await screen.findByTestId('test-result')).textContent).toMatch(/Connection OK/);
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    await screen.findByRole('button', { name: 'Disconnect' });
    expect(screen.queryByTestId('test-result')).toBeNull();
  });

  it('names a send error\'s fields as the request body has them', async () => {
    const f = routes({
      'GET /api/gateways/gw_1': () => json(200, gateway({ status: 'CONNECTED' }), { ETag: '"1"' }),
      'POST /api/gateways/gw_1/actions/getWebhookInfo': () => json(200, { url: 'https://x', pending_update_count: 0 }),
      'POST /api/gateways/gw_1/actions/sendMessage': () => json(400, { title: 'Invalid request', status: 400, errors: [{ field: 'chat_id', message: 'chat not found' }] }),
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    const panel = document.getElementById('telegram')!;
    fireEvent.input(within(panel).getByLabelText(/^Chat ID/), { target: { value: '42' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Send message' }));
    const err = await within(panel).findByText('chat not found');
    expect(err.closest('.field')!.querySelector('input')!.getAttribute('aria-invalid')).toBe('true');
    expect(panel.textContent).not.toMatch(/params\./);
  });

  it('puts Settings, Credentials and Delete before the audit trail (one column at 360 px follows the page order)', async () => {
    const f = routes();
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    const audit = document.getElementById('audit')!;
    for (const el of [document.getElementById('settings')!, document.getElementById('credentials')!, screen.getByRole('button', { name: 'Delete gateway' })]) {
      expect(el.compareDocumentPosition(audit) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    }
  });

  it('says health checks are paused while the gateway is disconnected', async () => {
    const f = routes({ 'GET /api/gateways/gw_1/health': () => json(200, { items: [] }) });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    const paused = await screen.findByTestId('health-paused');
    expect(paused.textContent).toBe(HEALTH_PAUSED);
    expect(document.getElementById('health')!.textContent).not.toMatch(/every few minutes/);
  });

  it('shows a classified test result', async () => {
    const f = routes({
      'POST /api/gateways/gw_1/test': () => json(200, { success: false, latencyMs: 812, result: 'rate_limited', error: 'Telegram getMe failed (429): Too Many Requests', details: { retryAfterSeconds: 5 } }),
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Test connection' }));
    const r = await screen.findByTestId('test-result');
    expect(r.textContent).toMatch(/Rate limited.*812 ms.*Too Many Requests.*Retry after seconds: 5/s);
  });

  it('connects with progress and shows an ERROR with its last error', async () => {
    let release!: (r: Response) => void;
    const f = routes({ 'PATCH /api/gateways/gw_1/status': () => new Promise<Response>((r) => { release = r; }) as unknown as Response });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Connect' }));
    expect(await screen.findByText('Connecting…', { selector: 'button span' })).toBeTruthy();
    expect(document.querySelector('.detail-header [data-status="CONNECTING"]')).not.toBeNull();
    expect((screen.getByRole('button', { name: /Test connection/ }) as HTMLButtonElement).disabled).toBe(true);
    release(json(200, gateway({ status: 'ERROR', lastError: 'Telegram setWebhook failed (400): bad webhook', version: 3 })));
    expect((await screen.findByTestId('last-error')).textContent).toMatch(/bad webhook/);
    expect(f.calls.filter((c) => c.method === 'PATCH')).toHaveLength(1);
    expect(f.calls.find((c) => c.method === 'PATCH')!.body).toEqual({ status: 'CONNECTED' });
  });

  it('asks before deleting, naming the gateway', async () => {
    const f = routes({ 'DELETE /api/gateways/gw_1': () => new Response(null, { status: 204 }) });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    fireEvent.click(await screen.findByRole('button', { name: 'Delete gateway' }));
    const dialog = screen.getByRole('dialog');
    expect(dialog.textContent).toMatch(/Delete “Support bot”\?/);
    expect(within(dialog).getByTestId('delete-retention').textContent).toBe(DELETE_RETENTION);
    expect(DELETE_RETENTION).toBe('The gateway is deleted; its audit trail is kept and stays readable by its owner.');
    expect(dialog.textContent).not.toMatch(/history/);
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(f.calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Delete gateway' }));
    const confirm = screen.getAllByRole('button', { name: 'Delete gateway' }).find((b) => b.closest('[role="dialog"]'))!;
    fireEvent.click(confirm);
    await waitFor(() => expect(window.location.pathname).toBe('/gateways'));
    expect(f.calls.filter((c) => c.method === 'DELETE')).toHaveLength(1);
  });

  it('says when the gateway does not exist', async () => {
    const f = routes({ 'GET /api/gateways/gw_1': () => json(404, { title: 'Not Found', status: 404, detail: 'gateway not found' }) });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    expect(await screen.findByText('Gateway not found')).toBeTruthy();
  });
});

describe('audit trail', () => {
  const ev = (over: Partial<AuditEvent>): AuditEvent => ({ id: 'e', action: 'gateway.tested', at: '2026-01-01T00:00:00Z', actor: { userId: 'alice', organizationId: null }, ...over });

  it.each([
    { name: 'a status change to Error', e: ev({ action: 'gateway.status_changed', details: { from: 'CONNECTING', to: 'ERROR' } }), want: 'to-error' },
    { name: 'a status change to Connected', e: ev({ action: 'gateway.status_changed', details: { from: 'ERROR', to: 'CONNECTED' } }), want: 'to-connected' },
    { name: 'a failed test', e: ev({ details: { result: 'unreachable' } }), want: 'to-error' },
    { name: 'a passing test', e: ev({ details: { result: 'ok' } }), want: 'to-connected' },
    { name: 'a rename', e: ev({ action: 'gateway.updated', changes: ['name'] }), want: 'updated' },
  ])('colours $name by where it ends', ({ e, want }) => expect(auditTone(e)).toBe(want));

  it('shows the old and new name of a rename', () => {
    expect(describeAudit(ev({ action: 'gateway.updated', changes: ['name'], details: { oldName: 'Support bot', newName: 'Support bot EU' } })))
      .toBe('Renamed it from “Support bot” to “Support bot EU”');
  });

  it('collapses runs of identical events, whatever their latency, and keeps different ones apart', () => {
    const tests = Array.from({ length: 10 }, (_, i) => ev({ id: `t${i}`, at: `2026-01-01T00:${String(59 - i).padStart(2, '0')}:00Z`, details: { result: 'ok', latencyMs: String(i) } }));
    const runs = collapseRuns([...tests, ev({ id: 'x', action: 'gateway.status_changed', details: { from: 'CONNECTING', to: 'ERROR' } }), ev({ id: 'f', details: { result: 'unreachable' } })]);
    expect(runs.map((r) => [describeAudit(r.event), r.count])).toEqual([
      ['Tested the connection: ok', 10], ['Status Connecting → Error', 1], ['Tested the connection: unreachable', 1],
    ]);
    expect(runs[0].oldest.id).toBe('t9');
  });

  it('draws a run once with its count', async () => {
    const items = Array.from({ length: 3 }, (_, i) => ({ id: `t${i}`, action: 'gateway.tested', at: '2026-01-01T00:00:00Z', actor: { userId: 'alice', organizationId: null }, details: { result: 'ok', latencyMs: String(i) } }));
    const f = fakeFetch((r) => (r.url.includes('/audit') ? json(200, { items, nextCursor: null }) : r.url.endsWith('/gw_1') ? json(200, gateway(), { ETag: '"1"' }) : json(200, { items: [] })));
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    const list = await screen.findByTestId('audit-list');
    expect(list.querySelectorAll('li')).toHaveLength(1);
    expect(list.textContent).toMatch(/Tested the connection: ok ×3/);
  });
});

describe('providers', () => {
  it('uses the server description when there is one', async () => {
    const f = fakeFetch(() => json(200, { types: [{ type: 'WEBHOOK', name: 'Outgoing webhook', description: 'd', credentialFields: [{ name: 'url', label: 'URL', required: true, secret: false }], actions: [{ name: 'send', params: null }] }] }));
    const p = await loadProviders(makeApi(f.fetch));
    expect(p[0]).toMatchObject({ type: 'WEBHOOK', name: 'Outgoing webhook', actions: [{ name: 'send', params: [] }] });
  });

  it('fails, with nothing made up, when the route is missing', async () => {
    const f = fakeFetch(() => json(404, { title: 'Not Found', status: 404 }));
    await expect(loadProviders(makeApi(f.fetch))).rejects.toMatchObject({ status: 404 });
  });

  it.each([
    ['no types', {}],
    ['an empty list', { types: [] }],
    ['a bare list', [{ type: 'WEBHOOK', name: 'W', description: '', credentialFields: [], actions: [] }]],
    ['a type without fields', { types: [{ type: 'WEBHOOK', name: 'W', description: '' }] }],
  ])('refuses an answer with %s', async (_, body) => {
    const f = fakeFetch(() => json(200, body));
    await expect(loadProviders(makeApi(f.fetch))).rejects.toThrow(/gateway type/);
  });

  const page = (providers: AppState['providers'], reloadProviders = () => {}) => {
    const f = fakeFetch((r) => (r.url.endsWith('/api/gateways/gw_1') ? json(200, gateway(), { ETag: '"1"' }) : json(404, { title: 'Not Found', status: 404 })));
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />, { providers, reloadProviders }));
  };

  it('shows the stored credentials while the types load, and no form', async () => {
    page({ status: 'loading' });
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    const panel = document.getElementById('credentials')!;
    expect(panel.querySelector('[data-testid="providers-loading"]')).toBeTruthy();
    expect(panel.textContent).toMatch(/le12/);
    expect(screen.queryByRole('button', { name: 'Replace credentials' })).toBeNull();
  });

  it('says the types could not be loaded and retries on request', async () => {
    const retry = vi.fn();
    page({ status: 'error', error: new ApiError({ status: 503, title: 'Service unavailable', detail: 'Try again in a moment.' }) }, retry);
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    const panel = document.getElementById('credentials')!;
    expect(panel.querySelector('[role="alert"]')!.textContent).toMatch(/Service unavailable.*Try again in a moment\..*could not be loaded from the server/s);
    expect(screen.queryByRole('button', { name: 'Replace credentials' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(retry).toHaveBeenCalledTimes(1);
  });

  it('builds the credentials form from the server description once it is there', async () => {
    page({ status: 'ready', items: serverProviders });
    fireEvent.click(await screen.findByRole('button', { name: 'Replace credentials' }));
    expect((screen.getByLabelText('Bot token', { exact: false }) as HTMLInputElement).type).toBe('password');
  });
});

describe('health', () => {
  it('starts the scale at zero with a floor, so 0–1 ms checks draw a flat line', () => {
    const at = new Date().toISOString();
    render(<Sparkline samples={[0, 1, 0, 1].map((latencyMs) => ({ at, result: 'ok' as const, latencyMs }))} height={64} />);
    const ys = [...document.querySelectorAll('.sparkline__dot--ok')].map((c) => Number(c.getAttribute('cy')));
    expect(Math.max(...ys) - Math.min(...ys)).toBeLessThan(1);
    expect(screen.getByTestId('sparkline').getAttribute('data-scale-top')).toBe(String(MIN_SCALE_MS));
  });

  it.each([
    { slowest: 0, want: 100 }, { slowest: 120, want: 200 }, { slowest: 450, want: 500 }, { slowest: 1000, want: 1000 }, { slowest: 1001, want: 2000 },
  ])('rounds the top of the scale up: $slowest ms → $want ms', ({ slowest, want }) => {
    expect(scaleTop(slowest)).toBe(want);
  });

  it('draws the sparkline from the samples, newest first', async () => {
    const now = Date.now();
    const items = [
      { at: new Date(now).toISOString(), result: 'ok', latencyMs: 120 },
      { at: new Date(now - 300_000).toISOString(), result: 'unreachable', latencyMs: 10000 },
      { at: new Date(now - 600_000).toISOString(), result: 'ok', latencyMs: 80 },
      { at: new Date(now - 900_000).toISOString(), result: 'ok', latencyMs: 100 },
    ];
    const f = fakeFetch((r) => (r.url.endsWith('/health') ? json(200, { items }) : r.url.endsWith('/audit') ? json(200, { items: [], nextCursor: null }) : r.url.includes('/actions/') ? json(404, { title: 'Not Found', status: 404 }) : json(200, gateway(), { ETag: '"1"' })));
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    const spark = await screen.findByTestId('sparkline');
    expect(spark.getAttribute('aria-label')).toBe('4 health checks, 3 OK, 1 failed, slowest 120 ms, scale 0–200 ms');
    expect(spark.querySelectorAll('.sparkline__dot--fail')).toHaveLength(1);
    // A failure is its own mark (a band and a cross), not a dot of another colour.
    expect(spark.querySelectorAll('rect.sparkline__fail')).toHaveLength(1);
    expect(spark.querySelector('.sparkline__dot--fail')!.tagName.toLowerCase()).toBe('path');
    expect(document.getElementById('health')!.textContent).toMatch(/75%.*OK.*100 ms.*average/s);
  });
});
