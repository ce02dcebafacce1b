import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { GatewayListPage } from '../src/pages/GatewayList';
import { fakeFetch, gateway, json, makeApi, withApp } from './helpers';

describe('Gateway list', () => {
  it('leads an empty workspace to "Add gateway"', async () => {
    const f = fakeFetch(() => json(200, { items: [], nextCursor: null }));
    render(withApp(makeApi(f.fetch), <GatewayListPage />));
    expect(await screen.findByText('No gateways yet')).toBeTruthy();
    const links = screen.getAllByRole('link', { name: /Add gateway/ });
    expect(links.every((a) => a.getAttribute('href') === '/gateways/new')).toBe(true);
  });

  it('shows name, type, status with the last error on hover', async () => {
    const f = fakeFetch(() => json(200, { items: [
      gateway(),
      gateway({ id: 'gw_2', name: 'Assistant', type: 'AI', status: 'ERROR', lastError: 'the provider rejected the API key', lastCheckedAt: new Date().toISOString(), lastLatencyMs: 120 }),
    ], nextCursor: null }));
    render(withApp(makeApi(f.fetch), <GatewayListPage />));
    const rows = await screen.findAllByTestId('gateway-row');
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toMatch(/Support bot.*Telegram Bot.*Disconnected.*Not yet/);
    expect(rows[1].textContent).toMatch(/Assistant.*AI.*Error.*120 ms/);
    expect(rows[1].querySelector('[data-testid="status-badge"]')!.getAttribute('title')).toBe('Last error: the provider rejected the API key');
  });

  it('shows the last error in the row, and names the "!" for screen readers', async () => {
    const f = fakeFetch(() => json(200, { items: [
      gateway({ id: 'gw_2', name: 'Assistant', type: 'AI', status: 'ERROR', lastError: 'the provider rejected the API key' }),
      // An error older than the last connect is history (the audit trail), not news.
      gateway({ id: 'gw_3', name: 'Old', status: 'CONNECTED', lastError: 'unreachable', lastErrorAt: '2026-01-01T00:00:00Z', lastConnectedAt: '2026-01-02T00:00:00Z' }),
    ], nextCursor: null }));
    render(withApp(makeApi(f.fetch), <GatewayListPage />));
    const rows = await screen.findAllByTestId('gateway-row');
    expect(rows[0].querySelector('[data-testid="row-error"]')!.textContent).toBe('the provider rejected the API key');
    expect(screen.getByRole('img', { name: 'Last error: the provider rejected the API key' }).textContent).toBe('!');
    expect(rows[1].querySelector('[data-testid="row-error"]')).toBeNull();
    expect(rows[1].querySelector('[data-testid="status-alert"]')).toBeNull();
  });

  it('filters through the query string and pages with the cursor', async () => {
    window.history.replaceState(null, '', '/gateways?type=AI');
    const f = fakeFetch((r) => json(200, r.url.includes('cursor=c2')
      ? { items: [gateway({ id: 'gw_3', name: 'Third' })], nextCursor: null }
      : { items: [gateway({ id: 'gw_1' })], nextCursor: 'c2' }));
    render(withApp(makeApi(f.fetch), <GatewayListPage />));
    await screen.findAllByTestId('gateway-row');
    expect(f.calls[0].url).toBe('/api/gateways?type=AI&limit=20');
    fireEvent.click(screen.getByRole('button', { name: /Next/ }));
    expect(await screen.findByText('Third')).toBeTruthy();
    expect(f.calls[1].url).toBe('/api/gateways?type=AI&limit=20&cursor=c2');
    expect(screen.getByText('Page 2')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /Previous/ }));
    await waitFor(() => expect(f.calls[2].url).toBe('/api/gateways?type=AI&limit=20'));
    fireEvent.change(screen.getByTestId('filter-status'), { target: { value: 'ERROR' } });
    await waitFor(() => expect(window.location.search).toBe('?type=AI&status=ERROR'));
    await waitFor(() => expect(f.calls.at(-1)!.url).toBe('/api/gateways?type=AI&status=ERROR&limit=20'));
  });

  it('shows the problem and retries', async () => {
    let n = 0;
    const f = fakeFetch(() => (++n === 1 ? json(403, { title: 'Forbidden', status: 403, detail: 'You are not a member of organization "zzz".' }) : json(200, { items: [gateway()], nextCursor: null })));
    render(withApp(makeApi(f.fetch), <GatewayListPage />));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Forbidden.*not a member/);
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('Support bot')).toBeTruthy();
  });
});
