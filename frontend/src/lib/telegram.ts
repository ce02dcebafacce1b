// What the Telegram panel's forms check before they send, mirroring the
// server's checks (pkg/provider/telegram/check.go, pkg/send): a mistake is
// shown under its input at once, and the server's 400 lands under the same
// input, because both are keyed the same way ("kb[0][1].callback_data").
import type { ApiError, FieldError, InlineKeyboardMarkup } from './api';

/** The action of an inline button the editor offers: open a link, or send the bot callback data. */
export type ButtonKind = 'url' | 'callback_data';

export interface KeyboardButton {
  text: string;
  kind: ButtonKind;
  value: string;
}

/** Rows of buttons. A row is never empty: removing its last button removes it, so row indices match the server's. */
export type Keyboard = KeyboardButton[][];

/** The Bot API's limits the forms check (check.go). */
export const MAX_TEXT = 4096;
export const MAX_MARKDOWN = 40960;
export const MAX_CALLBACK_DATA = 64;
export const MAX_BUTTONS = 100;

/** How a message's text is formatted: Telegram's parse modes, or Markdown that Gatehouse converts (the messages API's format). */
export type TextFormat = '' | 'HTML' | 'MarkdownV2' | 'markdown';

export const FORMAT_LABELS: Record<TextFormat, string> = {
  '': 'Plain text',
  HTML: 'HTML',
  MarkdownV2: 'MarkdownV2',
  markdown: 'Markdown (converted by Gatehouse)',
};

export function newButton(): KeyboardButton {
  return { text: '', kind: 'callback_data', value: '' };
}

/** The reply_markup of a keyboard, or undefined for none. */
export function keyboardMarkup(kb: Keyboard): InlineKeyboardMarkup | undefined {
  if (!kb.length) return undefined;
  return {
    inline_keyboard: kb.map((row) => row.map((b) => (b.kind === 'url' ? { text: b.text, url: b.value.trim() } : { text: b.text, callback_data: b.value }))),
  };
}

/** The editor's keyboard of a reply_markup the server echoed (url and callback_data buttons; others are left out). */
export function keyboardFrom(markup: unknown): Keyboard {
  const rows = (markup as InlineKeyboardMarkup | undefined)?.inline_keyboard;
  if (!Array.isArray(rows)) return [];
  const kb: Keyboard = [];
  for (const row of rows) {
    const out: KeyboardButton[] = [];
    for (const b of Array.isArray(row) ? row : []) {
      if (typeof b?.url === 'string') out.push({ text: String(b.text ?? ''), kind: 'url', value: b.url });
      else if (typeof b?.callback_data === 'string') out.push({ text: String(b.text ?? ''), kind: 'callback_data', value: b.callback_data });
    }
    if (out.length) kb.push(out);
  }
  return kb;
}

const encoder = new TextEncoder();

/** Telegram counts callback_data in bytes of UTF-8. */
export function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** An inline button's url: http(s) with a host, or tg:// (check.go buttonURL). */
export function validButtonURL(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '') || u.protocol === 'tg:';
}

/** Every mistake of a keyboard, keyed "kb[row][button].text|url|callback_data", and "kb" for the whole. */
export function checkKeyboard(kb: Keyboard): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  kb.forEach((row, i) => {
    row.forEach((b, j) => {
      total++;
      const at = `kb[${i}][${j}]`;
      if (!b.text.trim()) out[`${at}.text`] = 'A label is required.';
      if (b.kind === 'url') {
        if (!b.value.trim()) out[`${at}.url`] = 'A URL is required.';
        else if (!validButtonURL(b.value.trim())) out[`${at}.url`] = 'Must be an http, https or tg:// URL.';
      } else {
        const n = byteLength(b.value);
        if (n === 0) out[`${at}.callback_data`] = 'Callback data is required (1-64 bytes).';
        else if (n > MAX_CALLBACK_DATA) out[`${at}.callback_data`] = `Must be 1-64 bytes; this is ${n}.`;
      }
    });
  });
  if (total > MAX_BUTTONS) out.kb = `A keyboard has at most ${MAX_BUTTONS} buttons; this one has ${total}.`;
  return out;
}

/** A chat id as typed: an integer, or @username (5-32 characters, starting with a letter). */
const INTEGER = /^-?\d{1,19}$/;
const USERNAME = /^@[A-Za-z][A-Za-z0-9_]{3,31}$/;

export function validChatId(s: string): boolean {
  return INTEGER.test(s) || USERNAME.test(s);
}

/** The JSON value of a chat id: a number for an integer (Telegram's ids fit a double), else the @name. */
export function chatIdValue(s: string): number | string {
  return INTEGER.test(s) ? Number(s) : s;
}

export function checkChatId(s: string): string | undefined {
  const v = s.trim();
  if (!v) return 'A chat id is required.';
  if (!validChatId(v)) return 'Must be a numeric chat id (like 123456789 or -1001234567890) or @channelusername.';
  return undefined;
}

