import { fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../src/App';
import { saveSession } from '../src/auth/session';
import { fakeFetch, json } from './helpers';
import answer from './testdata/providers.json';

afterEach(() => vi.unstubAllGlobals());

describe('App', () => {
  it('builds the add form from GET /api/providers only, and asks again on Try again', async () => {
    saveSession({ token: 't', expiresAt: null, sub: 'alice', orgs: [], mode: 'dev' });
    window.history.replaceState(null, '', '/gateways/new');
    let n = 0;
    const f = fakeFetch((r) => (r.url.endsWith('/api/providers')
      ? (++n === 1 ? json(500, { title: 'Internal Server Error', status: 500, detail: 'The server failed.' }) : json(200, answer))
      : json(404, { title: 'Not Found', status: 404 })));
    vi.stubGlobal('fetch', f.fetch);
    render(<App config={{ apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } }} />);

    expect(await screen.findByTestId('providers-error')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toMatch(/Internal Server Error.*The server failed\./s);
    expect(screen.queryAllByRole('radio')).toHaveLength(0);

    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('radio', { name: /Telegram Bot/ })).toBeTruthy();
    expect(screen.getAllByRole('radio')).toHaveLength(answer.types.length);
    expect(f.calls.filter((c) => c.url.endsWith('/api/providers'))).toHaveLength(2);
  });
});
