// The API's shapes (DESIGN.md section 2). JSON is camelCase throughout.

export type GatewayType = 'TELEGRAM_BOT' | 'AI' | 'WEBHOOK';
export type GatewayStatus = 'CONNECTED' | 'DISCONNECTED' | 'ERROR' | 'CONNECTING';

export const GATEWAY_TYPES: GatewayType[] = ['TELEGRAM_BOT', 'AI', 'WEBHOOK'];
export const GATEWAY_STATUSES: GatewayStatus[] = ['CONNECTED', 'DISCONNECTED', 'ERROR', 'CONNECTING'];

export interface Gateway {
  id: string;
  name: string;
  type: GatewayType;
  status: GatewayStatus;
  config: Record<string, unknown>;
  credentialInfo: Record<string, unknown>;
  userId: string;
  organizationId: string | null;
  lastConnectedAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  lastCheckedAt: string | null;
  lastLatencyMs: number | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AuditActor {
  userId?: string | null;
  organizationId?: string | null;
  sourceIp?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  system?: string | null;
}

export interface AuditEvent {
  id: string;
  action: string;
  at: string;
  actor: AuditActor;
  changes?: string[];
  details?: Record<string, unknown>;
}

export type TestOutcome = 'ok' | 'invalid_credentials' | 'rate_limited' | 'unreachable' | 'provider_error';

export interface TestResult {
  success: boolean;
  latencyMs: number;
  result: TestOutcome;
  error?: string;
  details?: Record<string, unknown>;
  /** The gateway after the test (status, lastCheckedAt…), when the server sends it. */
  gateway?: Gateway;
}

export interface HealthSample {
  at: string;
  result: TestOutcome;
  latencyMs: number;
}

export interface WebhookInfo {
  url: string;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
}

/** One update a TELEGRAM_BOT gateway received (GET /api/gateways/{id}/updates). */
export interface ReceivedUpdate {
  updateId: number;
  /** The name of the update's one optional field ("message", "callback_query", …), or "unknown". */
  type: string;
  /** Copied out of the update where its type has them. */
  chatId: number | null;
  senderId: number | null;
  messageDate: string | null;
  receivedAt: string;
  /** The update's JSON as Telegram sent it. */
  update: Record<string, unknown>;
}

/**
 * A page of received updates, oldest first. nextCursor is always a position
 * to poll from (the one asked with when nothing newer exists), so passing it
 * back sees each update once.
 */
export interface UpdatesPage {
  items: ReceivedUpdate[];
  nextCursor: string;
}

export interface ChatMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

export interface ChatResult {
  text: string;
  model: string;
  finishReason?: string;
  usage?: { inputTokens?: number; outputTokens?: number };
  latencyMs?: number;
}

export interface CreateGatewayBody {
  name: string;
  type: GatewayType;
  credentials: Record<string, string>;
  config?: Record<string, unknown>;
}

export interface UpdateGatewayBody {
  name?: string;
  config?: Record<string, unknown>;
  credentials?: Record<string, string>;
}

/** Where a route delivers: one of the owner's WEBHOOK gateways, or the account's EventBridge bus. */
export type RouteTarget = { type: 'WEBHOOK'; gatewayId: string } | { type: 'EVENTBRIDGE' };

/** Which updates a route delivers; an empty or missing filter lets every update through. */
export interface RouteFilters {
  updateTypes?: string[];
  chatIds?: number[];
  commandPrefix?: string | null;
}

export type RouteStatus = 'ACTIVE' | 'PAUSED' | 'ERROR';

export const ROUTE_STATUSES: RouteStatus[] = ['ACTIVE', 'PAUSED', 'ERROR'];

/** A route of a TELEGRAM_BOT gateway (GET /api/gateways/{id}/routes/{routeId}): push delivery of its updates. */
export interface Route {
  id: string;
  /** The bot whose updates it delivers. */
  gatewayId: string;
  target: RouteTarget;
  filters: { updateTypes: string[]; chatIds: number[]; commandPrefix: string | null };
  status: RouteStatus;
  statusReason: string | null;
  lastDeliveredUpdateId: number | null;
  lastDeliveredAt: string | null;
  /** How long the last delivered update took from its receipt to its delivery, where the server says. */
  lastDeliveryLagMs?: number | null;
  /** Seconds: the age of the oldest undelivered update, 0 when none waits. */
  lag: number;
  pending: number;
  /** The server stopped counting: pending is a lower bound. */
  pendingCapped?: boolean;
  deadLetters: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** POST …/routes and PUT …/routes/{routeId}. */
export interface RouteBody {
  target: RouteTarget;
  filters?: RouteFilters;
}

/** An update a route gave up delivering (GET …/routes/{routeId}/dead-letters). */
export interface DeadLetter {
  updateId: number;
  type: string;
  chatId: number | null;
  receivedAt?: string;
  failedAt: string;
  attempts: number;
  lastError: string;
  /** The update's JSON as Telegram sent it. */
  update: Record<string, unknown>;
}

/** POST …/routes/{routeId}/replay: from an update id, from a time (RFC 3339), or the dead letters. */
export type ReplayBody = { fromUpdateId: number } | { from: string } | { deadLetters: true };
