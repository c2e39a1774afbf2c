/**
 * A study's results as its sponsor published them (issue 16 §6): per-site held-out AUC and
 * calibration, the pooled figures, rounds and communication, the privacy spent, whether the model's
 * hash is the one recorded on chain, and the model card.
 */
import type { StudyEntry } from '../../lib/studies.js';
import { loadResults, type PublishedStudyResults } from '../../lib/studies.js';
import { useLoad } from '../../lib/use.js';
import { ModelCardView } from '../ml/ModelCardView.js';

const figure = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));

export function StudyResults({ st, version }: { st: StudyEntry; version: number }) {
  const results = useLoad(() => loadResults<PublishedStudyResults>(st.studyId), [st.studyId, version, st.hasResults]);
  if (results.error) return <p className="error">{results.error}</p>;
  if (!results.data) return results.loading ? null : <p className="muted" data-testid="no-results">No results yet.</p>;
  const { run, card } = results.data;
  const onChain = st.chain.result?.modelHash.toLowerCase() === run.modelHash.toLowerCase();
  return (
    <div data-testid="study-results">
      <h4>Results</h4>
      <table data-testid="site-results">
        <thead><tr><th>Site</th><th>Training patients</th><th>Held-out patients</th><th>AUC</th><th>Calibration error (ECE)</th></tr></thead>
        <tbody>
          {run.sites.map((x) => (
            <tr key={x.provider} data-testid="site-result">
              <td>{x.name ?? x.provider}</td>
              {x.evaluation ? (
                <><td>{x.evaluation.trainRows}</td><td>{x.evaluation.testRows}</td><td>{figure(x.evaluation.auc)}</td><td>{figure(x.evaluation.ece)}</td></>
              ) : <td colSpan={4} className="muted">{x.error}</td>}
            </tr>
          ))}
          <tr><th>All sites (pooled)</th><td></td><td>{run.pooled.testRows}</td><td>{figure(run.pooled.auc)}</td><td>{figure(run.pooled.ece)}</td></tr>
        </tbody>
      </table>
      <p>
        {run.rounds.length} rounds, {Math.round(run.bytesPerRound / 1024)} KiB exchanged per round, {(run.roundMs / 1000).toFixed(1)} s per round;
        privacy spent ε = {run.epsilonSpent.toFixed(3)} of {st.definition.privacy.epsilon} (δ = {st.definition.privacy.delta}).{' '}
        <span className={`badge ${onChain ? 'ok' : 'error'}`} data-testid="result-on-chain">{onChain ? 'model hash matches the chain' : 'model hash not on chain'}</span>
      </p>
      <ModelCardView card={card} json={`/api/studies/${st.studyId}/results`} />
    </div>
  );
}
