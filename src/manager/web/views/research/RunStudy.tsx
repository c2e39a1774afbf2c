/**
 * Running a study from the researcher's browser (issue 16 §7): the coordinator (src/ml/research/
 * coordinator.ts) runs here, signed with the researcher's key — it opens each round on chain,
 * relays the sites' secure-aggregation messages and learns only the sum — while a progress bar
 * follows its steps. At the end the model card is built from the sites' aggregates and the results
 * are published on the manager under the researcher's signature.
 */
import { useState } from 'react';
import { studyModelCard } from '../../../../ml/research/card.js';
import { runStudy, type StudyProgress, type StudyRun } from '../../../../ml/research/coordinator.js';
import { studyOf } from '../../../../sdk/studies.js';
import type { Session } from '../../lib/session.js';
import { publishResults, studySites, type StudyEntry } from '../../lib/studies.js';
import { useAction } from '../../lib/use.js';

const PHASE_WORDS: Record<string, string> = {
  opened: 'opened on chain, its privacy spend recorded',
  keys: 'sites exchange keys',
  shares: 'sites share their mask keys',
  masked: 'sites send their masked updates',
  unmask: 'the masks are removed from the sum',
  applied: 'the model takes its step',
};

function progressWords(p: StudyProgress): string {
  if (p.step === 'registered') return 'The study is checked against the chain.';
  if (p.step === 'round') return `Round ${p.round} of ${p.rounds}: ${PHASE_WORDS[p.phase] ?? p.phase} (${p.sites} sites).`;
  if (p.step === 'evaluated') return 'Each site scored the final model on its held-out patients.';
  return 'The model and its consent set are recorded on chain.';
}

/** The model card and the run's report, published under the sponsor's signature. */
async function publish(s: Session, st: StudyEntry, run: StudyRun): Promise<void> {
  const chain = await studyOf(s.ledger, st.studyId);
  const siteNames = Object.fromEntries(studySites(s.config).map((p) => [p.address.toLowerCase(), p.label]));
  const card = studyModelCard({
    study: st.definition,
    model: run.model,
    evaluations: run.sites.flatMap((x) => (x.evaluation ? [x.evaluation] : [])),
    consentSetHash: run.consentSetHash,
    chain: { registry: s.ledger.studyRegistry!, studyId: st.studyId, studyHash: st.studyHash, epsilonSpent: chain?.epsilonSpent ?? run.epsilonSpent, rounds: chain?.rounds ?? run.rounds.length },
    siteNames,
  });
  await publishResults((m) => s.account.signMessage(m), st.studyId, { run, card });
}

export function RunStudy({ s, st, onDone }: { s: Session; st: StudyEntry; onDone: () => void }) {
  const [progress, setProgress] = useState<StudyProgress>();
  const action = useAction();
  const sites = studySites(s.config).map((p) => ({ provider: p.address, url: p.gatekeeperUrl, name: p.label }));
  const run = () =>
    action.run(async () => {
      setProgress(undefined);
      const result = await runStudy({ sponsor: s.ledger, definition: st.definition, sites, onProgress: setProgress });
      await publish(s, st, result);
      onDone();
      return `The study ran over ${result.rounds.length} rounds; its model is recorded on chain and its results are below.`;
    });
  if (st.chain.rounds > 0 && !action.busy) {
    return (
      <>
        {action.message && <p className="ok" data-testid="run-done">{action.message}</p>}
        <p className="muted" data-testid="study-ran">This study has run: {st.chain.rounds} rounds opened on chain, ε {st.chain.epsilonSpent} of {st.chain.epsilonBudget} spent. A study runs once; a new question needs a new study, which patients consent to anew.</p>
      </>
    );
  }
  return (
    <div data-testid="run-study">
      <h4>Run the study</h4>
      <p className="muted">
        Over {sites.length} site{sites.length === 1 ? '' : 's'} ({sites.map((x) => x.name).join(', ')}); the study needs at least {st.definition.privacy.minSites}.
        Running spends the study’s whole privacy budget, so it runs once.
      </p>
      <button disabled={action.busy || st.chain.expired} onClick={() => void run()} data-testid="run-study-button">{action.busy ? 'Running…' : 'Run the study'}</button>
      {progress && (
        <p data-testid="run-progress">
          <progress value={progress.done} max={progress.total} /> {progressWords(progress)}
        </p>
      )}
      {action.error && <p className="error" role="alert" data-testid="run-error">The study could not run: {action.error}</p>}
      {action.message && <p className="ok">{action.message}</p>}
    </div>
  );
}
