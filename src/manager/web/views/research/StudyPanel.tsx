/** One study, opened by its sponsor: its terms, who has joined per site, its run and its results. */
import type { Session } from '../../lib/session.js';
import { dateInWords, type StudyEntry } from '../../lib/studies.js';
import { RunStudy } from './RunStudy.js';
import { SiteCounts } from './SiteCounts.js';
import { StudyResults } from './StudyResults.js';

export function StudyPanel({ s, st, version, onChange }: { s: Session; st: StudyEntry; version: number; onChange: () => void }) {
  const d = st.definition;
  return (
    <div className="panel" data-testid="study-panel">
      <h4>{d.title}</h4>
      <p>{d.purpose}</p>
      <p className="muted">
        Who: {d.inclusion}. Data: {d.data.features.join(', ')} and the diagnosis. Until {dateInWords(d.expiresAt)}.
        Logistic regression, {d.model.rounds} rounds{d.model.siteIntercept ? ', an intercept per site' : ''}; ε = {d.privacy.epsilon},
        δ = {d.privacy.delta}, at least {d.privacy.minSites} sites per round.
      </p>
      <p className="muted">Study id <code>{st.studyId}</code></p>
      <SiteCounts s={s} st={st} version={version} />
      <RunStudy s={s} st={st} onDone={onChange} />
      <StudyResults st={st} version={version} />
    </div>
  );
}
