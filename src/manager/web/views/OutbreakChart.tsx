/**
 * The public-health chart: weekly counts (suppressed weeks hollow), the forecast of each method with
 * the chosen method's 80 % and 95 % prediction bands, and the aberration alerts as markers one can
 * click (or focus and press Enter) to see what fired. An SVG; PublicHealth.tsx has the same numbers
 * as tables.
 */
import type { ForecastMethod, OutbreakReport } from '../../../ml/outbreak-report.js';
import type { OutbreakAlert } from '../../../ml/outbreak-alerts.js';

export const METHOD_LABELS: Record<ForecastMethod, string> = { arima: 'ARIMA', naive: 'Naive', seasonalNaive: 'Seasonal naive' };

interface Props {
  report: OutbreakReport;
  /** First week shown (index into report.weeks). */
  from: number;
  bandOf: ForecastMethod;
  selected?: OutbreakAlert;
  onSelect: (alert: OutbreakAlert) => void;
}

const W = 860;
const H = 300;
const PAD = { l: 40, r: 16, t: 26, b: 30 };

export function OutbreakChart({ report, from, bandOf, selected, onSelect }: Props) {
  const shown = report.counts.slice(from);
  const last = report.counts.length - 1;
  const slots = shown.length + report.horizon;
  const band = report.forecasts[bandOf];
  const forecastMax = Math.max(0, ...Object.values(report.forecasts).flatMap((b) => (b ? [...b.mean, ...(b === band ? b.upper95 : [])] : [])));
  const top = Math.max(1, ...shown, forecastMax) * 1.12;
  const x = (index: number) => PAD.l + ((index - from) / Math.max(1, slots - 1)) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - v / top) * (H - PAD.t - PAD.b);
  const point = (index: number, v: number) => `${x(index).toFixed(1)},${y(v).toFixed(1)}`;
  const ahead = (values: number[]) => values.map((v, h) => point(last + h + 1, v));
  // Bands start at the last observed week, so they read as growing out of it.
  const area = (lower: number[], upper: number[]) => [point(last, report.counts[last]!), ...ahead(upper), ...ahead(lower).reverse()].join(' ');
  const alerts = report.alerts.filter((a) => a.index >= from);
  return (
    <svg className="chart outbreak-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${report.label}: weekly counts, forecast ${report.horizon} weeks ahead with 80 % and 95 % prediction intervals, ${alerts.length} alerts`} data-testid="outbreak-chart">
      <text x={PAD.l} y={15} className="chart-title">Cases per week</text>
      {band && <polygon points={area(band.lower95, band.upper95)} className="band95" data-testid="forecast-band-95"><title>{`${METHOD_LABELS[bandOf]} 95 % prediction interval`}</title></polygon>}
      {band && <polygon points={area(band.lower80, band.upper80)} className="band80" data-testid="forecast-band-80"><title>{`${METHOD_LABELS[bandOf]} 80 % prediction interval`}</title></polygon>}
      <polyline points={shown.map((v, i) => point(from + i, v)).join(' ')} className="chart-line" />
      {shown.map((v, i) => (
        <circle key={i} cx={x(from + i)} cy={y(v)} r={report.suppressed[from + i] ? 3 : 2} className={report.suppressed[from + i] ? 'suppressed' : 'chart-dot'}>
          <title>{`${report.weeks[from + i]}: ${report.suppressed[from + i] ? '1–4 cases (suppressed)' : `${v} cases`}`}</title>
        </circle>
      ))}
      {(Object.keys(METHOD_LABELS) as ForecastMethod[]).map((m) => {
        const b = report.forecasts[m];
        return b && <polyline key={m} points={[point(last, report.counts[last]!), ...ahead(b.mean)].join(' ')} className={`forecast forecast-${m}`} data-testid={`forecast-line-${m}`}><title>{`${METHOD_LABELS[m]} forecast`}</title></polyline>;
      })}
      {alerts.map((a) => (
        <g key={`${a.index}/${a.detector}`} role="button" tabIndex={0} aria-label={`Alert ${a.week}, ${a.detector}: ${a.observed} observed, ${a.expected} expected`}
          className={`alert-marker alert-${a.detector}${selected === a ? ' selected' : ''}`} data-testid="outbreak-alert"
          onClick={() => onSelect(a)} onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect(a)}>
          <path d={`M${x(a.index)},${y(a.observed) - 6} l-6,-10 h12 z`} transform={a.detector === 'ears-c2' ? `translate(0,-12)` : undefined} />
          <title>{a.why}</title>
        </g>
      ))}
      <line x1={x(last + 0.5)} x2={x(last + 0.5)} y1={PAD.t} y2={H - PAD.b} className="now-line" />
      <text x={4} y={y(top / 1.12) + 4} className="chart-axis">{Math.round(top / 1.12)}</text>
      <text x={4} y={y(0) + 4} className="chart-axis">0</text>
      <text x={PAD.l} y={H - 8} className="chart-axis">{report.weeks[from]}</text>
      <text x={x(last + 0.5) - 4} y={H - 8} textAnchor="end" className="chart-axis">{report.weeks[last]}</text>
      <text x={x(last + 0.5) + 4} y={PAD.t - 4} className="chart-axis">forecast</text>
      <text x={W - PAD.r} y={H - 8} textAnchor="end" className="chart-axis">{report.forecastWeeks.at(-1)}</text>
    </svg>
  );
}
