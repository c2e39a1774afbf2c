/**
 * The public-health officer's view: choose a surveillance series (condition and region) — the weekly
 * counts the providers report (only aggregates, counts 1–4 suppressed) or a published reference
 * series — and see its forecast 1–4 weeks ahead with 80 % and 95 % prediction intervals beside the
 * naive and seasonal-naive baselines, with the aberration alerts marked; click an alert to see what
 * fired. The numbers come from the manager's API (GET /api/outbreak/series, /api/outbreak/forecast).
 */
import { useEffect, useState } from 'react';
import type { ForecastMethod, OutbreakReport } from '../../../ml/outbreak-report.js';
import type { OutbreakAlert } from '../../../ml/outbreak-alerts.js';
import { useLoad } from '../lib/use.js';
import { METHOD_LABELS, OutbreakChart } from './OutbreakChart.js';
import './public-health.css';

interface SeriesSummary { condition: string; region: string; label: string; source: 'providers' | 'reference'; citation?: string; weeks: number; suppressedWeeks: number }

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `the manager answered ${res.status}`);
  return body;
}

const fmt = (v: number | undefined) => (v === undefined ? '—' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const WINDOWS = [[52, 'last year'], [104, 'last 2 years'], [0, 'everything']] as const;

export function PublicHealthView() {
  const list = useLoad(() => getJson<{ series: SeriesSummary[]; failed: string[] }>('/api/outbreak/series'), []);
  const [choice, setChoice] = useState<{ condition: string; region: string }>();
  const [horizon, setHorizon] = useState(4);
  const [windowWeeks, setWindowWeeks] = useState(52);
  const [bandOf, setBandOf] = useState<ForecastMethod>('arima');
  const [selected, setSelected] = useState<OutbreakAlert>();
  const series = list.data?.series ?? [];
  useEffect(() => {
    if (!choice && series[0]) setChoice({ condition: series[0].condition, region: series[0].region });
  }, [choice, series]);
  const report = useLoad(
    async () => (choice ? getJson<OutbreakReport>(`/api/outbreak/forecast?condition=${encodeURIComponent(choice.condition)}&region=${encodeURIComponent(choice.region)}&horizon=${horizon}`) : undefined),
    [choice?.condition, choice?.region, horizon],
  );
  useEffect(() => setSelected(undefined), [report.data]);

  if (list.error) return <p className="error" role="alert">{list.error}</p>;
  if (!list.data) return <p className="muted">Asking the providers for their weekly counts…</p>;
  const conditions = [...new Set(series.map((x) => x.condition))];
  const regions = series.filter((x) => x.condition === choice?.condition).map((x) => x.region);
  const r = report.data;
  const from = r ? Math.max(0, windowWeeks ? r.counts.length - windowWeeks : 0) : 0;
  return (
    <div className="public-health">
      <h3>Outbreak surveillance</h3>
      <p className="muted">Only aggregates reach you: each provider sends weekly counts per condition and region of its patients who consented to surveillance, counts of 1–4 suppressed.</p>
      {list.data.failed.map((f) => <p key={f} className="error">Not reported: {f}</p>)}
      <fieldset>
        <legend>Series</legend>
        <label>Condition{' '}
          <select data-testid="outbreak-condition" value={choice?.condition ?? ''} onChange={(e) => setChoice({ condition: e.target.value, region: series.find((x) => x.condition === e.target.value)!.region })}>
            {conditions.map((c) => <option key={c} value={c}>{c.replace(/-/g, ' ')}</option>)}
          </select>
        </label>
        <label>Region{' '}
          <select data-testid="outbreak-region" value={choice?.region ?? ''} onChange={(e) => setChoice({ condition: choice!.condition, region: e.target.value })}>
            {regions.map((g) => <option key={g} value={g}>{g}</option>)}
          </select>
        </label>
        <label>Weeks ahead{' '}
          <select data-testid="outbreak-horizon" value={horizon} onChange={(e) => setHorizon(Number(e.target.value))}>
            {[1, 2, 3, 4].map((h) => <option key={h} value={h}>{h}</option>)}
          </select>
        </label>
        <label>Show{' '}
          <select data-testid="outbreak-window" value={windowWeeks} onChange={(e) => setWindowWeeks(Number(e.target.value))}>
            {WINDOWS.map(([w, text]) => <option key={w} value={w}>{text}</option>)}
          </select>
        </label>
        <label>Band of{' '}
          <select data-testid="outbreak-band-method" value={bandOf} onChange={(e) => setBandOf(e.target.value as ForecastMethod)}>
            {(Object.keys(METHOD_LABELS) as ForecastMethod[]).map((m) => <option key={m} value={m}>{METHOD_LABELS[m]}</option>)}
          </select>
        </label>
      </fieldset>
      {report.error && <p className="error" role="alert">{report.error}</p>}
      {report.loading && <p className="muted" data-testid="outbreak-loading">Fitting the models…</p>}
      {r && !report.loading && <Report r={r} from={from} bandOf={bandOf} selected={selected} onSelect={setSelected} />}
    </div>
  );
}

function Report({ r, from, bandOf, selected, onSelect }: { r: OutbreakReport; from: number; bandOf: ForecastMethod; selected?: OutbreakAlert; onSelect: (a: OutbreakAlert) => void }) {
  const alerts = r.alerts.filter((a) => a.index >= from);
  return (
    <section className="panel" data-testid="outbreak-report" aria-live="polite">
      <h4 data-testid="outbreak-label">{r.label}</h4>
      {r.citation && <p className="muted" data-testid="outbreak-citation">Source: {r.citation}</p>}
      {r.suppressed.some(Boolean) && <p className="muted">Hollow points: weeks a provider reported 1–4 cases without the number; the models take them as 2.5.</p>}
      <OutbreakChart report={r} from={from} bandOf={bandOf} selected={selected} onSelect={onSelect} />
      <p className="legend muted">
        <span className="key band95" /> 95 % and <span className="key band80" /> 80 % prediction intervals of {METHOD_LABELS[bandOf]} ·
        {' '}<span className="key line-arima" /> ARIMA · <span className="key line-naive" /> naive · <span className="key line-seasonalNaive" /> seasonal naive ·
        {' '}alerts: <span className="key alert" /> Farrington-style, <span className="key alert c2" /> EARS C2 (click one for what fired)
      </p>
      {selected && (
        <div className="alert-detail" role="status" data-testid="alert-detail">
          <strong>{selected.week}: {selected.detector === 'farrington' ? 'Farrington-style detector' : 'EARS C2'}</strong>
          <p>{selected.observed} observed, {fmt(selected.expected)} expected; alarm above {fmt(selected.threshold)}.</p>
          <p className="muted">{selected.why}</p>
        </div>
      )}
      <h5>Forecast</h5>
      <table data-testid="forecast-table">
        <caption className="muted">{r.intervals.method}, calibrated on the last {r.intervals.calibrationWeeks} weeks{r.arima ? `; ARIMA ${JSON.stringify(r.arima.spec.order)} on ${r.arima.spec.transform}` : ''}</caption>
        <thead><tr><th>Week</th>{(Object.keys(METHOD_LABELS) as ForecastMethod[]).map((m) => <th key={m}>{METHOD_LABELS[m]}: forecast (80 %; 95 %)</th>)}</tr></thead>
        <tbody>
          {r.forecastWeeks.map((week, h) => (
            <tr key={week}>
              <td>{week}</td>
              {(Object.keys(METHOD_LABELS) as ForecastMethod[]).map((m) => {
                const b = r.forecasts[m];
                return <td key={m}>{b ? `${fmt(b.mean[h])} (${fmt(b.lower80[h])}–${fmt(b.upper80[h])}; ${fmt(b.lower95[h])}–${fmt(b.upper95[h])})` : 'not available'}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {Object.entries(r.unavailable).map(([m, why]) => <p key={m} className="muted">{METHOD_LABELS[m as ForecastMethod]}: {why}.</p>)}
      <h5>Alerts shown ({alerts.length}{alerts.length === r.alerts.length ? '' : ` of ${r.alerts.length} in the whole series`})</h5>
      {alerts.length === 0 ? <p className="muted" data-testid="no-alerts">No alerts in these weeks.</p> : (
        <table data-testid="alerts-table">
          <thead><tr><th>Week</th><th>Detector</th><th>Observed</th><th>Expected</th><th>Threshold</th><th></th></tr></thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={`${a.index}/${a.detector}`} className={selected === a ? 'selected' : ''}>
                <td>{a.week}</td><td>{a.detector}</td><td>{a.observed}</td><td>{fmt(a.expected)}</td><td>{fmt(a.threshold)}</td>
                <td><button className="link" onClick={() => onSelect(a)}>What fired</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details>
        <summary>Weekly counts as a table</summary>
        <table data-testid="counts-table">
          <thead><tr><th>Week</th><th>Cases</th></tr></thead>
          <tbody>{r.weeks.slice(from).map((w, i) => <tr key={w}><td>{w}</td><td>{r.suppressed[from + i] ? '1–4 (suppressed)' : r.counts[from + i]}</td></tr>)}</tbody>
        </table>
      </details>
    </section>
  );
}
