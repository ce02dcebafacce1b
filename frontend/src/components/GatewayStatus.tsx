// Status components: StatusDot, GatewayStatusIndicator
// and GatewayStatusBadge. CONNECTED green, DISCONNECTED slate, ERROR red,
// CONNECTING amber and animated; the last error shows where there is one.
import type { GatewayStatus } from '../lib/types';
import { relativeTime } from '../lib/format';

export const STATUS_LABELS: Record<GatewayStatus, string> = {
  CONNECTED: 'Connected',
  DISCONNECTED: 'Disconnected',
  ERROR: 'Error',
  CONNECTING: 'Connecting',
};

const KNOWN = new Set<string>(Object.keys(STATUS_LABELS));

export function statusClass(status: string): string {
  return KNOWN.has(status) ? status.toLowerCase() : 'unknown';
}

export function statusLabel(status: string): string {
  return (STATUS_LABELS as Record<string, string>)[status] ?? status;
}

function errorTitle(lastError?: string | null, lastErrorAt?: string | null): string | undefined {
  if (!lastError) return undefined;
  return lastErrorAt ? `Last error (${relativeTime(lastErrorAt)}): ${lastError}` : `Last error: ${lastError}`;
}

export interface StatusDotProps {
  status: GatewayStatus | string;
  size?: 'sm' | 'md' | 'lg';
  /** Hide from assistive tech when a visible label sits beside the dot. */
  decorative?: boolean;
}

export function StatusDot({ status, size = 'md', decorative = false }: StatusDotProps) {
  const cls = statusClass(status);
  return (
    <span
      class={`status-dot status-dot--${cls} status-dot--${size}${status === 'CONNECTING' ? ' is-animated' : ''}`}
      data-status={status}
      {...(decorative ? { 'aria-hidden': 'true' } : { role: 'img', 'aria-label': statusLabel(status) })}
    />
  );
}

export interface GatewayStatusIndicatorProps {
  status: GatewayStatus | string;
  /** Show the status's name beside the dot (default true). */
  showLabel?: boolean;
  lastError?: string | null;
  lastErrorAt?: string | null;
  /** Print the last error under the label instead of only on hover. */
  showError?: boolean;
}

export function GatewayStatusIndicator({ status, showLabel = true, lastError, lastErrorAt, showError = false }: GatewayStatusIndicatorProps) {
  const cls = statusClass(status);
  const title = errorTitle(lastError, lastErrorAt);
  return (
    <span class={`status-indicator status-indicator--${cls}`} title={title} data-status={status}>
      <span class="status-indicator__row">
        <StatusDot status={status} decorative={showLabel} />
        {showLabel && <span class="status-indicator__label">{statusLabel(status)}{status === 'CONNECTING' ? '…' : ''}</span>}
      </span>
      {showError && lastError && (
        <span class="status-indicator__error" role="note">
          {lastError}
          {lastErrorAt && <span class="muted"> · {relativeTime(lastErrorAt)}</span>}
        </span>
      )}
    </span>
  );
}

export interface GatewayStatusBadgeProps {
  status: GatewayStatus | string;
  lastError?: string | null;
  lastErrorAt?: string | null;
}

export function GatewayStatusBadge({ status, lastError, lastErrorAt }: GatewayStatusBadgeProps) {
  const cls = statusClass(status);
  const title = errorTitle(lastError, lastErrorAt);
  return (
    <span class={`status-badge status-badge--${cls}`} title={title} data-status={status} data-testid="status-badge">
      <StatusDot status={status} size="sm" decorative />
      {statusLabel(status)}
      {lastError && <span class="status-badge__alert" aria-label={title}>!</span>}
    </span>
  );
}
