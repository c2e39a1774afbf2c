/**
 * The researcher's view (issue 16 §7): the studies they sponsor, a form to create one, and for the
 * study opened its terms, consent counts per site, a run with its progress, and the results with the
 * model card. Every chain action is signed in this browser with the researcher's key.
 */
import { useState } from 'react';
import type { Hex } from 'viem';
import type { Session } from '../../lib/session.js';
import { dateInWords, listStudies } from '../../lib/studies.js';
import { useLoad } from '../../lib/use.js';
import { StudyForm } from './StudyForm.js';
import { StudyPanel } from './StudyPanel.js';

export function ResearchView({ s }: { s: Session }) {
  const [version, setVersion] = useState(0);
  const studies = useLoad(() => listStudies(), [version]);
  const [open, setOpen] = useState<Hex>();
  const [creating, setCreating] = useState(false);
  const changed = () => setVersion((v) => v + 1);
  const mine = studies.data?.filter((st) => st.definition.sponsor.address.toLowerCase() === s.account.address.toLowerCase()) ?? [];
  const opened = mine.find((st) => st.studyId === open);
  return (
    <section data-testid="research">
      <h3>Research studies</h3>
      {studies.error && <p className="error">{studies.error}</p>}
      {studies.data && mine.length === 0 && <p className="muted">You sponsor no study yet.</p>}
      {mine.length > 0 && (
        <table data-testid="my-studies">
          <thead><tr><th>Study</th><th>Ends</th><th>Joined (on chain)</th><th>Privacy budget spent</th><th>Result</th><th></th></tr></thead>
          <tbody>
            {mine.map((st) => (
              <tr key={st.studyId} data-testid="my-study" className={st.chain.expired ? 'expired' : ''}>
                <td>{st.definition.title}</td>
                <td>{dateInWords(st.definition.expiresAt)}{st.chain.expired ? ' (ended)' : ''}</td>
                <td>{st.enrolled}</td>
                <td>ε {st.chain.epsilonSpent} of {st.chain.epsilonBudget}</td>
                <td>{st.chain.result ? 'recorded on chain' : 'not run yet'}</td>
                <td><button className="secondary" onClick={() => setOpen(open === st.studyId ? undefined : st.studyId)} data-testid="open-study">{open === st.studyId ? 'Close' : 'Open'}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p>
        <button className="secondary" onClick={() => setCreating(!creating)} data-testid="new-study">{creating ? 'Cancel' : 'Create a study'}</button>{' '}
        <button className="secondary" onClick={changed}>Refresh</button>
      </p>
      {creating && <StudyForm s={s} onCreated={(st) => { setCreating(false); setOpen(st.studyId); changed(); }} />}
      {opened && <StudyPanel key={opened.studyId} s={s} st={opened} onChange={changed} version={version} />}
    </section>
  );
}
