/** The patient's Summary as an inbox: every relationship a provider opened, its status, accept or reject. */
import { respond } from '../../../../sdk/relationships.js';
import type { Summary } from '../../../../sdk/summary.js';
import { scopeLabel } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { useAction } from '../../lib/use.js';

const STATUS_TEXT: Record<string, string> = {
  new: 'New', updated: 'Updated', 'awaiting-approval': 'Awaiting your approval', accepted: 'Accepted', rejected: 'Rejected', none: '—',
};

export function Inbox({ s, summary, onChange }: { s: Session; summary: Summary; onChange: () => void }) {
  const action = useAction();
  const answer = (id: string, accept: boolean) =>
    action.run(async () => {
      await respond(s.ledger, { relationshipId: BigInt(id), accept });
      onChange();
      return accept ? 'Accepted.' : 'Rejected.';
    });
  if (summary.relationships.length === 0) return <p className="muted">No provider has added records for you yet.</p>;
  return (
    <div>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok">{action.message}</p>}
      <table data-testid="inbox">
        <thead><tr><th>Provider</th><th>Records</th><th>Status</th><th>Last change</th><th></th></tr></thead>
        <tbody>
          {summary.relationships.map((r) => (
            <tr key={r.id} data-testid={`relationship-${s.nameOf(r.provider)}`} className={`status-${r.status}`}>
              <td>{s.nameOf(r.provider)}</td>
              <td>{r.pointers.map((p) => scopeLabel(p.query)).join(', ')}</td>
              <td className="status" data-testid="status">{STATUS_TEXT[r.status] ?? r.status}</td>
              <td>{r.updatedAt ? new Date(r.updatedAt * 1000).toLocaleString() : ''}</td>
              <td>
                {r.status !== 'accepted' && r.status !== 'rejected' && (
                  <>
                    <button disabled={action.busy} onClick={() => answer(r.id, true)}>Accept</button>{' '}
                    <button disabled={action.busy} className="secondary" onClick={() => answer(r.id, false)}>Reject</button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
