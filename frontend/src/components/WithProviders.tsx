// The one place that turns the state of GET /api/providers into what a page
// shows: its content once the server has described the gateway types, a
// loading state until then, and the server's error with a retry if it could
// not. There is no built-in description to fall back on, by design: a form
// built from a stale copy would ask for fields the server refuses.
import type { ComponentChildren } from 'preact';
import { useApp } from '../app-context';
import type { ProviderInfo } from '../lib/providers';
import { ProblemAlert, Skeleton } from './ui';

export function WithProviders({ lines = 3, children }: { lines?: number; children: (items: ProviderInfo[]) => ComponentChildren }) {
  const { providers, reloadProviders } = useApp();
  if (providers.status === 'loading') {
    return <div data-testid="providers-loading"><Skeleton lines={lines} /><p class="muted small">Loading gateway types…</p></div>;
  }
  if (providers.status === 'error') {
    return (
      <ProblemAlert error={providers.error} onRetry={reloadProviders}>
        <p class="alert__detail" data-testid="providers-error">The gateway types could not be loaded from the server, so this part of the page is not available.</p>
      </ProblemAlert>
    );
  }
  return <>{children(providers.items)}</>;
}
