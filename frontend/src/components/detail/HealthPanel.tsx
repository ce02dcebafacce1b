import { useEffect } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ms, relativeTime } from '../../lib/format';
import { useFetch } from '../../lib/use-fetch';
import type { GatewayStatus, HealthSample } from '../../lib/types';
import { IconPulse } from '../icons';
import { Sparkline } from '../Sparkline';
import { Card, ProblemAlert, Skeleton } from '../ui';
import { useReportGone } from './gateway-scope';

/** What the Health card says about checks to come: the sweep skips a DISCONNECTED gateway. */
export const HEALTH_PAUSED = 'Checks are paused while the gateway is disconnected. They resume when you connect it.';

/** Recent health checks, and whether more are coming. */
export function HealthPanel({ gatewayId, status, refreshKey }: { gatewayId: string; status: GatewayStatus; refreshKey: number }) {
  const { api } = useApp();
  const reportGone = useReportGone();
  const { data: samples, error } = useFetch<HealthSample[]>((signal) => api.health(gatewayId, signal), [api, gatewayId, refreshKey]);
  useEffect(() => reportGone(error), [error]);

  const ok = samples?.filter((s) => s.result === 'ok') ?? [];
  const avg = ok.length ? ok.reduce((a, s) => a + s.latencyMs, 0) / ok.length : null;
  return (
    <Card title="Health" icon={<IconPulse size={18} />} id="health">
      {status === 'DISCONNECTED' && <p class="muted" data-testid="health-paused">{HEALTH_PAUSED}</p>}
      {error ? <ProblemAlert error={error} compact /> : samples === null ? <Skeleton lines={2} /> : samples.length === 0 ? (
        status === 'DISCONNECTED' ? null : <p class="muted">No health checks yet. They run every few minutes while the gateway is connected.</p>
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
