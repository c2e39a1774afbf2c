/**
 * What each input added to the risk, as horizontal bars around zero (log-odds; right raises the risk,
 * left lowers it), with the model's baseline (intercept) and the sum, which is the logit the
 * probability comes from. The same numbers follow as a table, for screen readers and for checking.
 */
import { useId } from 'react';
import type { HeartAssessment } from '../../../../ml/heart/types.js';
import { signed } from '../../lib/ml.js';

const W = 640;
const ROW = 22;
const LABEL = 250;
/** Room on each side for a bar's value, so a long bar's number never runs into the labels. */
const PAD = 48;

interface Bar {
  key: string;
  label: string;
  value: number;
  kind: 'input' | 'imputed' | 'baseline';
}

function barsOf(a: HeartAssessment): Bar[] {
  const inputs = [...a.inputs]
    .sort((x, y) => Math.abs(y.contribution) - Math.abs(x.contribution))
    .map((i): Bar => ({ key: i.feature, label: i.label, value: i.contribution, kind: i.status === 'observed' ? 'input' : 'imputed' }));
  return [...inputs, { key: 'intercept', label: 'Baseline (intercept)', value: a.intercept, kind: 'baseline' }];
}

export function ContributionChart({ assessment }: { assessment: HeartAssessment }) {
  const captionId = useId();
  const bars = barsOf(assessment);
  const max = Math.max(...bars.map((b) => Math.abs(b.value)), 0.1);
  const half = (W - LABEL - 2 * PAD) / 2;
  const zero = LABEL + PAD + half;
  const h = bars.length * ROW + 34;
  const x = (v: number) => zero + (v / max) * half;
  return (
    <figure className="contributions">
      <svg viewBox={`0 0 ${W} ${h}`} className="chart" role="img" aria-labelledby={captionId} data-testid="contribution-chart">
        <line x1={zero} x2={zero} y1={4} y2={h - 26} className="contrib-zero" />
        {bars.map((b, i) => (
          <g key={b.key} data-testid="contribution-bar" data-feature={b.key}>
            <text x={LABEL} y={i * ROW + 18} textAnchor="end" className="contrib-label">{b.label}{b.kind === 'imputed' ? ' *' : ''}</text>
            <rect
              x={Math.min(x(0), x(b.value))}
              y={i * ROW + 6}
              width={Math.max(1, Math.abs(x(b.value) - x(0)))}
              height={ROW - 8}
              className={`contrib-bar ${b.kind} ${b.value >= 0 ? 'up' : 'down'}`}
            >
              <title>{`${b.label}: ${signed(b.value)} log-odds`}</title>
            </rect>
            <text x={b.value >= 0 ? x(b.value) + 4 : x(b.value) - 4} y={i * ROW + 18} textAnchor={b.value >= 0 ? 'start' : 'end'} className="chart-axis">{signed(b.value)}</text>
          </g>
        ))}
        <text x={zero - 6} y={h - 8} textAnchor="end" className="chart-axis">← lowers the risk</text>
        <text x={zero + 6} y={h - 8} className="chart-axis">raises the risk →</text>
      </svg>
      <figcaption id={captionId}>
        What each input added to the risk, in log-odds (bars marked * used a stand-in value because the input was missing). Baseline + all inputs ={' '}
        <strong data-testid="heart-logit">{signed(assessment.logit)}</strong> log-odds, the score the probability is computed from.
      </figcaption>
      <details>
        <summary>The same as a table</summary>
        <table data-testid="contribution-table">
          <caption className="sr-only">Contribution of each input to the log-odds</caption>
          <thead><tr><th scope="col">Input</th><th scope="col">Adds (log-odds)</th></tr></thead>
          <tbody>
            {bars.map((b) => <tr key={b.key}><th scope="row">{b.label}{b.kind === 'imputed' ? ' (stand-in value)' : ''}</th><td>{signed(b.value, 3)}</td></tr>)}
          </tbody>
          <tfoot><tr><th scope="row">Sum = logit</th><td>{signed(assessment.logit, 3)}</td></tr></tfoot>
        </table>
      </details>
    </figure>
  );
}
