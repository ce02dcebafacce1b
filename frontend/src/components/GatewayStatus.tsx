// Status components: StatusDot, GatewayStatusIndicator
// and GatewayStatusBadge. CONNECTED green, DISCONNECTED slate, ERROR red,
// CONNECTING amber and animated; the last error shows where there is one.
import type { Gateway, GatewayStatus } from '../lib/types';
import { relativeTime } from '../lib/format';

export const STATUS_LABELS: Record<GatewayStatus, string> = {
  CONNECTED: 'Connected',
  DISCONNECTED: 'Disconnected',
  ERROR: 'Error',
  CONNECTING: 'Connecting',
};

/**
 * The gateway's last error, if it still describes the gateway. The server
 * keeps the history in the audit trail; a lastError older than a later
 * success (a connect, a passing check) is stale and must not sit beside a
 * green badge. An ERROR gateway always shows its error: the sweep does not
 * move lastErrorAt while the same failure repeats.
 */
export function currentError(g: Pick<Gateway, 'status' | 'lastError' | 'lastErrorAt' | 'lastConnectedAt' | 'lastCheckedAt'>): { message: string; at: string | null } | null {
  if (!g.lastError) return null;
  const at = g.lastErrorAt ?? null;
  if (g.status === 'ERROR') return { message: g.lastError, at };
  const errAt = at ? Date.parse(at) : NaN;
  const success = Math.max(...[g.lastConnectedAt, g.lastCheckedAt].map((t) => (t ? Date.parse(t) : NaN)).filter((n) => !Number.isNaN(n)), -Infinity);
  if (Number.isNaN(errAt)) return success === -Infinity ? { message: g.lastError, at } : null;
  return errAt > success ? { message: g.lastError, at } : null;
}

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
      {/* role="img" gives the mark a name screen readers announce; a plain span's aria-label is ignored. */}
      {lastError && <span class="status-badge__alert" role="img" aria-label={title} data-testid="status-alert">!</span>}
    </span>
  );
}
