import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { TelegramPanel } from '../src/components/detail/TelegramPanel';
import { fakeFetch, gateway, json, makeApi, withApp, type Recorded } from './helpers';

const refused = (action: string, description: string) => json(422, {
  type: 'https://gatehouse.dev/problems/upstream_refused', title: 'Request refused by the provider', status: 422,
  detail: `The ${action} action failed: Telegram ${action} failed (400): ${description}`,
});

/** The action route as the server answers it ({"action","result"}), and the messages API. */
function server(handle: Record<string, (r: Recorded) => Response | Promise<Response>> = {}) {
  let nextId = 41;
  return fakeFetch((r) => {
    const path = r.url.replace(/\?.*/, '');
    const key = `${r.method} ${path}`;
    if (handle[key]) return handle[key](r);
    const action = /\/actions\/(\w+)$/.exec(path)?.[1];
    const body = r.body as Record<string, unknown>;
    switch (action) {
      case 'getWebhookInfo':
        return json(200, { action, result: { url: 'https://gatehouse.example/api/webhooks/telegram/gw_1', pending_update_count: 0 } });
      case 'sendMessage':
        return json(200, { action, result: { message_id: ++nextId, chat: { id: body.chat_id }, text: body.text, reply_markup: body.reply_markup } });
      case 'editMessageText':
        return json(200, { action, result: { message_id: body.message_id, chat: { id: body.chat_id }, text: body.text, reply_markup: body.reply_markup } });
      case 'deleteMessage':
        return json(200, { action, result: { ok: true } });
    }
    return json(404, { title: 'Not Found', status: 404 });
  });
}

const show = (f: ReturnType<typeof fakeFetch>, status: 'CONNECTED' | 'DISCONNECTED' = 'CONNECTED') =>
  render(withApp(makeApi(f.fetch), <TelegramPanel gateway={gateway({ status })} refreshKey={0} />));

const form = () => within(screen.getByTestId('telegram-send'));
const calls = (f: ReturnType<typeof fakeFetch>, action: string) => f.calls.filter((c) => c.url.endsWith(`/actions/${action}`));

function fillMessage(chat = '123456789', text = 'Pick one') {
  fireEvent.input(form().getByLabelText(/^Chat ID/), { target: { value: chat } });
  fireEvent.input(form().getByLabelText(/^Message/), { target: { value: text } });
}

function addButton(row: number, button: number, label: string, kind: 'url' | 'callback_data', value: string) {
  const where = `(row ${row}, button ${button})`;
  fireEvent.input(form().getByLabelText(`Label ${where}`), { target: { value: label } });
  fireEvent.change(form().getByLabelText(`Action ${where}`), { target: { value: kind } });
  fireEvent.input(form().getByLabelText(`${kind === 'url' ? 'URL' : 'Callback data'} ${where}`), { target: { value } });
}

