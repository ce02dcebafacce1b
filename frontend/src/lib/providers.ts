// What each gateway type needs, as GET /api/providers describes it. Until a
// server has that route, the built-in copy below (the same description)
// stands in, so forms never depend on the route being deployed.
import type { ApiClient } from './api';
import { ApiError } from './api';
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

export interface Providers {
  items: ProviderInfo[];
  /** "api" when the server described itself, "builtin" otherwise. */
  source: 'api' | 'builtin';
}

export const BOT_TOKEN_PATTERN = '^[0-9]{5,16}:[A-Za-z0-9_-]{30,64}$';

export const BUILTIN_PROVIDERS: ProviderInfo[] = [
  {
    type: 'TELEGRAM_BOT',
    name: 'Telegram Bot',
    description: 'Receive updates through a webhook and send messages as your bot.',
    credentialFields: [
      {
        name: 'botToken', label: 'Bot token', required: true, secret: true, pattern: BOT_TOKEN_PATTERN,
        description: 'From @BotFather: the bot id, a colon and a secret, e.g. 123456789:AAE…',
      },
    ],
    actions: [
      { name: 'getMe', description: 'Who the bot is.', params: [] },
      {
        name: 'sendMessage', description: 'Send a text message.', requiresConnection: true,
        params: [
          { name: 'chat_id', type: 'id', required: true, description: 'Chat id or @channelusername' },
          { name: 'text', type: 'string', required: true, description: 'Message text' },
          { name: 'parse_mode', type: 'string', required: false, description: 'Formatting', enum: ['MarkdownV2', 'HTML', 'Markdown'] },
          { name: 'disable_notification', type: 'boolean', required: false, description: 'Send silently' },
          { name: 'reply_to_message_id', type: 'integer', required: false, description: 'Reply to this message' },
        ],
      },
      { name: 'setWebhook', description: 'Register the webhook.', params: [] },
      { name: 'deleteWebhook', description: 'Remove the webhook.', params: [] },
      { name: 'getWebhookInfo', description: 'Webhook URL, pending updates and the last delivery error.', params: [] },
    ],
  },
  {
    type: 'AI',
    name: 'AI',
    description: 'Chat completions from eight providers through one request shape.',
    credentialFields: [
      { name: 'provider', label: 'Provider', required: true, secret: false, enum: ['openai', 'anthropic', 'deepseek', 'grok', 'gemini', 'mistral', 'groq', 'ollama'] },
      { name: 'apiKey', label: 'API key', required: true, secret: true, description: 'Not needed for Ollama.' },
      { name: 'baseUrl', label: 'Base URL', required: false, secret: false, description: "Leave empty for the provider's default. Required for Ollama." },
      { name: 'model', label: 'Default model', required: false, secret: false },
    ],
    actions: [
      {
        name: 'chat', description: 'Run a chat completion.', requiresConnection: true,
        params: [
          { name: 'messages', type: 'array', items: 'object', required: true, description: 'Messages with role and content' },
          { name: 'model', type: 'string', required: false, description: 'Overrides the default model' },
          { name: 'maxTokens', type: 'integer', required: false, description: 'Upper bound on the reply' },
          { name: 'temperature', type: 'number', required: false, description: '0 to 2' },
          { name: 'system', type: 'string', required: false, description: 'System prompt' },
        ],
      },
      { name: 'listModels', description: 'Models the key can use.', params: [] },
      { name: 'validateKey', description: 'Check the key without spending tokens.', params: [] },
    ],
    aiProviders: [
      { name: 'openai', label: 'OpenAI', defaultBaseUrl: 'https://api.openai.com/v1', requiresApiKey: true, defaultModel: 'gpt-4o-mini', exampleModels: ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini'] },
      { name: 'anthropic', label: 'Anthropic', defaultBaseUrl: 'https://api.anthropic.com', requiresApiKey: true, defaultModel: 'claude-3-5-haiku-latest', exampleModels: ['claude-3-5-haiku-latest', 'claude-sonnet-4-0', 'claude-opus-4-0'] },
      { name: 'deepseek', label: 'DeepSeek', defaultBaseUrl: 'https://api.deepseek.com', requiresApiKey: true, defaultModel: 'deepseek-chat', exampleModels: ['deepseek-chat', 'deepseek-reasoner'] },
      { name: 'grok', label: 'xAI Grok', defaultBaseUrl: 'https://api.x.ai/v1', requiresApiKey: true, defaultModel: 'grok-3-mini', exampleModels: ['grok-3-mini', 'grok-3'] },
      { name: 'gemini', label: 'Google Gemini', defaultBaseUrl: 'https://generativelanguage.googleapis.com', requiresApiKey: true, defaultModel: 'gemini-2.0-flash', exampleModels: ['gemini-2.0-flash', 'gemini-1.5-pro'] },
      { name: 'mistral', label: 'Mistral AI', defaultBaseUrl: 'https://api.mistral.ai/v1', requiresApiKey: true, defaultModel: 'mistral-small-latest', exampleModels: ['mistral-small-latest', 'mistral-large-latest'] },
      { name: 'groq', label: 'Groq', defaultBaseUrl: 'https://api.groq.com/openai/v1', requiresApiKey: true, defaultModel: 'llama-3.1-8b-instant', exampleModels: ['llama-3.1-8b-instant', 'llama-3.3-70b-versatile'] },
      { name: 'ollama', label: 'Ollama', defaultBaseUrl: 'http://localhost:11434', requiresApiKey: false, defaultModel: 'llama3.2', exampleModels: ['llama3.2', 'qwen2.5', 'mistral'] },
    ],
  },
  {
    type: 'WEBHOOK',
    name: 'Webhook',
    description: 'Send signed JSON events (Standard Webhooks) to your HTTPS endpoint.',
    credentialFields: [
      { name: 'url', label: 'Endpoint URL', required: true, secret: false, pattern: '^https://', description: 'Must use https.' },
      { name: 'signingSecret', label: 'Signing secret', required: false, secret: true, description: 'At least 24 characters. Used for the webhook-signature header.' },
    ],
    actions: [
      {
        name: 'send', description: 'Send an event.', requiresConnection: true,
        params: [
          { name: 'type', type: 'string', required: false, description: 'Event type' },
          { name: 'payload', type: 'any', required: true, description: 'JSON payload' },
        ],
      },
    ],
  },
];

export const TYPE_LABELS: Record<GatewayType, string> = { TELEGRAM_BOT: 'Telegram Bot', AI: 'AI', WEBHOOK: 'Webhook' };

/** Accepts [...], {items: [...]}, {providers: [...]} or {types: [...]}. */
export function normalizeProviders(raw: unknown): ProviderInfo[] | null {
  let list: unknown = raw;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    list = o.items ?? o.providers ?? o.types;
  }
  if (!Array.isArray(list)) return null;
  const out: ProviderInfo[] = [];
  for (const p of list) {
    if (!p || typeof p !== 'object') continue;
    const o = p as Record<string, unknown>;
    const type = o.type as GatewayType;
    const builtin = BUILTIN_PROVIDERS.find((b) => b.type === type);
    const fields = (o.credentialFields ?? o.credentials) as CredentialField[] | undefined;
    out.push({
      type,
      name: typeof o.name === 'string' && o.name ? o.name : (builtin?.name ?? String(type)),
      description: typeof o.description === 'string' ? o.description : (builtin?.description ?? ''),
      credentialFields: Array.isArray(fields) ? fields : (builtin?.credentialFields ?? []),
      configFields: Array.isArray(o.configFields) ? (o.configFields as Param[]) : builtin?.configFields,
      actions: Array.isArray(o.actions) ? (o.actions as Action[]).map((a) => ({ ...a, params: a.params ?? [] })) : (builtin?.actions ?? []),
      aiProviders: Array.isArray(o.aiProviders) ? (o.aiProviders as AIProviderInfo[]) : builtin?.aiProviders,
    });
  }
  return out.length ? out : null;
}

export async function loadProviders(api: ApiClient): Promise<Providers> {
  try {
    const items = normalizeProviders(await api.providers());
    if (items) return { items, source: 'api' };
  } catch (e) {
    // A 401 is handled by the client (sign-out); anything else falls back.
    if (e instanceof ApiError && e.status === 401) throw e;
  }
  return { items: BUILTIN_PROVIDERS, source: 'builtin' };
}

export function providerFor(p: Providers | null, type: GatewayType): ProviderInfo {
  return p?.items.find((x) => x.type === type) ?? BUILTIN_PROVIDERS.find((x) => x.type === type)!;
}

export function hasAction(info: ProviderInfo, action: string): boolean {
  return info.actions.some((a) => a.name === action);
}
