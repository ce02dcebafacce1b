import { ApiError } from '../../lib/api';
import { IconRefresh } from '../icons';
import { Button, ProblemAlert } from '../ui';

/**
 * A failed save. A 412 is explained once, in our words (the server's detail
 * says the same thing again), with a way out.
 */
export function SaveError({ error, onReload, reloading, what = 'gateway' }: { error: unknown; onReload: () => void; reloading?: boolean; what?: string }) {
  if (error instanceof ApiError && error.conflict) {
    return (
      <div data-testid="conflict">
        <ProblemAlert error={new ApiError({ status: 412, title: `This ${what} was changed somewhere else` })}>
          <p class="alert__detail">
            Someone (another tab, a teammate or a script) changed it after you started this edit.
            Your edit was not saved, so nothing was overwritten. Reload to see the latest version, then make your change again.
          </p>
          <div class="alert__actions">
            <Button size="sm" variant="primary" icon={<IconRefresh size={14} />} loading={reloading} loadingText="Reloading…" onClick={onReload}>
              Reload latest version
            </Button>
          </div>
        </ProblemAlert>
      </div>
    );
  }
  return <ProblemAlert error={error} />;
}
