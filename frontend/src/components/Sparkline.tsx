// Health-check latency over time, newest on the right. The scale starts at
// zero and its top is never below MIN_SCALE_MS, so a run of 0–1 ms checks
// draws a flat line rather than wild swings. A failed check is drawn apart
// from the latency line: a red band over its slot and a cross on the
// baseline (a shape, not only a colour).
import type { HealthSample } from '../lib/types';
import { absoluteTime, ms } from '../lib/format';

export const OUTCOME_LABELS: Record<string, string> = {
  ok: 'OK',
  invalid_credentials: 'Invalid credentials',
  rate_limited: 'Rate limited',
  unreachable: 'Unreachable',
  provider_error: 'Provider error',
};

/** The smallest top of the latency scale. */
export const MIN_SCALE_MS = 100;

/** The top of the scale: the slowest OK check rounded up to 1, 2 or 5 × 10ⁿ ms, at least MIN_SCALE_MS. */
export function scaleTop(slowest: number): number {
  const v = Math.max(MIN_SCALE_MS, slowest);
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export function Sparkline({ samples, width = 320, height = 64 }: { samples: HealthSample[]; width?: number; height?: number }) {
  // The API returns newest first; draw oldest → newest.
  const pts = [...samples].reverse();
  if (!pts.length) return null;
  const pad = 6;
  const slowest = Math.max(0, ...pts.map((s) => (s.result === 'ok' ? s.latencyMs : 0)));
  const top = scaleTop(slowest);
  const x = (i: number) => (pts.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (pts.length - 1));
  const base = height - pad;
  const y = (s: HealthSample) => (s.result === 'ok' ? base - ((height - 2 * pad) * Math.max(0, s.latencyMs)) / top : base);
  const ok = pts.map((s, i) => ({ s, i })).filter((p) => p.s.result === 'ok');
  const line = ok.map(({ s, i }, k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(s).toFixed(1)}`).join(' ');
  const okCount = ok.length;
  const failed = pts.length - okCount;
  const slot = pts.length === 1 ? 12 : Math.max(4, (width - 2 * pad) / (pts.length - 1));
  const label = `${pts.length} health checks, ${okCount} OK${failed ? `, ${failed} failed` : ''}, slowest ${ms(slowest)}, scale 0–${ms(top)}`;
  return (
    <svg
      class="sparkline" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" width="100%" height={height}
      role="img" aria-label={label} data-testid="sparkline" data-scale-top={top}
    >
      {pts.map((s, i) => s.result === 'ok' ? null : (
        <rect class="sparkline__fail" x={x(i) - slot / 2} y={pad} width={slot} height={height - 2 * pad} />
      ))}
      <line x1={pad} x2={width - pad} y1={base} y2={base} class="sparkline__base" />
      {line && <path d={line} class="sparkline__line" vector-effect="non-scaling-stroke" />}
      {pts.map((s, i) => {
        const title = <title>{`${absoluteTime(s.at)} — ${OUTCOME_LABELS[s.result] ?? s.result}${s.result === 'ok' ? `, ${ms(s.latencyMs)}` : ''}`}</title>;
        if (s.result === 'ok') return <circle cx={x(i)} cy={y(s)} r={2.5} class="sparkline__dot sparkline__dot--ok" vector-effect="non-scaling-stroke">{title}</circle>;
        const cx = x(i);
        const d = `M${cx - 4},${base - 4} L${cx + 4},${base + 4} M${cx - 4},${base + 4} L${cx + 4},${base - 4}`;
        return <path d={d} class="sparkline__dot sparkline__dot--fail" vector-effect="non-scaling-stroke">{title}</path>;
      })}
    </svg>
  );
}
