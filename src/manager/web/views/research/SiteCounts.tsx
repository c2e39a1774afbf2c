/**
 * Consent counts per site (issue 16 §7): each provider's gatekeeper answers the study's sponsor, over
 * a request signed here with the researcher's key, how many of its patients consent now — 1 to 4 as
 * "<5", so a small count cannot point at a person. Beside it, what the chain says: every enrolment.
 */
import { studyPath, type StudySiteStatus } from '../../../../protocol/research/messages.js';
import type { Session } from '../../lib/session.js';
import { studySites, type StudyEntry } from '../../lib/studies.js';
import { describe, useLoad } from '../../lib/use.js';

export function SiteCounts({ s, st, version }: { s: Session; st: StudyEntry; version: number }) {
  const counts = useLoad(
    () =>
      Promise.all(
        studySites(s.config).map(async (p) => {
          try {
            const r = await s.gatekeeper(p.address).get<StudySiteStatus>(studyPath(st.studyId));
            return { provider: p.label, display: r.body.display };
          } catch (err) {
            return { provider: p.label, refused: describe(err) };
          }
        }),
      ),
    [st.studyId, version],
  );
  return (
    <div data-testid="site-counts">
      <h4>Who has joined</h4>
      <p data-testid="chain-enrolled">{st.enrolled} patient{st.enrolled === 1 ? ' has' : 's have'} joined on chain.</p>
      {!counts.data ? <p className="muted">Asking each hospital…</p> : (
        <table>
          <thead><tr><th>Site</th><th>Consenting patients there</th></tr></thead>
          <tbody>
            {counts.data.map((c) => (
              <tr key={c.provider} data-testid="site-count">
                <td>{c.provider}</td>
                <td>{'display' in c ? c.display : <span className="muted">not answered: {c.refused}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">Each hospital counts its own patients who joined and whose records it holds; counts from 1 to 4 are shown as “&lt;5”.</p>
    </div>
  );
}
