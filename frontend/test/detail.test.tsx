import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import type { AppState } from '../src/app-context';
import { SettingsPanel } from '../src/components/detail/SettingsPanel';
import { ApiError } from '../src/lib/api';
import { loadProviders } from '../src/lib/providers';
import { GatewayDetailPage } from '../src/pages/GatewayDetail';
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
    expect(conflict.textContent).toMatch(/Precondition failed.*now at version 3.*changed somewhere else.*nothing was overwritten/s);
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

  it('hides panels whose routes are missing and says tests are not available', async () => {
    const f = routes();
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    expect(await screen.findByRole('heading', { level: 1, name: 'Support bot' })).toBeTruthy();
    await waitFor(() => expect(f.calls.some((c) => c.url.endsWith('/actions/getWebhookInfo'))).toBe(true));
    await waitFor(() => expect(document.getElementById('telegram')).toBeNull());
    expect(document.getElementById('health')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText("Connection tests aren't available on this server yet.")).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Test connection' }) as HTMLButtonElement).disabled).toBe(true);
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
    expect(spark.getAttribute('aria-label')).toBe('4 health checks, 3 OK, slowest 120 ms');
    expect(spark.querySelectorAll('.sparkline__dot--fail')).toHaveLength(1);
    expect(document.getElementById('health')!.textContent).toMatch(/75%.*OK.*100 ms.*average/s);
  });
});
