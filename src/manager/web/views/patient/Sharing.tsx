/**
 * Sharing: share a slice of one provider's records (ShareForm), see who can see what now and revoke it
 * (after a confirmation saying what that means), and the history of every share with its use.
 */
import type { Address } from 'viem';
import { revokeViewer } from '../../../../sdk/grants.js';
import type { GrantState, Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { useViewerNames } from '../../lib/smart-apps.js';
import { unixNow, useAction, useLoad } from '../../lib/use.js';
import { useConfirm } from '../Confirm.js';
import { readShareHistory } from './sharing/history.js';
import { ShareForm } from './sharing/ShareForm.js';
import { ShareHistory } from './sharing/ShareHistory.js';
import { recordsText, untilText } from './sharing/words.js';
import './sharing/consent.css';

type Grant = GrantState & { relationshipId: string; provider: Address; rejected: boolean };

export function Sharing({ s, summary, onChange }: { s: Session; summary: Summary; onChange: () => void }) {
  const action = useAction();
  const { ask, dialog } = useConfirm();
  const { apps, nameOf } = useViewerNames(s);
  const history = useLoad(() => readShareHistory(s, summary), [summary.blockNumber]);
  // Chain time once read (the gatekeepers judge expiry by it); the page's clock until then.
  const now = history.data?.now ?? unixNow();

  const revoke = async (g: Grant) => {
    const what = recordsText(s, g.scope, g.provider);
    const ok = await ask({
      title: `Stop sharing with ${nameOf(g.viewer)}?`,
      confirm: 'Yes, revoke',
      body: (
        <>
          <p>{nameOf(g.viewer)} will no longer be able to read {what}, from the next block on.</p>
          <p>What they already read cannot be taken back. You can share again at any time.</p>
        </>
      ),
    });
    if (!ok) return;
    await action.run(async () => {
      await revokeViewer(s.ledger, { relationshipId: BigInt(g.relationshipId), viewer: g.viewer, scope: g.scope });
      onChange();
      return `Revoked ${nameOf(g.viewer)}'s access to ${what}.`;
    });
  };

  // Only what still works (or would, once a rejected provider is accepted again); ended shares are in the history.
  const grants: Grant[] = summary.relationships
    .flatMap((r) => r.grants.map((g) => ({ ...g, relationshipId: r.id, provider: r.provider, rejected: r.status === 'rejected' })))
    .filter((g) => g.expiresAt === 0 || g.expiresAt > now);
  return (
    <div className="sharing consent">
      {dialog}
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
      <ShareForm s={s} summary={summary} apps={apps} nameOf={nameOf} busy={action.busy} run={action.run} onChange={onChange} />
      <h3>Who can see what now</h3>
      {grants.length === 0 ? <p className="meaning">You are not sharing anything.</p> : (
        <div className="table-scroll">
          <table className="stack" data-testid="grants">
            <thead><tr><th>Who</th><th>What</th><th>For how long</th><th><span className="visually-hidden">Stop sharing</span></th></tr></thead>
            <tbody>
              {grants.map((g) => (
                <tr key={`${g.relationshipId}/${g.grantTag}`}>
                  <td data-label="Who">{nameOf(g.viewer)}</td>
                  <td data-label="What">{recordsText(s, g.scope, g.provider)}</td>
                  <td data-label="For how long">{untilText(g.expiresAt, now)}{g.rejected && <span className="meaning">paused: you rejected these records</span>}</td>
                  <td><button className="secondary" disabled={action.busy} onClick={() => revoke(g)}>Revoke</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ShareHistory s={s} history={history.data} nameOf={nameOf} loading={history.loading} reload={history.reload} />
      {history.error && <p className="error">Could not read the sharing history: {history.error}</p>}
    </div>
  );
}
