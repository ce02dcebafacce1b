import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError } from '../../lib/api';
import { ms, relativeTime } from '../../lib/format';
import type { HealthSample } from '../../lib/types';
import { IconPulse } from '../icons';
import { Sparkline } from '../Sparkline';
import { Card, ProblemAlert, Skeleton } from '../ui';

/** Recent health checks. Hidden entirely where the server has no health route. */
export function HealthPanel({ gatewayId, refreshKey }: { gatewayId: string; refreshKey: number }) {
  const { api } = useApp();
  const [samples, setSamples] = useState<HealthSample[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [unavailable, setUnavailable] = useState(false);

  useEffect(() => {
    const ac = new AbortController();
    api.health(gatewayId, ac.signal).then(
      (s) => { setSamples(s); setError(null); },
      (e) => {
        if (ac.signal.aborted) return;
        if (e instanceof ApiError && e.unavailable) setUnavailable(true);
        else setError(e);
      },
    );
    return () => ac.abort();
  }, [api, gatewayId, refreshKey]);

  if (unavailable) return null;
  const ok = samples?.filter((s) => s.result === 'ok') ?? [];
  const avg = ok.length ? ok.reduce((a, s) => a + s.latencyMs, 0) / ok.length : null;
  return (
    <Card title="Health" icon={<IconPulse size={18} />} id="health">
      {error ? <ProblemAlert error={error} compact /> : samples === null ? <Skeleton lines={2} /> : samples.length === 0 ? (
        <p class="muted">No health checks yet. They run every few minutes once the gateway exists.</p>
      ) : (
        <>
          <Sparkline samples={samples} />
          <div class="health-stats">
            <span><strong>{Math.round((ok.length / samples.length) * 100)}%</strong> OK</span>
            <span><strong>{ms(avg)}</strong> average</span>
            <span>last {relativeTime(samples[0].at)}</span>
          </div>
        </>
      )}
    </Card>
  );
}
