import { fireEvent, render, screen } from '@testing-library/preact';
import { useState } from 'preact/hooks';
import { describe, expect, it } from 'vitest';
import { KeyboardEditor } from '../src/components/detail/KeyboardEditor';
import { ApiError } from '../src/lib/api';
import {
  buttonError, byteLength, checkChatId, checkKeyboard, checkText, formKey, keyboardFrom, keyboardMarkup, parseChatIds, splitFieldErrors,
  telegramRefusal, validButtonURL, visibleLength, type Keyboard,
} from '../src/lib/telegram';

const btn = (text: string, kind: 'url' | 'callback_data', value: string) => ({ text, kind, value });

describe('keyboard checks (as the server checks them)', () => {
  it.each([
    { name: 'a good keyboard', kb: [[btn('Docs', 'url', 'https://core.telegram.org'), btn('Yes', 'callback_data', 'vote:yes')], [btn('App', 'url', 'tg://resolve?domain=x')]], want: {} },
    { name: 'a label is required', kb: [[btn('  ', 'callback_data', 'x')]], want: { 'kb[0][0].text': 'A label is required.' } },
    { name: 'callback data of 64 bytes', kb: [[btn('A', 'callback_data', 'x'.repeat(64))]], want: {} },
    { name: 'callback data of 65 bytes', kb: [[btn('A', 'callback_data', 'x'.repeat(65))]], want: { 'kb[0][0].callback_data': 'Must be 1-64 bytes; this is 65.' } },
    // 22 characters, but 66 bytes of UTF-8: Telegram counts bytes.
    { name: 'callback data counted in bytes', kb: [[btn('A', 'callback_data', '€'.repeat(22))]], want: { 'kb[0][0].callback_data': 'Must be 1-64 bytes; this is 66.' } },
    { name: 'empty callback data', kb: [[btn('A', 'callback_data', '')]], want: { 'kb[0][0].callback_data': 'Callback data is required (1-64 bytes).' } },
    { name: 'a javascript: URL', kb: [[btn('A', 'url', 'https://ok.example'), btn('B', 'url', 'javascript:alert(1)')]], want: { 'kb[0][1].url': 'Must be an http, https or tg:// URL.' } },
    { name: 'a URL without a host', kb: [[btn('A', 'url', 'https://')]], want: { 'kb[0][0].url': 'Must be an http, https or tg:// URL.' } },
    { name: 'an empty URL', kb: [[btn('A', 'url', ' ')]], want: { 'kb[0][0].url': 'A URL is required.' } },
    { name: 'over 100 buttons', kb: Array.from({ length: 11 }, () => Array.from({ length: 10 }, () => btn('A', 'callback_data', 'x'))), want: { kb: 'A keyboard has at most 100 buttons; this one has 110.' } },
  ])('$name', ({ kb, want }) => {
    expect(checkKeyboard(kb as Keyboard)).toEqual(want);
  });

  it('builds reply_markup with exactly one action per button, and reads it back', () => {
    const kb: Keyboard = [[btn('Docs', 'url', ' https://core.telegram.org '), btn('Yes', 'callback_data', 'vote:yes')]];
    const markup = keyboardMarkup(kb);
    expect(markup).toEqual({ inline_keyboard: [[{ text: 'Docs', url: 'https://core.telegram.org' }, { text: 'Yes', callback_data: 'vote:yes' }]] });
    expect(keyboardFrom(markup)).toEqual([[btn('Docs', 'url', 'https://core.telegram.org'), btn('Yes', 'callback_data', 'vote:yes')]]);
    expect(keyboardMarkup([])).toBeUndefined();
  });

  it.each([
    { url: 'https://example.com/a?b=c', ok: true },
    { url: 'http://example.com', ok: true },
    { url: 'tg://user?id=1', ok: true },
    { url: 'ftp://example.com', ok: false },
    { url: 'example.com', ok: false },
  ])('button URL $url: $ok', ({ url, ok }) => expect(validButtonURL(url)).toBe(ok));

  it('counts bytes and visible characters like Telegram', () => {
    expect(byteLength('ab€')).toBe(5);
    expect(visibleLength('<b>bold</b> &amp; more', 'HTML')).toBe(11);
    expect(visibleLength('*bold* \\_x\\_', 'MarkdownV2')).toBe(6);
    expect(checkText('x'.repeat(4096), '')).toBeUndefined();
    expect(checkText('x'.repeat(4097), '')).toBe('A message is at most 4096 characters; this is 4097.');
    expect(checkText(`<b>${'x'.repeat(4096)}</b>`, 'HTML')).toBeUndefined();
    expect(checkText('x'.repeat(5000), 'markdown')).toBeUndefined();
    expect(checkText(' \n', '')).toBe('A message text is required.');
  });

  it.each([
    { id: '123456789', err: undefined },
    { id: '-1001234567890', err: undefined },
    { id: '@mychannel', err: undefined },
    { id: '', err: 'A chat id is required.' },
    { id: '@ab', err: 'Must be a numeric chat id (like 123456789 or -1001234567890) or @channelusername.' },
    { id: '12.5', err: 'Must be a numeric chat id (like 123456789 or -1001234567890) or @channelusername.' },
  ])('chat id "$id"', ({ id, err }) => expect(checkChatId(id)).toBe(err));

  it('reads a list of chat ids one per line or comma-separated, once each', () => {
    expect(parseChatIds('1, 2\n-1003\n@news_room,2\n@NEWS_ROOM\n+4, bad id')).toEqual({
      ids: [1, 2, -1003, '@news_room'], invalid: ['+4', 'bad', 'id'], duplicates: 2,
    });
  });
});

