/**
 * A model card (src/ml/card.ts; Mitchell et al., FAT* 2019, https://arxiv.org/abs/1810.03993) as a
 * page: what the model is for and not for, what it learnt from and under which licence, how well it
 * does with 95 % intervals, how well calibrated it is, per sex and per site, published figures to
 * compare with, its limitations, and the on-chain record tying it to its consent set.
 */
import type { CalibrationBin, MetricEstimate, ModelCard } from '../../../../ml/card.js';
import { percent } from '../../lib/ml.js';

const est = (m: MetricEstimate, digits = 3): string => `${m.value.toFixed(digits)} (95 % CI ${m.low.toFixed(digits)}–${m.high.toFixed(digits)}, n = ${m.n})`;

/** Reliability diagram: mean predicted vs observed rate per bin; on the diagonal = well calibrated. */
function ReliabilityDiagram({ bins }: { bins: CalibrationBin[] }) {
  const s = 200;
  const p = 28;
  const at = (v: number) => p + v * (s - 2 * p);
  const used = bins.filter((b) => b.count > 0);
  return (
    <svg viewBox={`0 0 ${s} ${s}`} className="chart reliability" role="img" aria-label="Reliability diagram: observed rate against mean predicted probability per bin">
      <line x1={at(0)} y1={s - at(0)} x2={at(1)} y2={s - at(1)} className="contrib-zero" />
      <polyline points={used.map((b) => `${at(b.meanPredicted)},${s - at(b.observedRate)}`).join(' ')} className="chart-line" />
      {used.map((b, i) => <circle key={i} cx={at(b.meanPredicted)} cy={s - at(b.observedRate)} r={3} className="chart-dot"><title>{`${b.count} cases: predicted ${percent(b.meanPredicted)}, observed ${percent(b.observedRate)}`}</title></circle>)}
      <text x={s / 2} y={s - 4} textAnchor="middle" className="chart-axis">predicted</text>
      <text x={10} y={s / 2} textAnchor="middle" className="chart-axis" transform={`rotate(-90 10 ${s / 2})`}>observed</text>
    </svg>
  );
}

function Performance({ card }: { card: ModelCard }) {
  return (
    <>
      <h4>How well it does</h4>
      <p>{card.evaluation}</p>
      <table data-testid="card-metrics">
        <thead><tr><th scope="col">Metric</th><th scope="col">Value (95 % interval; the method is in the text above)</th></tr></thead>
        <tbody>{Object.entries(card.metrics).map(([k, m]) => <tr key={k}><th scope="row">{k}</th><td>{est(m)}</td></tr>)}</tbody>
      </table>
      {card.operatingPoint && (
        <p data-testid="card-operating-point">
          At the threshold {percent(card.operatingPoint.threshold)}: sensitivity {est(card.operatingPoint.sensitivity, 2)}, specificity {est(card.operatingPoint.specificity, 2)}.
        </p>
      )}
      {card.calibration && (
        <div className="calibration">
          <h4>Calibration</h4>
          <p>Expected calibration error (ECE): <strong data-testid="card-ece">{est(card.calibration.ece)}</strong></p>
          <ReliabilityDiagram bins={card.calibration.bins} />
          <table data-testid="card-calibration">
            <thead><tr><th scope="col">Predicted</th><th scope="col">Cases</th><th scope="col">Mean predicted</th><th scope="col">Observed rate</th></tr></thead>
            <tbody>{card.calibration.bins.map((b) => <tr key={b.lower}><td>{percent(b.lower)}–{percent(b.upper)}</td><td>{b.count}</td><td>{b.count ? percent(b.meanPredicted) : '—'}</td><td>{b.count ? percent(b.observedRate) : '—'}</td></tr>)}</tbody>
          </table>
        </div>
      )}
      <h4>Per sex and per site</h4>
      <table data-testid="card-subgroups">
        <thead><tr><th scope="col">Group</th><th scope="col">Cases (with disease)</th><th scope="col">AUC (95 % interval)</th></tr></thead>
        <tbody>
          {card.subgroups.map((g) => (
            <tr key={`${g.by}/${g.group}`}><th scope="row">{g.by}: {g.group}</th><td>{g.n} ({g.positives})</td><td>{g.auc ? est(g.auc) : 'undefined (one outcome only)'}</td></tr>
          ))}
        </tbody>
      </table>
      {card.published.length > 0 && (
        <>
          <h4>Published figures to compare with</h4>
          <ul data-testid="card-published">{card.published.map((f, i) => <li key={i}>{f.metric} {f.value}: {f.source}</li>)}</ul>
        </>
      )}
    </>
  );
}

function Provenance({ card }: { card: ModelCard }) {
  const t = card.trainingData;
  return (
    <>
      <h4>Training data</h4>
      <p data-testid="card-training">
        <strong>{t.name}</strong>: {t.rows} cases{t.positives !== undefined ? `, ${t.positives} with the outcome` : ''}. Licence: {t.licence}. Source: {t.source}. Cite as: {t.citation}
      </p>
      <p>Population: {t.population}</p>
      <h4>Record on the chain</h4>
      {card.onChain ? (
        <dl className="hashes" data-testid="card-on-chain">
          <dt>Model registry</dt><dd><code>{card.onChain.registry}</code></dd>
          <dt>Model hash</dt><dd><code>{card.onChain.modelHash}</code></dd>
          <dt>Consent-set hash</dt><dd><code>{card.onChain.consentSetHash}</code></dd>
          {card.onChain.transactionHash && <><dt>Transaction</dt><dd><code>{card.onChain.transactionHash}</code>{card.onChain.blockNumber ? ` (block ${card.onChain.blockNumber})` : ''}</dd></>}
        </dl>
      ) : (
        <p data-testid="card-on-chain">Not recorded on chain. Model hash <code>{card.modelHash}</code>; consent-set hash <code>{card.consentSetHash}</code>.</p>
      )}
    </>
  );
}

/** `json`: where the card is served as JSON (default: the served models' card route). */
export function ModelCardView({ card, json = `/api/ml/models/${encodeURIComponent(card.id)}/card` }: { card: ModelCard; json?: string }) {
  return (
    <article className="panel model-card" data-testid="model-card" aria-label={`Model card: ${card.name}`}>
      <h3>Model card: {card.name} <span className="muted">version {card.version}</span></h3>
      <h4>Intended use</h4>
      <p data-testid="card-intended-use">{card.intendedUse}</p>
      <h4>Not for</h4>
      <ul data-testid="card-not-for">{card.notFor.map((x, i) => <li key={i}>{x}</li>)}</ul>
      <Provenance card={card} />
      <Performance card={card} />
      <h4>Limitations</h4>
      <ul data-testid="card-limitations">{card.limitations.map((x, i) => <li key={i}>{x}</li>)}</ul>
      <p className="muted">As JSON: <a href={json} target="_blank" rel="noreferrer">{json}</a></p>
    </article>
  );
}
