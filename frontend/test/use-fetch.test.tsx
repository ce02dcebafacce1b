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

describe('useFetch reload, set and merge', () => {
  type V = { v: number };
  function harness(merge?: (cur: V | null, next: V) => V) {
    const reads: { signal: AbortSignal; d: ReturnType<typeof deferred<V>> }[] = [];
    const api: { current: ReturnType<typeof useFetch<V>> | null } = { current: null };
    function Show() {
      api.current = useFetch<V>((signal) => {
        const d = deferred<V>();
        reads.push({ signal, d });
        return d.promise;
      }, [], { merge });
      return <p data-testid="out">{api.current.data ? String(api.current.data.v) : 'none'}</p>;
    }
    return { reads, api, Show };
  }
  const out = () => screen.getByTestId('out').textContent;

  it('reload resolves to what it read, and a reload it supersedes to null, aborted', async () => {
    const { reads, api, Show } = harness();
    render(<Show />);
    reads[0].d.resolve({ v: 1 });
    await waitFor(() => expect(out()).toBe('1'));
    const first = api.current!.reload();
    const second = api.current!.reload();
    expect(reads).toHaveLength(3);
    expect(reads[1].signal.aborted).toBe(true);
    expect(reads[2].signal.aborted).toBe(false);
    reads[2].d.resolve({ v: 3 });
    reads[1].d.resolve({ v: 2 });
    expect(await second).toEqual({ v: 3 });
    expect(await first).toBeNull();
    await waitFor(() => expect(out()).toBe('3'));
  });

  it('a failed reload resolves to null and keeps what is shown', async () => {
    function Failing() {
      const f = useFetch<V>(() => (n++ === 0 ? Promise.resolve({ v: 1 }) : Promise.reject(new Error('down'))), []);
      reload = f.reload;
      return <p data-testid="out">{f.data?.v ?? 'none'} {f.error ? (f.error as Error).message : ''}</p>;
    }
    let n = 0;
    let reload: () => Promise<V | null> = async () => null;
    render(<Failing />);
    await waitFor(() => expect(out()).toBe('1 '));
    expect(await reload()).toBeNull();
    await waitFor(() => expect(out()).toBe('1 down'));
  });

  it('merge decides between a late read and a value set meanwhile; reload returns what is shown', async () => {
    const { reads, api, Show } = harness((cur, next) => (cur && cur.v > next.v ? cur : next));
    render(<Show />);
    reads[0].d.resolve({ v: 1 });
    await waitFor(() => expect(out()).toBe('1'));
    const late = api.current!.reload();
    api.current!.set({ v: 5 });
    await waitFor(() => expect(out()).toBe('5'));
    reads[1].d.resolve({ v: 4 });
    expect(await late).toEqual({ v: 5 });
    expect(out()).toBe('5');
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
