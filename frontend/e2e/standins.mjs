// Local stand-ins for the systems gateways talk to, so the browser journey
// never leaves the machine: the Telegram Bot API (/bot<token>/<method>), an
// OpenAI-compatible chat API (/v1/models, /v1/chat/completions) and a
// webhook receiver, the consumer a WEBHOOK gateway delivers to.
// They follow the documented paths and JSON shapes, including error bodies.
// GET /_standin/telegram/webhooks on the Telegram port lists the setWebhook
// calls, secret_token included, as `make standins` does, so a test can post
// updates with the secret Telegram would send; GET
// /_standin/telegram/messages lists the messages sent, edited (editMessageText)
// and deleted (deleteMessage), with Telegram's errors for a message that is
// not modified or not found. The receiver is `make
// standins`' too: POST on any path, Standard Webhooks signature checked
// against RECEIVER_SECRET, 200 or the status ?status= asks for, the last 200
// requests at GET /_standin/receiver/requests.
//
//   node e2e/standins.mjs            # prints "telegram=<url> openai=<url> receiver=<url>"
//   import { startStandins } from './standins.mjs'
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** The signing secret the receiver checks, the same as `make standins`' default (infra/local/cmd/gatehouse-standins). */
export const RECEIVER_SECRET = 'whsec_Z2F0ZWhvdXNlLWxvY2FsLXJlY2VpdmVyLWtleS0wMDAx';
const RECEIVER_KEPT = 200;

const TOKEN = /^(\d{5,16}):[A-Za-z0-9_-]{30,64}$/;

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Parameters from the query string, a JSON body or a form, as the Bot API accepts them. */
function params(url, req, raw) {
  const out = Object.fromEntries(url.searchParams);
  const type = req.headers['content-type'] ?? '';
  if (raw && type.includes('json')) Object.assign(out, JSON.parse(raw));
  else if (raw && type.includes('form')) Object.assign(out, Object.fromEntries(new URLSearchParams(raw)));
  return out;
}

/** A reply_markup as sent (an object in JSON, a string in a form), as canonical JSON; undefined for none. */
function markup(v) {
  if (v === undefined || v === null || v === '') return undefined;
  return JSON.stringify(typeof v === 'string' ? JSON.parse(v) : v);
}

/** A sent message as the Bot API's Message: Telegram echoes an inline keyboard, and an edit sets edit_date. */
function messageObject(m) {
  const chat = /^-?\d+$/.test(m.chat_id) ? { id: Number(m.chat_id), type: Number(m.chat_id) < 0 ? 'supergroup' : 'private' } : { id: -1001000000000, type: 'channel', username: m.chat_id.slice(1) };
  const out = { message_id: m.message_id, date: Math.floor(Date.now() / 1000), chat, text: m.text };
  if (m.edits) out.edit_date = Math.floor(Date.now() / 1000);
  if (m.reply_markup?.includes('"inline_keyboard"')) out.reply_markup = JSON.parse(m.reply_markup);
  return out;
}

