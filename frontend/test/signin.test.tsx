import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SignInPage } from '../src/pages/SignIn';
import { json } from './helpers';

afterEach(() => vi.unstubAllGlobals());

describe('local sign-in', () => {
  const signIn = async (orgs: string | null) => {
    const calls: unknown[] = [];
    vi.stubGlobal('fetch', async (_: string, init: RequestInit) => {
      calls.push(JSON.parse(String(init.body)));
      return json(200, { token: 'tok', expiresAt: null });
    });
    const onSignedIn = vi.fn();
    render(<SignInPage config={{ apiBaseUrl: '', auth: { mode: 'dev', tokenUrl: '/dev/token' } }} onSignedIn={onSignedIn} />);
    const field = screen.getByLabelText('Organisations', { exact: false }) as HTMLInputElement;
    if (orgs === null) expect(field.value).toBe('');
    else fireEvent.input(screen.getByLabelText('Organisations', { exact: false }), { target: { value: orgs } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledTimes(1));
    return { calls, org: onSignedIn.mock.calls[0][1] };
  };

  it('opens the personal workspace when the field is left as it is', async () => {
    const { calls, org } = await signIn(null);
    expect(org).toBeNull();
    expect(calls).toEqual([{ sub: 'alice', orgs: [] }]);
  });

  it('opens the first organisation the user typed', async () => {
    const { calls, org } = await signIn('beta, acme');
    expect(org).toBe('beta');
    expect(calls).toEqual([{ sub: 'alice', orgs: ['beta', 'acme'] }]);
  });
});
