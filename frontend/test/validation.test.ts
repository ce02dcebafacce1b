import { describe, expect, it } from 'vitest';
import type { ProviderInfo } from '../src/lib/providers';
import { checkName, checkUrl, cleanCredentials, parseChatId, parseConfigText, toFieldMap, validateCreate, validateCredentials } from '../src/lib/validation';
import { providerInfo } from './server-providers';

const info = providerInfo;
const errs = (i: ProviderInfo, v: Record<string, string>) => toFieldMap(validateCredentials(i, v));

describe('name', () => {
  it.each([
    ['', 'must not be empty'],
    ['   ', 'must not be empty'],
    ['x'.repeat(101), 'must be at most 100 characters'],
    ['bad\u0007name', 'must not contain control characters'],
  ])('%j → %s', (n, msg) => expect(checkName(n)).toBe(msg));

  it('counts characters, not bytes', () => expect(checkName('é'.repeat(100))).toBeNull());
});

describe('Telegram credentials', () => {
  const tg = info('TELEGRAM_BOT');
  it('requires a token', () => expect(errs(tg, {})).toEqual({ 'credentials.botToken': 'is required' }));
  it.each(['123:short', '1234:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '123456789:has spaces in it aaaaaaaaaaaaaaaaaaa'])('rejects %s', (t) =>
    expect(errs(tg, { botToken: t })['credentials.botToken']).toMatch(/must look like a Bot API token/));
  it('accepts a real-looking token, ignoring surrounding spaces', () =>
    expect(errs(tg, { botToken: ' 123456789:AAHk1x_ExampleExampleExampleExample12 ' })).toEqual({}));
});

describe('AI credentials', () => {
  const ai = info('AI');
  it('requires a key for every provider but ollama', () => {
    expect(errs(ai, { provider: 'openai' })).toEqual({ 'credentials.apiKey': 'is required' });
    expect(errs(ai, { provider: 'ollama', baseUrl: 'http://localhost:11434' })).toEqual({});
  });
  it('requires a base URL for ollama', () =>
    expect(errs(ai, { provider: 'ollama' })).toEqual({ 'credentials.baseUrl': 'is required for ollama' }));
  it('rejects unknown providers', () =>
    expect(errs(ai, { provider: 'skynet', apiKey: 'k' })['credentials.provider']).toMatch(/must be one of openai/));
  it('checks the base URL like the server', () => {
    expect(errs(ai, { provider: 'openai', apiKey: 'k', baseUrl: 'ftp://x' })['credentials.baseUrl']).toBe('must use http or https');
    expect(errs(ai, { provider: 'openai', apiKey: 'k', baseUrl: 'localhost:11434' })['credentials.baseUrl']).toBeTruthy();
    expect(errs(ai, { provider: 'openai', apiKey: 'k', baseUrl: 'https://u:p@example.com' })['credentials.baseUrl']).toBe('must not contain user information');
  });
  it('refuses keys with spaces or non-ASCII', () =>
    expect(errs(ai, { provider: 'openai', apiKey: 'sk-é' })['credentials.apiKey']).toMatch(/printable ASCII/));
  it('refuses model names with spaces', () =>
    expect(errs(ai, { provider: 'openai', apiKey: 'k', model: 'gpt 4' })['credentials.model']).toMatch(/without spaces/));
});

describe('Webhook credentials', () => {
  const wh = info('WEBHOOK');
  it('needs an https URL', () => {
    expect(errs(wh, {})).toEqual({ 'credentials.url': 'is required' });
    expect(errs(wh, { url: 'http://example.com/hook' })['credentials.url']).toBe('must use https');
    expect(errs(wh, { url: 'http://127.0.0.1:8083/hook' })['credentials.url']).toBeUndefined();
    expect(errs(wh, { url: 'http://localhost/hook' })['credentials.url']).toBeUndefined();
    expect(errs(wh, { url: 'http://127.0.0.1.example.com/hook' })['credentials.url']).toBe('must use https');
    expect(errs(wh, { url: 'https://example.com/hook#frag' })['credentials.url']).toBe('must not contain a fragment');
    expect(errs(wh, { url: 'https://example.com/hook' })).toEqual({});
  });
  it('needs a signing secret of at least 24 characters when one is given', () => {
    expect(errs(wh, { url: 'https://e.com', signingSecret: 'short' })['credentials.signingSecret']).toBe('must be at least 24 characters');
    expect(errs(wh, { url: 'https://e.com', signingSecret: 'x'.repeat(24) })).toEqual({});
  });
});

describe('a description from the server', () => {
  it('applies its pattern to fields the client has no rule for', () => {
    const custom: ProviderInfo = { type: 'WEBHOOK', name: 'W', description: '', actions: [], credentialFields: [
      { name: 'url', label: 'URL', required: true, secret: false },
      { name: 'region', label: 'Region', required: false, secret: false, pattern: '^[a-z]{2}-[a-z]+-\\d$' },
    ] };
    expect(errs(custom, { url: 'https://e.com', region: 'nowhere' })).toEqual({ 'credentials.region': 'has an invalid format' });
    expect(errs(custom, { url: 'https://e.com', region: 'eu-west-1' })).toEqual({});
  });
});

describe('config', () => {
  it('is an object or empty', () => {
    expect(parseConfigText('')).toEqual({ value: {} });
    expect(parseConfigText('{"a":1}')).toEqual({ value: { a: 1 } });
    expect(parseConfigText('[1]')).toEqual({ error: 'must be a JSON object' });
    expect('error' in parseConfigText('{oops') && parseConfigText('{oops')).toMatchObject({ error: expect.stringMatching(/^is not valid JSON: line 1, column 2 \(/) });
    expect(parseConfigText('{\n  "a": 1\n  "b": 2\n}')).toMatchObject({ error: expect.stringMatching(/^is not valid JSON: line 3, column 3 \(/) });
    expect(parseConfigText(JSON.stringify({ a: 'x'.repeat(17000) }))).toEqual({ error: 'must be at most 16384 bytes of JSON' });
  });
});

describe('validateCreate', () => {
  it('reports every field at once, in server paths', () => {
    const e = toFieldMap(validateCreate(info('TELEGRAM_BOT'), { name: '', credentials: {}, configText: '[]' }));
    expect(Object.keys(e).sort()).toEqual(['config', 'credentials.botToken', 'name']);
  });
});

describe('cleanCredentials', () => {
  it('drops empty fields and trims', () =>
    expect(cleanCredentials(info('AI'), { provider: 'openai', apiKey: ' sk-1 ', baseUrl: '', model: '' })).toEqual({ provider: 'openai', apiKey: 'sk-1' }));
});

describe('checkUrl', () => {
  it('refuses relative URLs', () => expect(checkUrl('/hook', ['https'])).toBe('must be an absolute URL'));
});

describe('chat id filter', () => {
  it.each([
    { name: 'empty: no filter', text: '  ', want: { value: null } },
    { name: 'a user', text: '42', want: { value: 42 } },
    { name: 'a supergroup, trimmed', text: ' -1001234567890 ', want: { value: -1001234567890 } },
    { name: 'a fraction', text: '4.2', want: { error: 'must be an integer, like 42 or -1001234567890' } },
    { name: 'a username', text: '@chan', want: { error: 'must be an integer, like 42 or -1001234567890' } },
    { name: 'a lone minus', text: '-', want: { error: 'must be an integer, like 42 or -1001234567890' } },
    { name: 'more than a number holds', text: '9007199254740993', want: { error: 'is too large' } },
  ])('$name', ({ text, want }) => expect(parseChatId(text)).toEqual(want));
});