describe('Telegram panel: send, edit, delete', () => {
  it('sends with a button keyboard, silently, and lists the message sent', async () => {
    const f = server();
    show(f);
    fillMessage('-1001234567890', '<b>Pick</b> one');
    fireEvent.change(form().getByLabelText('Formatting'), { target: { value: 'HTML' } });
    fireEvent.click(form().getByLabelText(/Send silently/));
    fireEvent.click(form().getByRole('button', { name: 'Add row' }));
    addButton(1, 1, 'Docs', 'url', 'https://core.telegram.org/bots/api');
    fireEvent.click(form().getByRole('button', { name: 'Add a button to row 1' }));
    addButton(1, 2, 'Yes', 'callback_data', 'vote:yes');
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));

    expect(await screen.findByText('Message 42 sent to chat -1001234567890.')).toBeTruthy();
    expect(calls(f, 'sendMessage').map((c) => c.body)).toEqual([{
      chat_id: -1001234567890, text: '<b>Pick</b> one', parse_mode: 'HTML', disable_notification: true,
      reply_markup: { inline_keyboard: [[{ text: 'Docs', url: 'https://core.telegram.org/bots/api' }, { text: 'Yes', callback_data: 'vote:yes' }]] },
    }]);
    const row = within(screen.getByTestId('sent-row'));
    expect(screen.getByRole('list', { name: 'Sent this session' })).toBeTruthy();
    expect(row.getByText('<b>Pick</b> one')).toBeTruthy();
    expect(row.getByText('Docs')).toBeTruthy();
    expect(row.getByRole('button', { name: 'Edit message 42' })).toBeTruthy();
    expect(row.getByRole('button', { name: 'Delete message 42' })).toBeTruthy();
  });

  it('checks the form before sending and calls nothing while it is wrong', async () => {
    const f = server();
    show(f);
    fillMessage('not a chat', ' ');
    fireEvent.click(form().getByRole('button', { name: 'Add row' }));
    addButton(1, 1, '', 'callback_data', 'x'.repeat(65));
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    expect(await form().findByText('Must be a numeric chat id (like 123456789 or -1001234567890) or @channelusername.')).toBeTruthy();
    expect(form().getByText('A message text is required.')).toBeTruthy();
    expect(form().getByText('A label is required.')).toBeTruthy();
    expect(form().getByText('Must be 1-64 bytes; this is 65.')).toBeTruthy();
    expect(calls(f, 'sendMessage')).toHaveLength(0);
  });

  it.each([
    { name: 'with the params. prefix', prefix: 'params.' },
    { name: 'as the body names them (issue 15)', prefix: '' },
  ])('shows each server field error under its input, $name', async ({ prefix }) => {
    const f = server({
      'POST /api/gateways/gw_1/actions/sendMessage': () => json(400, {
        type: 'https://gatehouse.dev/problems/invalid', title: 'Invalid request', status: 400, detail: "The action's parameters are invalid.",
        errors: [
          { field: `${prefix}reply_markup.inline_keyboard[0][1].callback_data`, message: 'must be 1-64 bytes' },
          { field: `${prefix}chat_id`, message: 'must be an integer or @channelusername' },
          { field: `${prefix}protect_content`, message: 'must be true or false' },
        ],
      }),
    });
    show(f);
    fillMessage();
    fireEvent.click(form().getByRole('button', { name: 'Add row' }));
    addButton(1, 1, 'A', 'url', 'https://a.example');
    fireEvent.click(form().getByRole('button', { name: 'Add a button to row 1' }));
    addButton(1, 2, 'B', 'callback_data', 'b');
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));

    expect(await form().findByText('Invalid request')).toBeTruthy();
    const data = form().getByLabelText('Callback data (row 1, button 2)');
    expect(data.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(data.getAttribute('aria-describedby')!.split(' ')[0])!.textContent).toBe('must be 1-64 bytes');
    expect(form().getByLabelText('URL (row 1, button 1)').getAttribute('aria-invalid')).toBe('false');
    expect(form().getByLabelText(/^Chat ID/).getAttribute('aria-invalid')).toBe('true');
    // A field no input shows is still listed.
    expect(form().getByRole('alert').textContent).toMatch(/protect_content: must be true or false/);
  });

  it('edits a sent message (text and keyboard), and says plainly when nothing changed', async () => {
    const f = server({
      'POST /api/gateways/gw_1/actions/editMessageText': (r) => {
        const b = r.body as Record<string, unknown>;
        return b.text === 'Same'
          ? refused('editMessageText', 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message')
          : json(200, { action: 'editMessageText', result: { message_id: b.message_id, chat: { id: b.chat_id }, text: b.text, reply_markup: b.reply_markup } });
      },
    });
    show(f);
    fillMessage('@mychannel', 'First');
    fireEvent.click(form().getByRole('button', { name: 'Add row' }));
    addButton(1, 1, 'Yes', 'callback_data', 'y');
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Edit message 42' }));

    const edit = within(screen.getByTestId('telegram-edit'));
    expect((edit.getByLabelText(/^New text/) as HTMLTextAreaElement).value).toBe('First');
    expect((edit.getByLabelText('Label (row 1, button 1)') as HTMLInputElement).value).toBe('Yes');
    fireEvent.input(edit.getByLabelText(/^New text/), { target: { value: 'Same' } });
    fireEvent.click(edit.getByRole('button', { name: 'Save changes' }));
    expect(await edit.findByText('Nothing to change: Telegram already shows this text and keyboard.')).toBeTruthy();
    expect(edit.queryByRole('alert')).toBeNull();

    fireEvent.input(edit.getByLabelText(/^New text/), { target: { value: 'Second' } });
    fireEvent.click(edit.getByRole('button', { name: 'Remove row 1' }));
    fireEvent.click(edit.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText('Message 42 edited.')).toBeTruthy();
    expect(calls(f, 'editMessageText').map((c) => c.body)).toEqual([
      { chat_id: '@mychannel', message_id: 42, text: 'Same', reply_markup: { inline_keyboard: [[{ text: 'Yes', callback_data: 'y' }]] } },
      // No reply_markup: the keyboard goes.
      { chat_id: '@mychannel', message_id: 42, text: 'Second' },
    ]);
    const row = within(screen.getByTestId('sent-row'));
    expect(row.getByText('Second')).toBeTruthy();
    expect(row.queryByText('Yes')).toBeNull();
    expect(screen.queryByTestId('telegram-edit')).toBeNull();
  });

  it('maps an edit\'s field errors to the edit form\'s keyboard', async () => {
    const f = server({
      'POST /api/gateways/gw_1/actions/editMessageText': () => json(400, {
        title: 'Invalid request', status: 400, errors: [{ field: 'params.reply_markup.inline_keyboard[0][0].url', message: 'must be an http, https or tg:// URL' }],
      }),
    });
    show(f);
    fillMessage();
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Edit message 42' }));
    const edit = within(screen.getByTestId('telegram-edit'));
    fireEvent.click(edit.getByRole('button', { name: 'Add row' }));
    fireEvent.input(edit.getByLabelText('Label (row 1, button 1)'), { target: { value: 'Go' } });
    fireEvent.change(edit.getByLabelText('Action (row 1, button 1)'), { target: { value: 'url' } });
    fireEvent.input(edit.getByLabelText('URL (row 1, button 1)'), { target: { value: 'tg://resolve?domain=x' } });
    fireEvent.click(edit.getByRole('button', { name: 'Save changes' }));
    expect(await edit.findByText('must be an http, https or tg:// URL')).toBeTruthy();
    expect(edit.getByLabelText('URL (row 1, button 1)').getAttribute('aria-invalid')).toBe('true');
  });

  it('deletes after a confirmation, and says plainly when the message was already gone', async () => {
    let deletes = 0;
    const f = server({ 'POST /api/gateways/gw_1/actions/deleteMessage': () => (++deletes === 1 ? json(200, { action: 'deleteMessage', result: { ok: true } }) : refused('deleteMessage', 'Bad Request: message to delete not found')) });
    show(f);
    fillMessage('123', 'One');
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    await screen.findByText('Message 42 sent to chat 123.');
    fillMessage('123', 'Two');
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    await screen.findByText('Message 43 sent to chat 123.');
    // Newest first.
    expect(screen.getAllByTestId('sent-row').map((r) => r.getAttribute('data-message-id'))).toEqual(['43', '42']);

    fireEvent.click(screen.getByRole('button', { name: 'Delete message 43' }));
    const dialog = within(screen.getByRole('dialog', { name: 'Delete message 43?' }));
    fireEvent.click(dialog.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls(f, 'deleteMessage')).toHaveLength(0);

    fireEvent.click(screen.getByRole('button', { name: 'Delete message 43' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete message' }));
    expect(await screen.findByText('Message 43 deleted.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Delete message 43' })).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Delete message 42' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete message' }));
    expect(await screen.findByText(/Message 42 was already gone: Telegram has no such message in chat 123/)).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(calls(f, 'deleteMessage').map((c) => c.body)).toEqual([{ chat_id: 123, message_id: 43 }, { chat_id: 123, message_id: 42 }]);
  });

  it('sends Markdown through the messages API and waits for its job, with one Idempotency-Key kept across a network error', async () => {
    let posts = 0;
    let reads = 0;
    const f = server({
      'POST /api/gateways/gw_1/messages': () => {
        if (++posts === 1) throw new TypeError('Failed to fetch');
        return json(202, { jobId: 'job_1', status: 'QUEUED', total: 1 }, { Location: '/api/gateways/gw_1/messages/job_1' });
      },
      'GET /api/gateways/gw_1/messages/job_1': () => json(200, ++reads < 2
        ? { jobId: 'job_1', status: 'RUNNING', total: 1, sent: 0, failed: 0, unknown: 0, queued: 1, items: [{ index: 0, chatId: 7, status: 'QUEUED', messageId: null, error: null }], nextCursor: null }
        : { jobId: 'job_1', status: 'DONE', total: 1, sent: 1, failed: 0, unknown: 0, queued: 0, items: [{ index: 0, chatId: 7, status: 'SENT', messageId: 90, messageIds: [90, 91], error: null }], nextCursor: null }),
    });
    show(f);
    fillMessage('7', '# Title\n\nSome **bold** text');
    fireEvent.change(form().getByLabelText('Formatting'), { target: { value: 'markdown' } });
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    expect(await form().findByText('Network error')).toBeTruthy();
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    expect(await screen.findByText('Sent as 2 messages (90, 91) to chat 7.', {}, { timeout: 3000 })).toBeTruthy();

    const posted = f.calls.filter((c) => c.method === 'POST' && c.url.endsWith('/messages'));
    expect(posted).toHaveLength(2);
    expect(posted[0].body).toEqual({ messages: [{ chat_id: 7, text: '# Title\n\nSome **bold** text', format: 'markdown' }] });
    expect(posted[0].headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(posted[1].headers['Idempotency-Key']).toBe(posted[0].headers['Idempotency-Key']);
    expect(calls(f, 'sendMessage')).toHaveLength(0);
    expect(screen.getAllByTestId('sent-row').map((r) => r.textContent)).toEqual([
      expect.stringMatching(/^Message 91 · part 2 of 2/), expect.stringMatching(/^Message 90 · part 1 of 2/),
    ]);

    // A new message gets a new key.
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    await waitFor(() => expect(f.calls.filter((c) => c.method === 'POST' && c.url.endsWith('/messages'))).toHaveLength(3));
    const third = f.calls.filter((c) => c.method === 'POST' && c.url.endsWith('/messages'))[2];
    expect(third.headers['Idempotency-Key']).not.toBe(posted[0].headers['Idempotency-Key']);
  });

  it('edits a message sent as Markdown in Markdown, and shows the server\'s refusal of one too long under the text', async () => {
    const f = server({
      'POST /api/gateways/gw_1/messages': () => json(202, { jobId: 'job_1', status: 'QUEUED', total: 1 }, { Location: '/api/gateways/gw_1/messages/job_1' }),
      'GET /api/gateways/gw_1/messages/job_1': () => json(200,
        { jobId: 'job_1', status: 'DONE', total: 1, sent: 1, failed: 0, unknown: 0, queued: 0, items: [{ index: 0, chatId: 7, status: 'SENT', messageId: 90, error: null }], nextCursor: null }),
      'POST /api/gateways/gw_1/actions/editMessageText': (r) => {
        const b = r.body as Record<string, unknown>;
        return String(b.text).length > 100
          ? json(400, { type: 'https://gatehouse.dev/problems/validation', title: 'Invalid request', status: 400, detail: 'The action\'s parameters are invalid.',
            errors: [{ field: 'params.text', message: 'must fit one message after conversion (an edit replaces one message; this is 2)' }] })
          : json(200, { action: 'editMessageText', result: { message_id: b.message_id, chat: { id: b.chat_id }, text: 'Now bold' } });
      },
    });
    show(f);
    fillMessage('7', 'Some **bold** text');
    fireEvent.change(form().getByLabelText('Formatting'), { target: { value: 'markdown' } });
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Edit message 90' }, { timeout: 3000 }));

    const edit = within(screen.getByTestId('telegram-edit'));
    expect((edit.getByLabelText('Formatting') as HTMLSelectElement).value).toBe('markdown');
    expect(edit.getByText(/An edit replaces one message/)).toBeTruthy();
    fireEvent.input(edit.getByLabelText(/^New text/), { target: { value: 'x'.repeat(101) } });
    fireEvent.click(edit.getByRole('button', { name: 'Save changes' }));
    expect(await edit.findByText(/must fit one message after conversion/)).toBeTruthy();

    fireEvent.input(edit.getByLabelText(/^New text/), { target: { value: 'Now **bold**' } });
    fireEvent.click(edit.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText('Message 90 edited.')).toBeTruthy();
    expect(calls(f, 'editMessageText').map((c) => c.body)[1]).toEqual({ chat_id: 7, message_id: 90, text: 'Now **bold**', format: 'markdown' });
  });

  it('explains a Markdown message whose outcome is unknown', async () => {
    const f = server({
      'POST /api/gateways/gw_1/messages': () => json(202, { jobId: 'job_2', status: 'QUEUED', total: 1 }),
      'GET /api/gateways/gw_1/messages/job_2': () => json(200, { jobId: 'job_2', status: 'DONE', total: 1, sent: 0, failed: 0, unknown: 1, queued: 0, items: [{ index: 0, chatId: 7, status: 'UNKNOWN', messageId: null, error: 'connection lost after the request was sent' }], nextCursor: null }),
    });
    show(f);
    fillMessage('7', 'hi');
    fireEvent.change(form().getByLabelText('Formatting'), { target: { value: 'markdown' } });
    fireEvent.click(form().getByRole('button', { name: 'Send message' }));
    expect(await screen.findByText('Sent, but Telegram’s answer never came — not resent.')).toBeTruthy();
    expect(screen.queryByTestId('sent-list')).toBeNull();
  });

  it('cannot send, edit or delete while the gateway is disconnected', async () => {
    const f = server();
    show(f, 'DISCONNECTED');
    expect(await form().findByText('Connect the gateway to send messages.')).toBeTruthy();
    expect((form().getByRole('button', { name: 'Send message' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
