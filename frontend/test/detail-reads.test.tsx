// How the gateway page reads its gateway: through the shared useFetch, so a
// read is cancelled when a newer one starts or the page goes away, a read
// that lost a race with a change never shows the older version, and a 404
// at any time says the gateway is gone.
import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { GatewayDetailPage } from '../src/pages/GatewayDetail';
import { fakeFetch, gateway, json, makeApi, withApp, type Recorded } from './helpers';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

const notFound = () => json(404, { title: 'Not Found', status: 404, detail: 'gateway not found' });
const version = () => document.getElementById('overview')!.textContent!.match(/Version(\d+)/)?.[1];

/**
 * The page's routes: the first read of the gateway answers at once (v1),
 * every later one waits in held until the test answers it; panel routes
 * answer as over says, else 404 (so each panel reports it and the page
 * reads the gateway again).
 */
function page(over: Record<string, (r: Recorded) => Response | Promise<Response>> = {}) {
  const held: { call: Recorded; answer: ReturnType<typeof deferred<Response>> }[] = [];
  let reads = 0;
  const f = fakeFetch((r) => {
    const key = `${r.method} ${r.url.replace(/\?.*/, '')}`;
    if (over[key]) return over[key](r);
    if (key === 'GET /api/gateways/gw_1') {
      if (++reads === 1) return json(200, gateway(), { ETag: '"1"' });
      const answer = deferred<Response>();
      held.push({ call: r, answer });
      return answer.promise;
    }
    if (key === 'GET /api/gateways/gw_1/audit') return json(200, { items: [], nextCursor: null });
    return json(404, { title: 'Not Found', status: 404, detail: 'No route matches this path.' });
  });
  return { f, held };
}

describe('the gateway page reads its gateway through useFetch', () => {
  it('cancels a read that a newer one supersedes, and keeps the newest answer', async () => {
    // Several panels report a 404 at once: the page reads the gateway
    // again for each; only the last read may answer.
    const { f, held } = page();
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    await waitFor(() => expect(held.length).toBeGreaterThan(1));
    await new Promise((r) => setTimeout(r, 20));
    const last = held[held.length - 1];
    for (const h of held.slice(0, -1)) expect(h.call.signal?.aborted, 'a superseded read is aborted').toBe(true);
    expect(last.call.signal?.aborted).toBe(false);
    // Answered out of order: the superseded reads' answers are dropped.
    last.answer.resolve(json(200, gateway({ name: 'Newest', version: 4 }), { ETag: '"4"' }));
    await screen.findByRole('heading', { level: 1, name: 'Newest' });
    for (const h of held.slice(0, -1)) h.answer.resolve(json(200, gateway({ name: 'Superseded', version: 5 }), { ETag: '"5"' }));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Newest');
  });

  it('never puts an older version over the newer one a change answered', async () => {
    const { f, held } = page({
      'PATCH /api/gateways/gw_1/status': () => json(200, gateway({ status: 'CONNECTED', version: 2 }), { ETag: '"2"' }),
    });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await waitFor(() => expect(held.length).toBeGreaterThan(0));
    // A read is under way when Connect answers with version 2 …
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    await waitFor(() => expect(version()).toBe('2'));
    // … and then it answers with what the server had before: version 1.
    for (const h of held) h.answer.resolve(json(200, gateway(), { ETag: '"1"' }));
    await new Promise((r) => setTimeout(r, 20));
    expect(version()).toBe('2');
    expect(document.querySelector('.detail-header [data-testid="status-badge"]')!.getAttribute('data-status')).toBe('CONNECTED');
  });

  it('cancels its read when the page goes away', async () => {
    const { f, held } = page();
    const { unmount } = render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await waitFor(() => expect(held.length).toBeGreaterThan(0));
    unmount();
    expect(held[held.length - 1].call.signal?.aborted).toBe(true);
  });

  it('says the gateway is gone when a later read answers 404, and keeps the page for any other failure', async () => {
    const { f, held } = page({ 'POST /api/gateways/gw_1/test': () => json(200, { success: true, latencyMs: 3, result: 'ok' }) });
    render(withApp(makeApi(f.fetch), <GatewayDetailPage id="gw_1" />));
    await waitFor(() => expect(held.length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 20));
    held[held.length - 1].answer.resolve(json(503, { title: 'Service Unavailable', status: 503, detail: 'Try again in a moment.' }));
    expect(await screen.findByText(/Try again in a moment/)).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Support bot');
    // The next read (a Test whose answer carries no gateway) finds it deleted.
    const next = held.length;
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await waitFor(() => expect(held.length).toBe(next + 1));
    held[next].answer.resolve(notFound());
    expect(await screen.findByText('Gateway not found')).toBeTruthy();
  });
});
