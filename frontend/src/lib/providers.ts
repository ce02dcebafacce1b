// What each gateway type needs, as GET /api/providers describes it. The
// dashboard keeps no copy of its own: its forms are built from the server's
// answer alone, so they cannot drift from what the server accepts. Until the
// answer is in, pages show that it is loading; if it cannot be had, they say
// so and offer to try again (ProvidersState, WithProviders).
import type { ApiClient } from './api';
import type { GatewayType } from './types';

export interface CredentialField {
  name: string;
  label: string;
  required: boolean;
  secret: boolean;
  pattern?: string;
  enum?: string[];
  description?: string;
}

export interface Param {
  name: string;
  type: string;
  required: boolean;
  description?: string;
  enum?: string[];
  items?: string;
  default?: unknown;
}

export interface Action {
  name: string;
  description?: string;
  params: Param[];
  requiresConnection?: boolean;
}

export interface AIProviderInfo {
  name: string;
  label: string;
  defaultBaseUrl: string;
  requiresApiKey: boolean;
  defaultModel?: string;
  exampleModels: string[];
}

export interface ProviderInfo {
  type: GatewayType;
  name: string;
  description: string;
  credentialFields: CredentialField[];
  configFields?: Param[];
  actions: Action[];
  aiProviders?: AIProviderInfo[];
}

/** The server's description of the gateway types, as far as it has arrived. */
export type ProvidersState =
  | { status: 'loading' }
  | { status: 'ready'; items: ProviderInfo[] }
  | { status: 'error'; error: unknown };

/** Labels of the GatewayType enum, for lists and filters, which need no more of a type than its name. */
export const TYPE_LABELS: Record<GatewayType, string> = { TELEGRAM_BOT: 'Telegram Bot', AI: 'AI', WEBHOOK: 'Webhook' };

/**
 * Reads the server's answer, {types: [...]} (OpenAPI ProviderList). Only
 * params may be null (an action without parameters); anything else that is
 * not in that shape is an error, never filled in.
 */
export function parseProviders(raw: unknown): ProviderInfo[] {
  const types = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>).types : undefined;
  if (!Array.isArray(types) || types.length === 0) throw new Error('The server described no gateway types.');
  return types.map((p, i): ProviderInfo => {
    const o = (p && typeof p === 'object' ? p : {}) as Record<string, unknown>;
    if (typeof o.type !== 'string' || typeof o.name !== 'string' || typeof o.description !== 'string' || !Array.isArray(o.credentialFields) || !Array.isArray(o.actions)) {
      throw new Error(`The server's description of gateway type ${i + 1} is incomplete.`);
    }
    return {
      ...(o as unknown as ProviderInfo),
      actions: (o.actions as Action[]).map((a) => ({ ...a, params: a.params ?? [] })),
    };
  });
}

/** GET /api/providers, parsed; rejects with the ApiError or parse error. */
export async function loadProviders(api: ApiClient): Promise<ProviderInfo[]> {
  return parseProviders(await api.providers());
}

export function providerFor(items: ProviderInfo[], type: GatewayType): ProviderInfo | undefined {
  return items.find((x) => x.type === type);
}

export function hasAction(info: ProviderInfo, action: string): boolean {
  return info.actions.some((a) => a.name === action);
}
