import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { describe, expect, it, vi } from 'vitest';
import { AddGatewayPage } from '../src/pages/AddGateway';
import { fakeFetch, gateway, json, makeApi, withApp } from './helpers';
import { serverProviders } from './server-providers';

function setup(handler: Parameters<typeof fakeFetch>[0]) {
  const f = fakeFetch(handler);
  render(withApp(makeApi(f.fetch), <AddGatewayPage />));
  return f;
}

const type = (name: RegExp) => fireEvent.click(screen.getByRole('radio', { name }));
const input = (label: string, value: string) => fireEvent.input(screen.getByLabelText(label, { exact: false }), { target: { value } });

describe('Add gateway', () => {
  it('builds the form of the chosen type from its description', () => {
    setup(() => json(500, {}));
    expect(screen.queryByLabelText('Bot token', { exact: false })).toBeNull();
    type(/Telegram Bot/);
    expect(screen.getByRole('radio', { name: /Telegram Bot/ }).getAttribute('aria-checked')).toBe('true');
    expect((screen.getByLabelText('Bot token', { exact: false }) as HTMLInputElement).type).toBe('password');
    type(/^AI/);
    expect(screen.getByLabelText('Provider', { exact: false })).toBeTruthy();
    expect(screen.getByLabelText('API key', { exact: false })).toBeTruthy();
    expect(screen.getByText(/Leave empty to use https:\/\/api.openai.com\/v1/)).toBeTruthy();
  });

  it('checks fields before sending anything', async () => {
    const f = setup(() => json(201, gateway()));
    type(/Telegram Bot/);
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    expect(await screen.findByText('must not be empty')).toBeTruthy();
    expect(screen.getByText('is required')).toBeTruthy();
    expect(screen.getByLabelText('Bot token', { exact: false }).getAttribute('aria-invalid')).toBe('true');
    expect(f.calls).toHaveLength(0);
  });

  it('switches the AI rules with the provider (Ollama: base URL, no key)', async () => {
    setup(() => json(201, gateway()));
    type(/^AI/);
    input('Name', 'Local');
    fireEvent.change(screen.getByLabelText('Provider', { exact: false }), { target: { value: 'ollama' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    expect(await screen.findByText('is required for ollama')).toBeTruthy();
    expect(screen.queryByText('is required')).toBeNull();
  });

  it("shows the server's field errors beside their fields, and the problem", async () => {
    setup(() => json(400, {
      type: 'https://gatehouse.dev/problems/invalid', title: 'Invalid request', status: 400, detail: 'The request is invalid.',
      errors: [{ field: 'credentials.apiKey', message: 'was rejected: invalid credentials' }, { field: 'credentials.extra', message: 'is not a known field' }],
    }));
    type(/^AI/);
    input('Name', 'Assistant');
    input('API key', 'sk-test-1234');
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    const err = await screen.findByText('was rejected: invalid credentials');
    expect(err.closest('.field')!.querySelector('input')!.getAttribute('aria-invalid')).toBe('true');
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toMatch(/^The provider rejected this API key.*Check the API key and try again\..*extra is not a known field/s);
    expect(alert.textContent).not.toMatch(/Invalid request|The request is invalid/);
  });

  it('keeps the config editor open with the JSON as typed, the error under it named as written', async () => {
    setup(() => json(400, {
      title: 'Invalid request', status: 400, detail: 'The request is invalid.',
      errors: [{ field: 'config.maxConnections', message: 'must be between 1 and 100' }],
    }));
    type(/Telegram Bot/);
    input('Name', 'Bot');
    input('Bot token', '123456789:AAHk1x_ExampleExampleExampleExample12');
    const details = document.querySelector('details.advanced') as HTMLDetailsElement;
    details.open = true;
    fireEvent(details, new Event('toggle'));
    input('Config', '{"maxConnections": 500}');
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    const err = await screen.findByText('maxConnections must be between 1 and 100');
    expect(err.closest('.field')!.querySelector('textarea')!.value).toBe('{"maxConnections": 500}');
    expect(details.open).toBe(true);
    expect(screen.getByRole('alert').textContent).toMatch(/^Please correct the highlighted field\.$/);
    expect(document.body.textContent).not.toMatch(/Config\.max connections/i);
  });

  it('says where a config JSON syntax error is', async () => {
    const f = setup(() => json(201, gateway()));
    type(/Telegram Bot/);
    input('Name', 'Bot');
    input('Bot token', '123456789:AAHk1x_ExampleExampleExampleExample12');
    input('Config', '{\n  "maxConnections": 5,\n}');
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    expect(await screen.findByText(/is not valid JSON: line 3, column 1/)).toBeTruthy();
    expect(f.calls).toHaveLength(0);
  });

  it('sends one Idempotency-Key per distinct payload and reuses it on retry', async () => {
    let n = 0;
    const f = setup(() => (++n === 1 ? json(503, { title: 'Service unavailable', status: 503, detail: 'Try again.' }) : json(201, gateway({ id: 'gw_new', name: 'Bot' }))));
    type(/Telegram Bot/);
    input('Name', 'Bot');
    input('Bot token', '123456789:AAHk1x_ExampleExampleExampleExample12');
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    expect(await screen.findByText('Try again.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Create gateway' }));
    await waitFor(() => expect(window.location.pathname).toBe('/gateways/gw_new'));
    expect(f.calls).toHaveLength(2);
    expect(f.calls[0].headers['Idempotency-Key']).toBeTruthy();
    expect(f.calls[1].headers['Idempotency-Key']).toBe(f.calls[0].headers['Idempotency-Key']);
    expect(f.calls[0].body).toEqual({ name: 'Bot', type: 'TELEGRAM_BOT', credentials: { botToken: '123456789:AAHk1x_ExampleExampleExampleExample12' } });
  });

  it('blocks a double submit while creating', async () => {
    let release!: (r: Response) => void;
    const f = setup(() => new Promise<Response>((r) => { release = r; }));
    type(/Telegram Bot/);
    input('Name', 'Bot');
    input('Bot token', '123456789:AAHk1x_ExampleExampleExampleExample12');
    const btn = screen.getByRole('button', { name: 'Create gateway' });
    fireEvent.click(btn);
    await screen.findByText('Creating…');
    fireEvent.click(screen.getByRole('button', { name: /Creating/ }));
    fireEvent.submit(screen.getByTestId('gateway-form'));
    expect(f.calls).toHaveLength(1);
    release(json(201, gateway({ id: 'gw_2' })));
    await waitFor(() => expect(window.location.pathname).toBe('/gateways/gw_2'));
  });

  it('waits for the server to describe the types, offering none of its own', () => {
    const f = fakeFetch(() => json(500, {}));
    render(withApp(makeApi(f.fetch), <AddGatewayPage />, { providers: { status: 'loading' } }));
    expect(screen.getByTestId('providers-loading')).toBeTruthy();
    expect(screen.queryAllByRole('radio')).toHaveLength(0);
    expect(screen.queryByTestId('gateway-form')).toBeNull();
  });

  it('says the types could not be loaded, with a retry, and shows no form', () => {
    const retry = vi.fn();
    const f = fakeFetch(() => json(500, {}));
    render(withApp(makeApi(f.fetch), <AddGatewayPage />, { providers: { status: 'error', error: new TypeError('Failed to fetch') }, reloadProviders: retry }));
    expect(screen.getByRole('alert').textContent).toMatch(/Something went wrong.*Failed to fetch.*could not be loaded from the server/s);
    expect(screen.queryAllByRole('radio')).toHaveLength(0);
    expect(screen.queryByTestId('gateway-form')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(retry).toHaveBeenCalledTimes(1);
  });

  it('offers exactly the types the server describes, named as it names them', () => {
    const f = fakeFetch(() => json(500, {}));
    const only = serverProviders.filter((p) => p.type === 'WEBHOOK').map((p) => ({ ...p, name: 'Outgoing webhook' }));
    render(withApp(makeApi(f.fetch), <AddGatewayPage />, { providers: { status: 'ready', items: only } }));
    expect(screen.getAllByRole('radio').map((r) => r.getAttribute('data-type'))).toEqual(['WEBHOOK']);
    expect(screen.getByRole('radio', { name: /Outgoing webhook/ })).toBeTruthy();
  });
});