export function telegramHandler(state = { webhooks: new Map(), calls: [], messages: [], nextMessageId: 100 }) {
  state.messages ??= [];
  const findMessage = (botId, p) => state.messages.find((m) => m.botId === botId && m.chat_id === String(p.chat_id) && m.message_id === Number(p.message_id) && !m.deleted);
  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const raw = await readBody(req);
    if (req.method === 'GET' && url.pathname === '/_standin/telegram/webhooks') {
      const setWebhookCalls = state.calls.filter((c) => c.method === 'setWebhook').map(({ method, params }) => ({ method, params }));
      return send(res, 200, { setWebhookCalls });
    }
    if (req.method === 'GET' && url.pathname === '/_standin/telegram/messages') {
      // What each chat shows now: sent, edited and deleted messages, their keyboards parsed.
      return send(res, 200, { messages: state.messages.map((m) => ({ ...m, reply_markup: m.reply_markup && JSON.parse(m.reply_markup) })) });
    }
    if (!m) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = m;
    const id = TOKEN.exec(token);
    if (!id) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (token.includes('revoked')) return send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    let p;
    try {
      p = params(url, req, raw);
    } catch {
      return send(res, 400, { ok: false, error_code: 400, description: "Bad Request: can't parse JSON" });
    }
    state.calls.push({ method, botId: id[1], params: p });
    const hook = state.webhooks.get(token) ?? { url: '', pending_update_count: 0 };
    switch (method) {
      case 'getMe':
        return send(res, 200, { ok: true, result: { id: Number(id[1]), is_bot: true, first_name: 'Gatehouse Test', username: `gh_test_${id[1]}_bot`, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } });
      case 'setWebhook':
        if (!p.url) return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook' });
        state.webhooks.set(token, { url: p.url, secret_token: p.secret_token, pending_update_count: 0, allowed_updates: p.allowed_updates });
        return send(res, 200, { ok: true, result: true, description: 'Webhook was set' });
      case 'deleteWebhook':
        state.webhooks.delete(token);
        return send(res, 200, { ok: true, result: true, description: 'Webhook was deleted' });
      case 'getWebhookInfo': {
        const r = { url: hook.url, has_custom_certificate: false, pending_update_count: hook.pending_update_count };
        if (hook.allowed_updates) r.allowed_updates = hook.allowed_updates;
        return send(res, 200, { ok: true, result: r });
      }
      case 'sendMessage': {
        if (p.chat_id === undefined || p.chat_id === '') return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' });
        if (!p.text) return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        if (String(p.chat_id) === '403') return send(res, 403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
        const m = { botId: id[1], chat_id: String(p.chat_id), message_id: state.nextMessageId++, text: p.text, reply_markup: markup(p.reply_markup), edits: 0, deleted: false };
        state.messages.push(m);
        return send(res, 200, { ok: true, result: messageObject(m) });
      }
      case 'editMessageText': {
        if (!p.text) return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        const m = findMessage(id[1], p);
        if (!m) return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' });
        const kb = markup(p.reply_markup);
        if (m.text === p.text && m.reply_markup === kb) {
          return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message' });
        }
        Object.assign(m, { text: p.text, reply_markup: kb, edits: m.edits + 1 });
        return send(res, 200, { ok: true, result: messageObject(m) });
      }
      case 'deleteMessage': {
        const m = findMessage(id[1], p);
        if (!m) return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message to delete not found' });
        m.deleted = true;
        return send(res, 200, { ok: true, result: true });
      }
      default:
        return send(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    }
  };
  handler.state = state;
  return handler;
}

export function openaiHandler(state = { calls: [] }) {
  const models = ['gpt-4o-mini', 'gpt-4o'];
  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const raw = await readBody(req);
    const auth = req.headers.authorization ?? '';
    state.calls.push({ method: req.method, path: url.pathname });
    if (!/^Bearer sk-\S+$/.test(auth) || auth.includes('invalid')) {
      return send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    }
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      return send(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'standin' })) });
    }
    if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } });
      }
      const msgs = Array.isArray(body.messages) ? body.messages : [];
      const last = [...msgs].reverse().find((x) => x.role === 'user');
      const reply = `You said: ${last?.content ?? ''}`;
      const words = (s) => String(s ?? '').split(/\s+/).filter(Boolean).length;
      const prompt = msgs.reduce((n, x) => n + words(x.content), 0);
      return send(res, 200, {
        id: `chatcmpl-${Date.now()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model || models[0],
        choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
        usage: { prompt_tokens: prompt, completion_tokens: words(reply), total_tokens: prompt + words(reply) },
      });
    }
    return send(res, 404, { error: { message: `Unknown request URL: ${req.method} ${url.pathname}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
  };
  handler.state = state;
  return handler;
}

/** A signing secret's HMAC key, as pkg/provider/webhook.SigningKey reads it. */
function signingKey(secret) {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
}

/** Whether one of the header's "v1,<base64>" entries signs id.timestamp.body with key. */
function signatureValid(key, id, timestamp, header, body) {
  if (!id || !/^\d+$/.test(timestamp ?? '') || !header) return false;
  const want = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`);
  return header.split(' ').some((sig) => {
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

export function receiverHandler(secret = RECEIVER_SECRET, state = { requests: [] }) {
  const key = signingKey(secret);
  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const raw = await readBody(req);
    if (url.pathname === '/_standin/receiver/requests') {
      if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' }, { Allow: 'GET' });
      return send(res, 200, { requests: state.requests });
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'the receiver takes POST on any path' }, { Allow: 'POST' });
    let status = 200;
    if (url.searchParams.has('status')) {
      status = Number(url.searchParams.get('status'));
      if (!Number.isInteger(status) || status < 200 || status > 599) return send(res, 400, { error: '?status= must be an HTTP status from 200 to 599' });
    }
    let body = null;
    try {
      body = raw.trim() ? JSON.parse(raw) : null;
    } catch {
      body = raw;
    }
    const id = req.headers['webhook-id'] ?? '';
    const timestamp = req.headers['webhook-timestamp'] ?? '';
    const valid = signatureValid(key, id, timestamp, req.headers['webhook-signature'], raw);
    state.requests.push({ 'webhook-id': id, timestamp, receivedAt: new Date().toISOString(), signatureValid: valid, path: url.pathname, status, body });
    if (state.requests.length > RECEIVER_KEPT) state.requests.splice(0, state.requests.length - RECEIVER_KEPT);
    return send(res, status, { received: status < 300, signatureValid: valid });
  };
  handler.state = state;
  return handler;
}

function listen(handler) {
  return new Promise((resolve, reject) => {
    const s = createServer((req, res) => {
      handler(req, res).catch((e) => send(res, 500, { error: String(e) }));
    });
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

export async function startStandins() {
  const telegram = telegramHandler();
  const openai = openaiHandler();
  const receiver = receiverHandler();
  const ts = await listen(telegram);
  const os = await listen(openai);
  const rs = await listen(receiver);
  return {
    telegramUrl: `http://127.0.0.1:${ts.address().port}`,
    openaiUrl: `http://127.0.0.1:${os.address().port}/v1`,
    receiverUrl: `http://127.0.0.1:${rs.address().port}`,
    telegram: telegram.state,
    openai: openai.state,
    receiver: receiver.state,
    close: () => Promise.all([ts, os, rs].map((s) => new Promise((r) => s.close(r)))),
  };
}

// Run standalone: print the addresses and serve until killed.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startStandins();
  console.log(`telegram=${s.telegramUrl} openai=${s.openaiUrl} receiver=${s.receiverUrl}`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