describe('server field errors map to the form', () => {
  it.each([
    { field: 'params.reply_markup.inline_keyboard[0][1].callback_data', key: 'kb[0][1].callback_data' },
    // Issue 15: action errors name fields as the body has them, without "params.".
    { field: 'reply_markup.inline_keyboard[2][0].url', key: 'kb[2][0].url' },
    { field: 'messages[0].reply_markup.inline_keyboard[0][0].text', key: 'kb[0][0].text' },
    { field: 'params.reply_markup', key: 'kb' },
    { field: 'params.chat_id', key: 'chat_id' },
    { field: 'messages[0].text', key: 'text' },
    { field: 'broadcast.message.text', key: 'text' },
    { field: 'broadcast.chatIds[3]', key: 'chatIds' },
    { field: 'params.link_preview_options.url', key: 'link_preview_options.url' },
  ])('$field → $key', ({ field, key }) => expect(formKey(field)).toBe(key));

  it('keeps errors no input shows for the alert', () => {
    const err = new ApiError({
      status: 400, title: 'Invalid request', errors: [
        { field: 'params.reply_markup.inline_keyboard[0][1]', message: 'must have exactly one of url, callback_data, …' },
        { field: 'params.text', message: 'must not be empty' },
        { field: 'params.text', message: 'is too long' },
        { field: 'params.colour', message: 'is not a known parameter' },
        { field: 'broadcast.chatIds[1]', message: 'must be an integer chat id or @channelusername' },
        { field: '', message: 'general' },
      ],
    });
    expect(splitFieldErrors(err)).toEqual({
      fields: {
        'kb[0][1]': 'must have exactly one of url, callback_data, …',
        text: 'must not be empty; is too long',
        chatIds: 'Entry 2: must be an integer chat id or @channelusername',
      },
      other: [{ field: 'params.colour', message: 'is not a known parameter' }],
    });
    // A button-level error shows under the button's value.
    expect(buttonError({ 'kb[0][1]': 'one action' }, 0, 1, 'url')).toBe('one action');
    expect(buttonError({ 'kb[0][1]': 'one action' }, 0, 1, 'text')).toBeUndefined();
  });

  it('recognises the refusals a person acts on', () => {
    const refused = (detail: string) => new ApiError({ status: 422, title: 'Request refused by the provider', detail });
    expect(telegramRefusal(refused('The editMessageText action failed: Telegram editMessageText failed (400): Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message'))).toBe('not_modified');
    expect(telegramRefusal(refused('The deleteMessage action failed: Telegram deleteMessage failed (400): Bad Request: message to delete not found'))).toBe('delete_not_found');
    expect(telegramRefusal(refused('Bad Request: chat not found'))).toBeNull();
    expect(telegramRefusal(null)).toBeNull();
  });
});