const HTML_TAG = /<[^>]*>/g;
const HTML_ENTITY = /&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);/g;
const MARKUP = /[\\_*[\]()~`>#+\-=|{}.!]/g;

/**
 * A lower bound of the text's length after Telegram parses its entities
 * (check.go visibleLength): tags and markup characters do not count.
 */
export function visibleLength(text: string, format: TextFormat): number {
  let t = text;
  if (format === 'HTML') t = t.replace(HTML_TAG, '').replace(HTML_ENTITY, '&');
  else if (format === 'MarkdownV2') t = t.replace(MARKUP, '');
  return [...t].length;
}

export function checkText(text: string, format: TextFormat): string | undefined {
  if (!text.trim()) return 'A message text is required.';
  if (format === 'markdown') {
    // The messages API counts Markdown in UTF-16 code units, as JavaScript does.
    if (text.length > MAX_MARKDOWN) return `Markdown is at most ${MAX_MARKDOWN} characters; this is ${text.length}.`;
    return undefined;
  }
  const n = visibleLength(text, format);
  if (n > MAX_TEXT) return `A message is at most ${MAX_TEXT} characters${format ? ' after formatting' : ''}; this is ${n}.`;
  return undefined;
}

/** The result of reading a list of chat ids. */
export interface ChatIdList {
  /** Valid and unique, in the order typed. */
  ids: (number | string)[];
  /** The entries that are not chat ids. */
  invalid: string[];
  /** How many entries repeated an earlier one (a broadcast sends each chat once). */
  duplicates: number;
}

/** Reads chat ids one per line or separated by commas (or spaces). */
export function parseChatIds(s: string): ChatIdList {
  const out: ChatIdList = { ids: [], invalid: [], duplicates: 0 };
  const seen = new Set<string>();
  for (const raw of s.split(/[\s,;]+/)) {
    const v = raw.trim();
    if (!v) continue;
    if (!validChatId(v)) {
      out.invalid.push(v);
      continue;
    }
    const key = INTEGER.test(v) ? String(BigInt(v)) : v.toLowerCase();
    if (seen.has(key)) {
      out.duplicates++;
      continue;
    }
    seen.add(key);
    out.ids.push(chatIdValue(v));
  }
  return out;
}

/**
 * The form's key of a server field: the request's prefix ("params.",
 * "messages[0].", "broadcast.message.", or none) dropped and the keyboard's
 * path shortened, so "params.reply_markup.inline_keyboard[0][1].callback_data"
 * is "kb[0][1].callback_data" and "broadcast.chatIds[3]" is "chatIds".
 */
export function formKey(field: string): string {
  let f = field.replace(/^(params\.|messages\[\d+\]\.|broadcast\.message\.)/, '');
  if (/^broadcast\.chatIds(\[\d+\])?$/.test(f)) return 'chatIds';
  f = f.replace(/^reply_markup\.inline_keyboard/, 'kb').replace(/^reply_markup$/, 'kb');
  return f;
}

/** The keys of a message form's inputs (the keyboard's are checked by shape). */
const FORM_FIELDS = new Set(['chat_id', 'text', 'parse_mode', 'format', 'disable_notification', 'message_id', 'chatIds']);

function isFormKey(k: string): boolean {
  return FORM_FIELDS.has(k) || /^kb(\[\d+\](\[\d+\](\.(text|url|callback_data))?)?)?$/.test(k);
}

/**
 * A problem's field errors split into those an input shows (by formKey) and
 * the rest, which the form lists under its alert so none is lost.
 */
export function splitFieldErrors(err: ApiError): { fields: Record<string, string>; other: FieldError[] } {
  const fields: Record<string, string> = {};
  const other: FieldError[] = [];
  for (const e of err.errors) {
    if (!e.field) continue; // the alert shows these
    const k = formKey(e.field);
    if (!isFormKey(k)) {
      other.push(e);
      continue;
    }
    const msg = e.field.startsWith('broadcast.chatIds[') ? `Entry ${Number(/\[(\d+)\]/.exec(e.field)![1]) + 1}: ${e.message}` : e.message;
    fields[k] = fields[k] ? `${fields[k]}; ${msg}` : msg;
  }
  return { fields, other };
}

/** The error of a keyboard input: its own, or, under the value, the button's ("must have exactly one of…") and the row's. */
export function buttonError(errs: Record<string, string>, i: number, j: number, part: 'text' | ButtonKind): string | undefined {
  const at = `kb[${i}][${j}]`;
  if (part === 'text') return errs[`${at}.text`];
  return errs[`${at}.${part}`] ?? errs[`${at}.url`] ?? errs[`${at}.callback_data`] ?? errs[at] ?? errs[`kb[${i}]`];
}

/** Telegram's answers a person acts on differently, read from a refused action's detail. */
export type TelegramRefusal = 'not_modified' | 'delete_not_found' | 'edit_not_found' | 'cant_delete' | null;

export function telegramRefusal(err: unknown): TelegramRefusal {
  const detail = (err as ApiError | null)?.detail ?? '';
  if (/message is not modified/i.test(detail)) return 'not_modified';
  if (/message to delete not found/i.test(detail)) return 'delete_not_found';
  if (/message to edit not found/i.test(detail)) return 'edit_not_found';
  if (/message can't be deleted/i.test(detail)) return 'cant_delete';
  return null;
}
