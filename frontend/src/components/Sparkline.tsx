// Health-check latency over time, newest on the right; each sample's dot is
// coloured by its outcome, failures drawn on the baseline in red.
import type { HealthSample } from '../lib/types';
import { absoluteTime, ms } from '../lib/format';

export const OUTCOME_LABELS: Record<string, string> = {
  ok: 'OK',
  invalid_credentials: 'Invalid credentials',
  rate_limited: 'Rate limited',
  unreachable: 'Unreachable',
  provider_error: 'Provider error',
};

export function Sparkline({ samples, width = 320, height = 64 }: { samples: HealthSample[]; width?: number; height?: number }) {
  // The API returns newest first; draw oldest → newest.
  const pts = [...samples].reverse();
  if (!pts.length) return null;
  const pad = 6;
  const max = Math.max(1, ...pts.map((s) => (s.result === 'ok' ? s.latencyMs : 0)));
  const x = (i: number) => (pts.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (pts.length - 1));
  const y = (s: HealthSample) => (s.result === 'ok' ? height - pad - ((height - 2 * pad) * s.latencyMs) / max : height - pad);
  const ok = pts.map((s, i) => ({ s, i })).filter((p) => p.s.result === 'ok');
  const line = ok.map(({ s, i }, k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(s).toFixed(1)}`).join(' ');
  const okCount = ok.length;
  return (
    <svg
      class="sparkline" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" width="100%" height={height}
      role="img" aria-label={`${pts.length} health checks, ${okCount} OK, slowest ${ms(max)}`} data-testid="sparkline"
    >
      <line x1={pad} x2={width - pad} y1={height - pad} y2={height - pad} class="sparkline__base" />
      {line && <path d={line} class="sparkline__line" vector-effect="non-scaling-stroke" />}
      {pts.map((s, i) => (
        <circle cx={x(i)} cy={y(s)} r={s.result === 'ok' ? 2.5 : 3.5} class={`sparkline__dot sparkline__dot--${s.result === 'ok' ? 'ok' : 'fail'}`} vector-effect="non-scaling-stroke">
          <title>{`${absoluteTime(s.at)} — ${OUTCOME_LABELS[s.result] ?? s.result}${s.result === 'ok' ? `, ${ms(s.latencyMs)}` : ''}`}</title>
        </circle>
      ))}
    </svg>
  );
}