function Editor({ initial = [] as Keyboard, errors = {} as Record<string, string>, onKb }: { initial?: Keyboard; errors?: Record<string, string>; onKb?: (kb: Keyboard) => void }) {
  const [kb, setKb] = useState<Keyboard>(initial);
  return <KeyboardEditor idBase="t" kb={kb} errors={errors} onChange={(k) => { setKb(k); onKb?.(k); }} />;
}

describe('Keyboard editor', () => {
  it('adds and removes rows and buttons, focusing the new label, and names every control', async () => {
    let kb: Keyboard = [];
    render(<Editor onKb={(k) => { kb = k; }} />);
    expect(screen.getByText(/No buttons/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Add row' }));
    const label = screen.getByLabelText('Label (row 1, button 1)');
    await new Promise((r) => setTimeout(r, 0));
    expect(document.activeElement).toBe(label);
    fireEvent.input(label, { target: { value: 'Docs' } });
    fireEvent.change(screen.getByLabelText('Action (row 1, button 1)'), { target: { value: 'url' } });
    fireEvent.input(screen.getByLabelText('URL (row 1, button 1)'), { target: { value: 'https://core.telegram.org' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add a button to row 1' }));
    fireEvent.input(screen.getByLabelText('Label (row 1, button 2)'), { target: { value: 'Yes' } });
    fireEvent.input(screen.getByLabelText('Callback data (row 1, button 2)'), { target: { value: 'vote:€' } });
    expect(screen.getByText('8/64 bytes, sent to the bot when pressed.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Add row' }));
    fireEvent.input(screen.getByLabelText('Label (row 2, button 1)'), { target: { value: 'Later' } });
    expect(kb).toEqual([
      [btn('Docs', 'url', 'https://core.telegram.org'), btn('Yes', 'callback_data', 'vote:€')],
      [btn('Later', 'callback_data', '')],
    ]);
    expect(screen.getByText('3 buttons in 2 rows.')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Remove button 1 of row 1' }));
    expect(kb).toEqual([[btn('Yes', 'callback_data', 'vote:€')], [btn('Later', 'callback_data', '')]]);
    // Removing a row's last button removes the row: Telegram has no empty rows.
    fireEvent.click(screen.getByRole('button', { name: 'Remove button 1 of row 1' }));
    expect(kb).toEqual([[btn('Later', 'callback_data', '')]]);
    await new Promise((r) => setTimeout(r, 0));
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Add row' }));
    fireEvent.click(screen.getByRole('button', { name: 'Remove row 1' }));
    expect(kb).toEqual([]);
  });

  it('shows each error under its input, tied with aria-describedby', () => {
    const kb: Keyboard = [[btn('Docs', 'url', 'https://x.example'), btn('', 'callback_data', 'x'.repeat(70))]];
    const errors = { ...checkKeyboard(kb), [formKey('params.reply_markup.inline_keyboard[0][0].url')]: 'must be an http, https or tg:// URL' };
    render(<Editor initial={kb} errors={errors} />);
    const data = screen.getByLabelText('Callback data (row 1, button 2)');
    expect(data.getAttribute('aria-invalid')).toBe('true');
    const described = (el: HTMLElement) => (el.getAttribute('aria-describedby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent).join(' | ');
    expect(described(data)).toMatch(/^Must be 1-64 bytes; this is 70\. \| 70\/64 bytes/);
    expect(described(screen.getByLabelText('Label (row 1, button 2)'))).toBe('A label is required.');
    expect(described(screen.getByLabelText('URL (row 1, button 1)'))).toMatch(/^must be an http, https or tg:\/\/ URL/);
    expect(screen.getByLabelText('Label (row 1, button 1)').getAttribute('aria-invalid')).toBe('false');
  });

  it('ties a whole-keyboard error to the fieldset', () => {
    render(<Editor initial={[[btn('A', 'callback_data', 'a')]]} errors={{ kb: 'at most 100 buttons' }} />);
    const set = screen.getByTestId('keyboard-editor');
    expect(document.getElementById(set.getAttribute('aria-describedby')!)?.textContent).toBe('at most 100 buttons');
  });
});
