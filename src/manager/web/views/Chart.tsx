/**
 * A small SVG line chart of one measurement over time: a value axis labelled with the unit, a date
 * axis, the reference range as a shaded band with a legend entry, and the same numbers as a table
 * (a screen reader gets the aria-label's summary and the table; https://www.w3.org/WAI/tutorials/images/complex/).
 */
import './chart/chart.css';
import { TableScroll } from './chart/TableScroll.js';

export interface Point {
  date: string;
  value: number;
}

const decimalsOf = (n: number) => (String(n).split('.')[1] ?? '').length;

/** "4.0–5.6 %", "≤ 199 mg/dL", "≥ 50 mg/dL": both limits with as many decimals as the finer one. */
export function rangeLabel(low: number | undefined, high: number | undefined, unit: string): string | undefined {
  const d = Math.max(decimalsOf(low ?? 0), decimalsOf(high ?? 0));
  const f = (n: number) => n.toFixed(d);
  if (low !== undefined && high !== undefined) return `${f(low)}–${f(high)} ${unit}`.trim();
  if (high !== undefined) return `≤ ${f(high)} ${unit}`.trim();
  if (low !== undefined) return `≥ ${f(low)} ${unit}`.trim();
  return undefined;
}

const W = 560;
const H = 220;
const PAD = { l: 56, r: 12, t: 12, b: 44 };

function Axes({ unit, vMin, vMax, first, last, y }: { unit: string; vMin: number; vMax: number; first: string; last: string; y: (v: number) => number }) {
  const midY = (PAD.t + H - PAD.b) / 2;
  return (
    <g className="chart-axis">
      <line x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} className="chart-axis-line" />
      <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} className="chart-axis-line" />
      <text x={PAD.l - 4} y={y(vMax) + 4} textAnchor="end">{Number(vMax.toFixed(2))}</text>
      <text x={PAD.l - 4} y={y(vMin) + 4} textAnchor="end">{Number(vMin.toFixed(2))}</text>
      <text x={14} y={midY} transform={`rotate(-90 14 ${midY})`} textAnchor="middle" className="chart-axis-title" data-testid="chart-value-axis">{`Value (${unit || 'no unit'})`}</text>
      <text x={PAD.l} y={H - PAD.b + 14}>{first}</text>
      <text x={W - PAD.r} y={H - PAD.b + 14} textAnchor="end">{last}</text>
      <text x={(PAD.l + W - PAD.r) / 2} y={H - 6} textAnchor="middle" className="chart-axis-title" data-testid="chart-date-axis">Date of test</text>
    </g>
  );
}

export function TrendChart({ title, unit, points, low, high }: { title: string; unit: string; points: Point[]; low?: number; high?: number }) {
  const sorted = [...points].sort((a, b) => a.date.localeCompare(b.date));
  if (sorted.length === 0) return null;
  const times = sorted.map((p) => Date.parse(p.date));
  const values = sorted.map((p) => p.value);
  const vMin = Math.min(...values, low ?? Infinity);
  const vMax = Math.max(...values, high ?? -Infinity);
  const span = vMax - vMin || 1;
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (t: number) => PAD.l + 6 + ((t - t0) / (t1 - t0 || 1)) * (W - PAD.l - PAD.r - 12);
  const y = (v: number) => PAD.t + (1 - (v - (vMin - 0.1 * span)) / (1.2 * span)) * (H - PAD.t - PAD.b);
  const path = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(times[i]!).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const range = rangeLabel(low, high, unit);
  const first = sorted[0]!.date.slice(0, 10);
  const last = sorted[sorted.length - 1]!.date.slice(0, 10);
  const latest = sorted[sorted.length - 1]!;
  const bandTop = y(high ?? vMax + 0.1 * span);
  const bandBottom = y(low ?? vMin - 0.1 * span);
  const summary = `${title}: ${sorted.length} results from ${first} to ${last}, latest ${latest.value} ${unit}${range ? `; normal range ${range}` : ''}.`;
  return (
    <figure className="trend">
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} data-testid="trend-chart">
        {range && <rect x={PAD.l} width={W - PAD.l - PAD.r} y={bandTop} height={Math.max(0, bandBottom - bandTop)} className="chart-range" />}
        <Axes unit={unit} vMin={vMin} vMax={vMax} first={first} last={last} y={y} />
        <path d={path} className="chart-line" />
        {sorted.map((p, i) => (
          <circle key={i} cx={x(times[i]!)} cy={y(p.value)} r={3.5} className="chart-dot">
            <title>{`${p.date.slice(0, 10)}: ${p.value} ${unit}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption className="chart-legend" data-testid="chart-legend">
        <span><span className="legend-swatch legend-line" aria-hidden="true" /> {title} ({unit || 'no unit'})</span>
        {range && <span><span className="legend-swatch legend-range" aria-hidden="true" /> Normal range {range}</span>}
      </figcaption>
      <details className="chart-data">
        <summary>Show these results as a table</summary>
        <TableScroll label={`${title} results table`}>
          <table data-testid="chart-data">
            <caption>{title}</caption>
            <thead><tr><th scope="col">Date</th><th scope="col">Value ({unit || 'no unit'})</th></tr></thead>
            <tbody>{sorted.map((p, i) => <tr key={i}><td>{p.date.slice(0, 10)}</td><td>{p.value}</td></tr>)}</tbody>
          </table>
        </TableScroll>
      </details>
    </figure>
  );
}
