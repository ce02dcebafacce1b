import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { AuditPanel } from '../src/components/detail/AuditPanel';
import { useFetch } from '../src/lib/use-fetch';
import { fakeFetch, json, makeApi, withApp } from './helpers';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('useFetch', () => {
  it('drops an answer that arrives after a newer read began, and aborts it', async () => {
    const reads: { q: string; signal: AbortSignal; d: ReturnType<typeof deferred<string>> }[] = [];
    function Show({ q }: { q: string }) {
      const { data } = useFetch((signal) => {
        const d = deferred<string>();
        reads.push({ q, signal, d });
        return d.promise;
      }, [q]);
      return <p data-testid="out">{data ?? 'none'}</p>;
    }
    const { rerender } = render(<Show q="old" />);
    rerender(<Show q="new" />);
    await waitFor(() => expect(reads).toHaveLength(2));
    expect(reads[0].signal.aborted).toBe(true);
    reads[1].d.resolve('new answer');
    await waitFor(() => expect(screen.getByTestId('out').textContent).toBe('new answer'));
    reads[0].d.resolve('old answer');
    await new Promise((r) => setTimeout(r, 10));
    expect(screen.getByTestId('out').textContent).toBe('new answer');
  });
});

describe('audit trail paging', () => {
  const ev = (id: string) => ({ id, action: 'gateway.updated', at: '2026-01-01T00:00:00Z', actor: { userId: 'alice', organizationId: null }, changes: [id] });

  it('never appends an older page read before a refresh to the refreshed list', async () => {
    let firstPages = 0;
    const older = deferred<Response>();
    const f = fakeFetch((r) => {
      if (r.url.includes('cursor=c1')) return older.promise;
      firstPages += 1;
      return json(200, { items: [ev(firstPages === 1 ? 'a' : 'fresh')], nextCursor: 'c1' });
    });
    const api = makeApi(f.fetch);
    const { rerender } = render(withApp(api, <AuditPanel gatewayId="gw_1" refreshKey={0} />));
    fireEvent.click(await screen.findByRole('button', { name: 'Load older events' }));
    rerender(withApp(api, <AuditPanel gatewayId="gw_1" refreshKey={1} />));
    await waitFor(() => expect(screen.getByTestId('audit-list').textContent).toMatch(/fresh/));
    older.resolve(json(200, { items: [ev('stale-older')], nextCursor: null }));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByTestId('audit-list').textContent).not.toMatch(/stale-older/);
    expect(screen.getByTestId('audit-list').querySelectorAll('li')).toHaveLength(1);
  });

  it('appends older pages to the page they follow', async () => {
    const f = fakeFetch((r) => (r.url.includes('cursor=c1') ? json(200, { items: [ev('b')], nextCursor: null }) : json(200, { items: [ev('a')], nextCursor: 'c1' })));
    render(withApp(makeApi(f.fetch), <AuditPanel gatewayId="gw_1" refreshKey={0} />));
    fireEvent.click(await screen.findByRole('button', { name: 'Load older events' }));
    await waitFor(() => expect(screen.getByTestId('audit-list').querySelectorAll('li')).toHaveLength(2));
    expect(screen.queryByRole('button', { name: 'Load older events' })).toBeNull();
  });
});
