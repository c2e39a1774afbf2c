/** Every share the patient ever made — active, paused, revoked, expired, replaced — and who used it when (history.ts). */
import type { Session } from '../../../lib/session.js';
import type { ShareHistory as History, ShareRecord } from './history.js';
import { dateText, dateTimeText, recordsText, type NameOf } from './words.js';

function stateText(s: Session, r: ShareRecord): string {
  switch (r.state) {
    case 'active':
      return r.expiresAt === 0 ? 'Active, no end date' : `Active until ${dateText(r.expiresAt)}`;
    case 'paused':
      return `Paused: you rejected ${s.nameOf(r.provider)}'s records`;
    case 'revoked':
      return `Revoked ${dateText(r.endedAt!)}`;
    case 'expired':
      return `Expired ${dateText(r.endedAt!)}`;
    case 'replaced':
      return `Replaced by a newer share on ${dateText(r.endedAt!)}`;
  }
}

const usedText = (r: ShareRecord): string =>
  r.reads.length === 0 ? 'Not read' : `Read ${r.reads.length} ${r.reads.length === 1 ? 'time' : 'times'}, last ${dateTimeText(r.reads[0]!)}`;

export function ShareHistory({ s, history, nameOf, loading, reload }: { s: Session; history?: History; nameOf: NameOf; loading: boolean; reload: () => void }) {
  return (
    <section aria-labelledby="share-history-title">
      <h3 id="share-history-title">Everything you have shared</h3>
      <p className="meaning">
        From the chain: every share, how it ended, and each read the provider recorded in its audit trail.{' '}
        <button className="secondary" onClick={reload} disabled={loading}>Refresh</button>
      </p>
      {!history ? <p className="meaning">Reading your sharing history…</p> : history.shares.length === 0 ? <p className="meaning">You have not shared anything yet.</p> : (
        <div className="table-scroll">
          <table className="stack" data-testid="share-history">
            <thead><tr><th>Who</th><th>What</th><th>Shared on</th><th>Now</th><th>Used</th></tr></thead>
            <tbody>
              {history.shares.map((r) => (
                <tr key={r.key} className={`state-${r.state}`} data-testid="share-history-row" data-state={r.state}>
                  <td data-label="Who">{nameOf(r.viewer)}</td>
                  <td data-label="What">{recordsText(s, r.scope, r.provider)}</td>
                  <td data-label="Shared on">{dateText(r.grantedAt)}</td>
                  <td data-label="Now" className="share-state">{stateText(s, r)}</td>
                  <td data-label="Used">{usedText(r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
