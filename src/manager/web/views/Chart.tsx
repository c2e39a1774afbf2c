/** A small SVG line chart of one measurement over time, with its reference range as a band. */
export interface Point {
  date: string;
  value: number;
}

export function TrendChart({ title, unit, points, low, high }: { title: string; unit: string; points: Point[]; low?: number; high?: number }) {
  const w = 560;
  const h = 180;
  const pad = { l: 44, r: 12, t: 22, b: 26 };
  const sorted = [...points].sort((a, b) => a.date.localeCompare(b.date));
  if (sorted.length === 0) return null;
  const times = sorted.map((p) => Date.parse(p.date));
  const values = sorted.map((p) => p.value);
  const vMin = Math.min(...values, low ?? Infinity);
  const vMax = Math.max(...values, high ?? -Infinity);
  const span = vMax - vMin || 1;
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0 || 1)) * (w - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - (vMin - 0.1 * span)) / (1.2 * span)) * (h - pad.t - pad.b);
  const path = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(times[i]!).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  return (
    <svg className="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${title} over time`} data-testid="trend-chart">
      <text x={pad.l} y={14} className="chart-title">{`${title} (${unit})`}</text>
      {low !== undefined && high !== undefined && (
        <rect x={pad.l} width={w - pad.l - pad.r} y={y(high)} height={Math.max(0, y(low) - y(high))} className="chart-range" />
      )}
      <path d={path} className="chart-line" />
      {sorted.map((p, i) => (
        <circle key={i} cx={x(times[i]!)} cy={y(p.value)} r={3} className="chart-dot">
          <title>{`${p.date.slice(0, 10)}: ${p.value} ${unit}`}</title>
        </circle>
      ))}
      <text x={4} y={y(vMax) + 4} className="chart-axis">{Number(vMax.toFixed(1))}</text>
      <text x={4} y={y(vMin) + 4} className="chart-axis">{Number(vMin.toFixed(1))}</text>
      <text x={pad.l} y={h - 6} className="chart-axis">{sorted[0]!.date.slice(0, 10)}</text>
      <text x={w - pad.r} y={h - 6} textAnchor="end" className="chart-axis">{sorted[sorted.length - 1]!.date.slice(0, 10)}</text>
    </svg>
  );
}
