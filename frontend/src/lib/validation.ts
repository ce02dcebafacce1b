// Client-side checks that mirror the server's (pkg/gateway/validate.go for
// the request, each provider's CheckCredentials under pkg/provider for its
// credentials), with the same field paths and messages, so a user sees the same words before
// and after a round trip. The server stays the authority: its field errors
// are shown beside the same fields.
import type { FieldError } from './api';
import type { CredentialField, ProviderInfo } from './providers';
import type { GatewayType } from './types';

export const MAX_NAME_LENGTH = 100;
export const MAX_CONFIG_BYTES = 16 << 10;
export const MIN_SIGNING_SECRET = 24;
const MAX_SECRET_LENGTH = 512;
const MAX_URL_LENGTH = 2048;
const MAX_MODEL_LENGTH = 200;
const BOT_TOKEN = /^[0-9]{5,16}:[A-Za-z0-9_-]{30,64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const runeLength = (s: string) => Array.from(s).length;

export function checkName(name: string): string | null {
  const n = name.trim();
  const l = runeLength(n);
  if (l === 0) return 'must not be empty';
  if (l > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (CONTROL.test(n)) return 'must not contain control characters';
  return null;
}

export function checkSecret(s: string, minLen: number): string | null {
  if (s.length < minLen) return `must be at least ${minLen} characters`;
  if (s.length > MAX_SECRET_LENGTH) return `must be at most ${MAX_SECRET_LENGTH} characters`;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x20 || c >= 0x7f) return 'must contain only printable ASCII characters without spaces';
  }
  return null;
}

export function checkUrl(raw: string, schemes: string[]): string | null {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (!u.hostname || !/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return 'must be an absolute URL';
  if (!schemes.includes(u.protocol.replace(/:$/, ''))) return `must use ${schemes.join(' or ')}`;
  if (u.username || u.password) return 'must not contain user information';
  if (raw.includes('#')) return 'must not contain a fragment';
  return null;
}

/** Parses the config textarea: empty means {}. Returns the object or an error message. */
export function parseConfigText(text: string): { value: Record<string, unknown> } | { error: string } {
  const t = text.trim();
  if (!t) return { value: {} };
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    return { error: jsonSyntaxError(t, e) };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'must be a JSON object' };
  if (new TextEncoder().encode(JSON.stringify(v)).length > MAX_CONFIG_BYTES) {
    return { error: `must be at most ${MAX_CONFIG_BYTES} bytes of JSON` };
  }
  return { value: v as Record<string, unknown> };
}

/**
 * Says where a JSON text stops being JSON: "is not valid JSON: line 2,
 * column 5 (Expected ',' or '}' after property value)". The engine's
 * message gives an offset (V8: "at position 12"); without one, only the
 * reason is given.
 */
export function jsonSyntaxError(text: string, e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const reason = raw.replace(/\s*\(line \d+ column \d+\)\s*$/, '').replace(/\s+in JSON at position \d+$/, '').replace(/^JSON\.parse: /, '');
  const m = /at position (\d+)/.exec(raw);
  if (!m) return `is not valid JSON (${reason})`;
  const pos = Math.min(Number(m[1]), text.length);
  const before = text.slice(0, pos).split('\n');
  return `is not valid JSON: line ${before.length}, column ${before[before.length - 1].length + 1} (${reason})`;
}

/**
 * Reads a chat id filter: empty means no filter; anything else must be an
 * integer (groups and channels have negative ids) that a number holds exactly.
 */
export function parseChatId(text: string): { value: number | null } | { error: string } {
  const t = text.trim();
  if (!t) return { value: null };
  if (!/^-?\d+$/.test(t)) return { error: 'must be an integer, like 42 or -1001234567890' };
  const n = Number(t);
  if (!Number.isSafeInteger(n)) return { error: 'is too large' };
  return { value: n };
}

const LOOPBACK_HTTP = /^http:\/\/(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?(\/|$)/i;

/** Field-level rules the server applies beyond "required" and "pattern". */
function checkKnownCredential(type: GatewayType, field: string, value: string): string | null {
  switch (`${type}.${field}`) {
    case 'TELEGRAM_BOT.botToken':
      return BOT_TOKEN.test(value) ? null : 'must look like a Bot API token: <bot id>:<secret> (from @BotFather)';
    case 'AI.apiKey':
      return checkSecret(value, 1);
    case 'AI.baseUrl':
      return checkUrl(value, ['http', 'https']);
    case 'AI.model':
      return runeLength(value) > MAX_MODEL_LENGTH || /[\s\u0000-\u001f\u007f]/.test(value)
        ? `must be a model name of at most ${MAX_MODEL_LENGTH} characters without spaces`
        : null;
    case 'WEBHOOK.url':
      // http only to this machine (a local receiver under make run); the
      // server has the last word: it takes http only where private
      // networks are allowed.
      return checkUrl(value, LOOPBACK_HTTP.test(value) ? ['http', 'https'] : ['https']);
    case 'WEBHOOK.signingSecret':
      return checkSecret(value, MIN_SIGNING_SECRET);
    default:
      return null;
  }
}

/** Whether a field must be filled in, given the other values (Ollama needs no key but a base URL). */
export function isRequired(type: GatewayType, f: CredentialField, values: Record<string, string>): boolean {
  if (type === 'AI') {
    if (f.name === 'apiKey') return values.provider !== 'ollama';
    if (f.name === 'baseUrl') return values.provider === 'ollama';
  }
  return f.required;
}

function requiredMessage(type: GatewayType, field: string): string {
  return type === 'AI' && field === 'baseUrl' ? 'is required for ollama' : 'is required';
}

/** Checks credentials against the type's description; paths are "credentials.<name>". */
export function validateCredentials(info: ProviderInfo, values: Record<string, string>): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of info.credentialFields) {
    const v = (values[f.name] ?? '').trim();
    const path = `credentials.${f.name}`;
    if (v === '') {
      if (isRequired(info.type, f, values)) errs.push({ field: path, message: requiredMessage(info.type, f.name) });
      continue;
    }
    if (f.enum && f.enum.length && !f.enum.includes(v)) {
      errs.push({ field: path, message: `must be one of ${f.enum.join(', ')}` });
      continue;
    }
    const known = checkKnownCredential(info.type, f.name, v);
    if (known) {
      errs.push({ field: path, message: known });
      continue;
    }
    if (f.pattern) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(f.pattern);
      } catch {
        re = null; // a pattern this browser cannot compile: the server decides
      }
      if (re && !re.test(v)) errs.push({ field: path, message: 'has an invalid format' });
    }
  }
  return errs;
}

export interface GatewayForm {
  name: string;
  credentials: Record<string, string>;
  configText: string;
}

/** Every check of a create request, in the server's field paths. */
export function validateCreate(info: ProviderInfo, form: GatewayForm): FieldError[] {
  const errs: FieldError[] = [];
  const n = checkName(form.name);
  if (n) errs.push({ field: 'name', message: n });
  errs.push(...validateCredentials(info, form.credentials));
  const c = parseConfigText(form.configText);
  if ('error' in c) errs.push({ field: 'config', message: c.error });
  return errs;
}

/** Only the non-empty values, trimmed (no valid credential starts or ends with a space). */
export function cleanCredentials(info: ProviderInfo, values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of info.credentialFields) {
    const v = (values[f.name] ?? '').trim();
    if (v !== '') out[f.name] = v;
  }
  return out;
}

export function toFieldMap(errs: FieldError[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const e of errs) if (!m[e.field]) m[e.field] = e.message;
  return m;
}
