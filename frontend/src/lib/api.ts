// The API client: one place that adds the bearer token and the organisation
// header, and turns every failure into an ApiError carrying the problem's
// title and detail (RFC 9457), whatever the server or the network did.
import type {
  AuditEvent, ChatResult, CreateGatewayBody, DeadLetter, Gateway, GatewayStatus, GatewayType, HealthSample, Page,
  ReplayBody, Route, RouteBody, TestResult, UpdateGatewayBody, UpdatesPage,
} from './types';

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  readonly errors: FieldError[];
  readonly instance?: string;

  constructor(init: { status: number; title: string; detail?: string; type?: string; errors?: FieldError[]; instance?: string }) {
    super(init.detail ? `${init.title}: ${init.detail}` : init.title);
    this.name = 'ApiError';
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail ?? '';
    this.type = init.type ?? 'about:blank';
    this.errors = init.errors ?? [];
    this.instance = init.instance;
  }

  /** An If-Match precondition failed: someone else changed the gateway or route. */
  get conflict(): boolean {
    return this.status === 412;
  }

  /** Field errors keyed by field path ("credentials.botToken"). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.errors) {
      const k = e.field || '';
      out[k] = out[k] ? `${out[k]}; ${e.message}` : e.message;
    }
    return out;
  }
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed',
  409: 'Conflict', 412: 'Precondition failed', 413: 'Payload too large', 415: 'Unsupported media type',
  422: 'Unprocessable content', 429: 'Too many requests', 500: 'Internal server error', 502: 'Bad gateway',
  503: 'Service unavailable', 504: 'Gateway timeout',
};

/** Reads any error response into an ApiError: problem+json, plain JSON ({message}) or text. */
export async function problemFrom(res: Response): Promise<ApiError> {
  const fallbackTitle = STATUS_TITLES[res.status] ?? (res.statusText || `HTTP ${res.status}`);
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* body unreadable: keep the status */
  }
  let body: Record<string, unknown> | null = null;
  if (text) {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
  }
  if (body) {
    const errors = Array.isArray(body.errors)
      ? (body.errors as unknown[]).flatMap((e) => {
          if (!e || typeof e !== 'object') return [];
          const fe = e as Record<string, unknown>;
          return [{ field: typeof fe.field === 'string' ? fe.field : '', message: String(fe.message ?? fe.detail ?? '') }];
        })
      : [];
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    return new ApiError({
      status: res.status,
      title: str(body.title) ?? fallbackTitle,
      // API Gateway's own errors are {"message": "..."}.
      detail: str(body.detail) ?? str(body.message) ?? '',
      type: str(body.type),
      errors,
      instance: str(body.instance),
    });
  }
  const snippet = text && !/^\s*</.test(text) ? text.trim().slice(0, 300) : '';
  return new ApiError({ status: res.status, title: fallbackTitle, detail: snippet || `The server answered ${res.status}.` });
}

export interface ApiClientOptions {
  baseUrl: string;
  getToken: () => string | null;
  getOrg: () => string | null;
  /** Called on any 401, after which the caller gets the error too. */
  onUnauthorized?: (e: ApiError) => void;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  data: T;
  status: number;
  etag: string | null;
  /** The server answered a repeated Idempotency-Key with the first request's result. */
  replayed: boolean;
}

export interface ListFilter {
  type?: GatewayType | '';
  status?: GatewayStatus | '';
  limit?: number;
  cursor?: string | null;
}

export interface UpdatesFilter {
  /** Where to read from; without one, the oldest retained update. */
  cursor?: string | null;
  /** 1–100 (the server's default is 50). */
  limit?: number;
  /** Instead of cursor and limit: the newest updates (1–100), still oldest first; nextCursor is then the newest. */
  tail?: number;
  /** An update type ("message", "callback_query", …). */
  type?: string;
  chatId?: number | null;
  /** Seconds (0–20) the server may hold the request until something newer than the cursor exists. */
  wait?: number;
}

// --- Telegram messages --------------------------------------------------------
// sendMessage's parameters keep the Bot API's own names (snake_case), as the
// action route and the messages API take them.

