import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../src/App';
import { saveSession } from '../src/auth/session';
import { ErrorBoundary } from '../src/components/ErrorBoundary';
import { Notice } from '../src/components/ui';
import { navigate } from '../src/lib/router';
import { AddGatewayPage } from '../src/pages/AddGateway';
import { SignInPage } from '../src/pages/SignIn';
import { fakeFetch, gateway, json, makeApi, withApp } from './helpers';
import answer from './testdata/providers.json';

afterEach(() => vi.unstubAllGlobals());

const app = () => render(<App config={{ apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } }} />);

describe('type picker', () => {
  it('moves and selects with the arrow keys, one tab stop for the group', () => {
    render(withApp(makeApi(fakeFetch(() => json(500, {})).fetch), <AddGatewayPage />));
    const radios = screen.getAllByRole('radio');
    expect(radios.map((r) => r.tabIndex)).toEqual(radios.map((_, i) => (i === 0 ? 0 : -1)));
    radios[0].focus();
    fireEvent.keyDown(radios[0], { key: 'ArrowRight' });
    expect(radios[1].getAttribute('aria-checked')).toBe('true');
    expect(document.activeElement).toBe(radios[1]);
    expect(radios.map((r) => r.tabIndex)).toEqual(radios.map((_, i) => (i === 1 ? 0 : -1)));
    fireEvent.keyDown(radios[1], { key: 'ArrowLeft' });
    fireEvent.keyDown(radios[0], { key: 'ArrowUp' });
    expect(radios[radios.length - 1].getAttribute('aria-checked')).toBe('true');
    expect(document.activeElement).toBe(radios[radios.length - 1]);
    fireEvent.keyDown(radios[radios.length - 1], { key: 'Home' });
    expect(radios[0].getAttribute('aria-checked')).toBe('true');
  });
});

describe('pages', () => {
  it('sets the document title and, after a navigation, moves focus to the heading', async () => {
    saveSession({ token: 't', expiresAt: null, sub: 'alice', orgs: [], mode: 'dev' });
    window.history.replaceState(null, '', '/gateways');
    const f = fakeFetch((r) => (r.url.endsWith('/api/providers') ? json(200, answer) : r.url.includes('/api/gateways/gw_1') ? json(200, gateway(), { ETag: '"1"' }) : json(200, { items: [gateway()], nextCursor: null })));
    vi.stubGlobal('fetch', f.fetch);
    app();
    await screen.findByRole('heading', { level: 1, name: 'Gateways' });
    await waitFor(() => expect(document.title).toBe('Gateways · Gatehouse'));
    // A first load leaves focus where the browser put it.
    expect(document.activeElement).toBe(document.body);
    navigate('/gateways/new');
    const h = await screen.findByRole('heading', { level: 1, name: 'Add gateway' });
    await waitFor(() => expect(document.activeElement).toBe(h));
    expect(document.title).toBe('Add gateway · Gatehouse');
    navigate('/gateways/gw_1');
    const d = await screen.findByRole('heading', { level: 1, name: 'Support bot' });
    await waitFor(() => expect(document.activeElement).toBe(d));
    expect(document.title).toBe('Support bot · Gatehouse');
  });

  it('gives the sign-in page a main landmark and a title', async () => {
    render(<SignInPage config={{ apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } }} onSignedIn={() => {}} />);
    expect(screen.getByRole('main')).toBeTruthy();
    await waitFor(() => expect(document.title).toBe('Sign in · Gatehouse'));
  });
});

describe('announcements', () => {
  it('says a notice through the live region that was there before it', async () => {
    saveSession({ token: 't', expiresAt: null, sub: 'alice', orgs: [], mode: 'dev' });
    window.history.replaceState(null, '', '/gateways');
    vi.stubGlobal('fetch', fakeFetch((r) => (r.url.endsWith('/api/providers') ? json(200, answer) : json(200, { items: [], nextCursor: null }))).fetch);
    app();
    const region = screen.getByTestId('announcer');
    expect(region.getAttribute('aria-live')).toBe('polite');
    expect(region.textContent).toBe('');
    render(<Notice kind="success" title="Changes saved." />);
    await waitFor(() => expect(region.textContent).toBe('Changes saved.'));
  });
});

describe('error boundary', () => {
  it('keeps a render exception in a page from blanking the app', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const Boom = () => {
      throw new Error('kaboom');
    };
    render(<div><header data-testid="bar">bar</header><ErrorBoundary><Boom /></ErrorBoundary></div>);
    expect(screen.getByTestId('bar')).toBeTruthy();
    expect(screen.getByTestId('render-error').textContent).toMatch(/This page could not be shown.*kaboom/s);
    expect(screen.getByRole('link', { name: 'Back to gateways' })).toBeTruthy();
  });
});