/** An inline keyboard button: a label and exactly one action (the editor offers url and callback_data). */
export interface InlineKeyboardButton {
  text: string;
  url?: string;
  callback_data?: string;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

/** sendMessage's parameters, plus the messages API's format: "markdown" (Gatehouse converts it to HTML, splitting long texts). */
export interface SendMessageParams {
  chat_id?: number | string;
  text: string;
  parse_mode?: 'HTML' | 'MarkdownV2' | 'Markdown';
  format?: 'markdown';
  reply_markup?: InlineKeyboardMarkup;
  reply_parameters?: { message_id: number };
  link_preview_options?: { is_disabled?: boolean };
  message_thread_id?: number;
  disable_notification?: boolean;
}

/** The part of Telegram's Message the panel reads (sendMessage's and editMessageText's result). */
export interface TelegramMessage {
  message_id: number;
  chat?: { id: number | string };
  text?: string;
  reply_markup?: InlineKeyboardMarkup;
}

/** POST …/messages: a batch of messages (up to 1,000), or one message to many chats (up to 10,000). */
export type MessagesBody =
  | { messages: SendMessageParams[] }
  | { broadcast: { chatIds: (number | string)[]; message: Omit<SendMessageParams, 'chat_id'> } };

export type JobStatus = 'QUEUED' | 'RUNNING' | 'DONE';
export type JobItemStatus = 'QUEUED' | 'SENT' | 'FAILED' | 'UNKNOWN';

/** The 202 of POST …/messages. */
export interface JobAccepted {
  jobId: string;
  status: JobStatus;
  total: number;
  /** The Idempotency-Key had been used: this is the first request's job, nothing was queued again. */
  replayed: boolean;
}

/** One message of a job. UNKNOWN: Telegram may have sent it, its answer never came; it is not sent again. */
export interface JobItem {
  index: number;
  chatId: number | string;
  status: JobItemStatus;
  /** Telegram's id of the (first) message sent. */
  messageId: number | null;
  /** Every part of a long (split) message. */
  messageIds?: number[];
  error: string | null;
}

/** GET …/messages/{jobId}. */
export interface MessageJob {
  jobId: string;
  status: JobStatus;
  total: number;
  sent: number;
  failed: number;
  unknown: number;
  queued: number;
  createdAt?: string;
  updatedAt?: string;
  items: JobItem[];
  nextCursor: string | null;
}

/** Unwraps a version from an ETag: "3" → 3, W/"3" → 3. */
export function versionFromEtag(etag: string | null): number | null {
  if (!etag) return null;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(etag.trim());
  return m ? Number(m[1]) : null;
}

export class ApiClient {
  private readonly opts: ApiClientOptions;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ApiClientOptions) {
    this.opts = opts;
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  url(path: string, query?: RequestOptions['query']): string {
    let u = this.opts.baseUrl + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const s = q.toString();
      if (s) u += (u.includes('?') ? '&' : '?') + s;
    }
    return u;
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...o.headers };
    const token = this.opts.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const org = this.opts.getOrg();
    if (org) headers['X-Organization-Id'] = org;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, o.query), { method, headers, body, signal: o.signal });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new ApiError({
        status: 0,
        title: 'Network error',
        detail: `Could not reach the Gatehouse API${this.opts.baseUrl ? ` at ${this.opts.baseUrl}` : ''}. Check your connection and try again.`,
      });
    }
    if (!res.ok) {
      const e = await problemFrom(res);
      if (res.status === 401) this.opts.onUnauthorized?.(e);
      throw e;
    }
    let data: unknown = null;
    if (res.status !== 204) {
      const text = await res.text();
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          throw new ApiError({ status: res.status, title: 'Unexpected response', detail: 'The server answered with something that is not JSON.' });
        }
      }
    }
    return { data: data as T, status: res.status, etag: res.headers.get('ETag'), replayed: res.headers.get('Idempotent-Replayed') === 'true' };
  }

  // --- gateways -----------------------------------------------------------

  async listGateways(f: ListFilter = {}, signal?: AbortSignal): Promise<Page<Gateway>> {
    const r = await this.request<Page<Gateway>>('GET', '/api/gateways', {
      query: { type: f.type, status: f.status, limit: f.limit, cursor: f.cursor },
      signal,
    });
    return { items: r.data?.items ?? [], nextCursor: r.data?.nextCursor ?? null };
  }

  async getGateway(id: string, signal?: AbortSignal): Promise<Gateway> {
    const r = await this.request<Gateway>('GET', `/api/gateways/${encodeURIComponent(id)}`, { signal });
    return withVersion(r);
  }

  async createGateway(body: CreateGatewayBody, idempotencyKey?: string): Promise<Gateway> {
    const headers: Record<string, string> = {};
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    return withVersion(await this.request<Gateway>('POST', '/api/gateways', { body, headers }));
  }

  async updateGateway(id: string, body: UpdateGatewayBody, version: number): Promise<Gateway> {
    return withVersion(
      await this.request<Gateway>('PUT', `/api/gateways/${encodeURIComponent(id)}`, { body, headers: { 'If-Match': `"${version}"` } }),
    );
  }

  async setStatus(id: string, status: 'CONNECTED' | 'DISCONNECTED'): Promise<Gateway> {
    return withVersion(await this.request<Gateway>('PATCH', `/api/gateways/${encodeURIComponent(id)}/status`, { body: { status } }));
  }

  async deleteGateway(id: string): Promise<void> {
    await this.request<null>('DELETE', `/api/gateways/${encodeURIComponent(id)}`);
  }

  async audit(id: string, cursor?: string | null, limit = 20, signal?: AbortSignal): Promise<Page<AuditEvent>> {
    const r = await this.request<Page<AuditEvent>>('GET', `/api/gateways/${encodeURIComponent(id)}/audit`, { query: { limit, cursor }, signal });
    return { items: r.data?.items ?? [], nextCursor: r.data?.nextCursor ?? null };
  }

  /**
   * A TELEGRAM_BOT gateway's received updates, oldest first. Errors:
   * ApiError 400 (errors[] names the field), 404, 409 (not a TELEGRAM_BOT
   * gateway); an abort rejects with the AbortError.
   */
  async updates(id: string, f: UpdatesFilter = {}, signal?: AbortSignal): Promise<UpdatesPage> {
    const r = await this.request<UpdatesPage>('GET', `/api/gateways/${encodeURIComponent(id)}/updates`, {
      query: { cursor: f.cursor, limit: f.limit, tail: f.tail, type: f.type, chatId: f.chatId, wait: f.wait },
      signal,
    });
    // nextCursor is always sent; without one, stay where we were.
    return { items: r.data?.items ?? [], nextCursor: r.data?.nextCursor ?? f.cursor ?? '' };
  }

  // --- routes (push delivery of a TELEGRAM_BOT gateway's updates) ---------
  // Every route method: ApiError 404 (no such bot or route), 409 (not a
  // TELEGRAM_BOT gateway); an abort rejects with the AbortError.

  /** One page of the bot's routes. */
  async listRoutes(id: string, cursor?: string | null, signal?: AbortSignal): Promise<Page<Route>> {
    const r = await this.request<Page<Route>>('GET', `/api/gateways/${encodeURIComponent(id)}/routes`, { query: { cursor }, signal });
    return { items: r.data?.items ?? [], nextCursor: r.data?.nextCursor ?? null };
  }

  /** Adds a route. Errors: also ApiError 422, whose errors[] name the fields ("target.gatewayId", "filters.chatIds"…). */
  async createRoute(id: string, body: RouteBody): Promise<Route> {
    return withVersion(await this.request<Route>('POST', `/api/gateways/${encodeURIComponent(id)}/routes`, { body }));
  }

  async getRoute(id: string, routeId: string, signal?: AbortSignal): Promise<Route> {
    return withVersion(await this.request<Route>('GET', `/api/gateways/${encodeURIComponent(id)}/routes/${encodeURIComponent(routeId)}`, { signal }));
  }

  /** Replaces a route's target and filters if it is still at version. Errors: also 412 (changed since), 422. */
  async updateRoute(id: string, routeId: string, body: RouteBody, version: number): Promise<Route> {
    return withVersion(await this.request<Route>('PUT', `/api/gateways/${encodeURIComponent(id)}/routes/${encodeURIComponent(routeId)}`, {
      body, headers: { 'If-Match': `"${version}"` },
    }));
  }

  /** Pauses or resumes a route; ACTIVE on an ERROR route also retries now. */
  async setRouteStatus(id: string, routeId: string, status: 'ACTIVE' | 'PAUSED'): Promise<Route> {
    return withVersion(await this.request<Route>('PATCH', `/api/gateways/${encodeURIComponent(id)}/routes/${encodeURIComponent(routeId)}`, { body: { status } }));
  }

  async deleteRoute(id: string, routeId: string): Promise<void> {
    await this.request<null>('DELETE', `/api/gateways/${encodeURIComponent(id)}/routes/${encodeURIComponent(routeId)}`);
  }

  /** The updates a route gave up delivering, one page at a time. */
  async deadLetters(id: string, routeId: string, f: { cursor?: string | null; limit?: number } = {}, signal?: AbortSignal): Promise<Page<DeadLetter>> {
    const r = await this.request<Page<DeadLetter>>('GET', `/api/gateways/${encodeURIComponent(id)}/routes/${encodeURIComponent(routeId)}/dead-letters`, {
      query: { cursor: f.cursor, limit: f.limit }, signal,
    });
    return { items: r.data?.items ?? [], nextCursor: r.data?.nextCursor ?? null };
  }

  /** Delivers stored updates again; returns how many were queued. Errors: also 422. */
  async replayRoute(id: string, routeId: string, body: ReplayBody): Promise<number> {
    const r = await this.request<{ queued?: number }>('POST', `/api/gateways/${encodeURIComponent(id)}/routes/${encodeURIComponent(routeId)}/replay`, { body });
    return Number(r.data?.queued ?? 0);
  }

  async health(id: string, signal?: AbortSignal): Promise<HealthSample[]> {
    const r = await this.request<{ items?: Record<string, unknown>[] } | Record<string, unknown>[]>(
      'GET', `/api/gateways/${encodeURIComponent(id)}/health`, { signal },
    );
    const raw = Array.isArray(r.data) ? r.data : (r.data?.items ?? []);
    return raw.map((s) => ({
      at: String(s.at ?? s.checkedAt ?? ''),
      result: (s.result ?? s.outcome ?? 'provider_error') as HealthSample['result'],
      latencyMs: Number(s.latencyMs ?? 0),
    }));
  }

  async test(id: string): Promise<TestResult> {
    const r = await this.request<TestResult>('POST', `/api/gateways/${encodeURIComponent(id)}/test`, { body: {} });
    return r.data;
  }

  async action<T = unknown>(id: string, action: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    const r = await this.request<T>('POST', `/api/gateways/${encodeURIComponent(id)}/actions/${encodeURIComponent(action)}`, { body: params, signal });
    return r.data;
  }

  async chat(id: string, params: Record<string, unknown>): Promise<ChatResult> {
    return unwrapResult<ChatResult>(await this.action(id, 'chat', params), 'text');
  }

  // --- messages (paced, idempotent, asynchronous sends of a TELEGRAM_BOT gateway)

  /**
   * Queues messages, or one message to many chats, and answers at once
   * with the job. The same idempotencyKey with the same body finds the
   * first job (replayed: true) instead of sending again. Errors: ApiError
   * 400 (errors[] names the fields: "messages[0].text",
   * "broadcast.chatIds[3]"…), 404, 409 (not a TELEGRAM_BOT gateway, or not
   * connected), 422 (the key was used with another body), 503 (sending is
   * not available on this server).
   */
  async submitMessages(id: string, body: MessagesBody, idempotencyKey?: string): Promise<JobAccepted> {
    const headers: Record<string, string> = {};
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const r = await this.request<JobAccepted>('POST', `/api/gateways/${encodeURIComponent(id)}/messages`, { body, headers });
    return { jobId: r.data.jobId, status: r.data.status, total: Number(r.data.total ?? 0), replayed: r.replayed };
  }

  /** A job's counters and one page of its messages, in the order submitted. Errors: ApiError 400 (a bad cursor or limit), 404. */
  async getMessageJob(id: string, jobId: string, f: { cursor?: string | null; limit?: number } = {}, signal?: AbortSignal): Promise<MessageJob> {
    const r = await this.request<MessageJob>('GET', `/api/gateways/${encodeURIComponent(id)}/messages/${encodeURIComponent(jobId)}`, {
      query: { cursor: f.cursor, limit: f.limit }, signal,
    });
    const j = r.data;
    return { ...j, items: j?.items ?? [], nextCursor: j?.nextCursor ?? null };
  }

  async providers(signal?: AbortSignal): Promise<unknown> {
    return (await this.request<unknown>('GET', '/api/providers', { signal })).data;
  }
}

/** The body, with its version from the ETag when the body lacks one. */
function withVersion<T extends { version: number }>(r: ApiResponse<T>): T {
  const g = r.data;
  const v = versionFromEtag(r.etag);
  if (g && typeof g.version !== 'number' && v !== null) g.version = v;
  return g;
}

/**
 * Some action routes wrap their output ({"result": {...}}); take the inner
 * object when the outer one lacks the key that identifies the payload.
 */
export function unwrapResult<T>(data: unknown, key: string): T {
  if (data && typeof data === 'object' && !(key in data)) {
    const o = data as Record<string, unknown>;
    for (const k of ['result', 'data', 'output']) {
      const inner = o[k];
      if (inner && typeof inner === 'object' && key in inner) return inner as T;
    }
  }
  return data as T;
}

/** A random Idempotency-Key / state value. */
export function randomId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
