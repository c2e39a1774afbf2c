/**
 * The patient's Summary as an inbox: every relationship a provider opened, its status in words, accept
 * or reject. Rejecting stops sharing, not the patient's own view: every share on that provider's records
 * stops working (checkAccess refuses while Rejected), the records stay readable by the patient, and a
 * provider's later changes keep it Rejected (MedLedger._markUpdated). Accepting again — "Undo" right
 * after, or "Accept after all" later — puts the earlier shares back in force.
 */
import { useState } from 'react';
import { respond } from '../../../../sdk/relationships.js';
import type { RelationshipState, Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { useViewerNames } from '../../lib/smart-apps.js';
import { unixNow, useAction, useLoad } from '../../lib/use.js';
import { useConfirm } from '../Confirm.js';
import { changesSinceRejection } from './sharing/history.js';
import { dateText, dateTimeText, scopeWords, untilText, type NameOf } from './sharing/words.js';
import './sharing/consent.css';

/** Each status in a word, and what it means for the patient in one line. */
const STATUS: Record<string, { word: string; meaning: string }> = {
  new: { word: 'New', meaning: 'This provider has records for you. Accept them to share them; reject to stop any sharing.' },
  updated: { word: 'Updated', meaning: 'The provider added or changed records since you last answered.' },
  'awaiting-approval': { word: 'Awaiting your approval', meaning: 'The provider asks you to approve these records.' },
  accepted: { word: 'Accepted', meaning: 'You accepted these records; the shares you make work.' },
  rejected: { word: 'Rejected', meaning: 'No one you shared these with can read them. You still see them yourself.' },
  none: { word: 'No status', meaning: 'Nothing to answer yet.' },
};

/** The live shares of a relationship in words: "Carol (researcher): Lab results until 8 Dec 2026". */
const sharesText = (rel: RelationshipState, nameOf: NameOf): string[] =>
  rel.grants.filter((g) => g.expiresAt === 0 || g.expiresAt > unixNow()).map((g) => `${nameOf(g.viewer)}: ${scopeWords(g.scope)} ${untilText(g.expiresAt, unixNow())}`);

function SharesList({ shares, none }: { shares: string[]; none: string }) {
  return shares.length === 0 ? <p>{none}</p> : <ul>{shares.map((t) => <li key={t}>{t}</li>)}</ul>;
}

export function Inbox({ s, summary, onChange }: { s: Session; summary: Summary; onChange: () => void }) {
  const action = useAction();
  const { ask, dialog } = useConfirm();
  const { nameOf } = useViewerNames(s);
  const [undo, setUndo] = useState<string>();
  const since = useLoad(() => changesSinceRejection(s, summary), [summary.blockNumber]);

  const accept = (rel: RelationshipState, again: boolean) =>
    action.run(async () => {
      setUndo(undefined);
      await respond(s.ledger, { relationshipId: BigInt(rel.id), accept: true });
      onChange();
      const back = sharesText(rel, nameOf);
      if (!again) return `Accepted ${s.nameOf(rel.provider)}'s records.`;
      return `Accepted ${s.nameOf(rel.provider)}'s records again.${back.length ? ` These shares work again: ${back.join('; ')}.` : ''}`;
    });
  const reject = async (rel: RelationshipState) => {
    const provider = s.nameOf(rel.provider);
    const shares = sharesText(rel, nameOf);
    const ok = await ask({
      title: `Reject ${provider}'s records?`,
      confirm: 'Yes, reject',
      body: (
        <>
          <p>{provider}'s records will no longer be shared with anyone you shared them with{shares.length ? ` (${shares.join('; ')})` : ''}.</p>
          <p>You will still see them yourself. You can undo this: accepting again brings those shares back.</p>
        </>
      ),
    });
    if (!ok) return;
    await action.run(async () => {
      await respond(s.ledger, { relationshipId: BigInt(rel.id), accept: false });
      setUndo(rel.id);
      onChange();
      return `Rejected ${provider}'s records: no one you shared them with can read them now. You still see them yourself.`;
    });
  };
  const reconsider = async (rel: RelationshipState) => {
    const ok = await ask({
      title: `Accept ${s.nameOf(rel.provider)}'s records after all?`,
      confirm: 'Yes, accept',
      body: <SharesList shares={sharesText(rel, nameOf)} none="You had not shared them with anyone; nothing else changes." />,
    });
    if (ok) await accept(rel, true);
  };

  if (summary.relationships.length === 0) return <p className="muted">No provider has added records for you yet.</p>;
  const undone = summary.relationships.find((r) => r.id === undo && r.status === 'rejected');
  return (
    <div className="consent">
      {dialog}
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && (
        <p className="ok" role="status" data-testid="inbox-message">
          {action.message}{' '}
          {undone && <button className="secondary" disabled={action.busy} onClick={() => accept(undone, true)} data-testid="undo-reject">Undo</button>}
        </p>
      )}
      <div className="table-scroll">
        <table className="stack" data-testid="inbox">
          <thead><tr><th>Provider</th><th>Records</th><th>Status</th><th>Last change</th><th><span className="visually-hidden">Your answer</span></th></tr></thead>
          <tbody>
            {summary.relationships.map((r) => {
              const status = STATUS[r.status] ?? STATUS.none!;
              const changed = since.data?.get(r.id);
              return (
                <tr key={r.id} data-testid={`relationship-${s.nameOf(r.provider)}`} className={`status-${r.status}`}>
                  <td data-label="Provider">{s.nameOf(r.provider)}</td>
                  <td data-label="Records">{r.pointers.map((p) => scopeWords(p.query)).join(', ')}</td>
                  <td data-label="Status">
                    <strong className="status" data-testid="status">{status.word}</strong>
                    <span className="meaning">{status.meaning}</span>
                    {changed && changed.changes > 0 && (
                      <span className="meaning" data-testid="changed-since-rejection">
                        {s.nameOf(r.provider)} added or changed records since you rejected them on {dateText(changed.rejectedAt)} — still not shared.
                      </span>
                    )}
                  </td>
                  <td data-label="Last change">{r.updatedAt ? dateTimeText(r.updatedAt) : ''}</td>
                  <td className="actions">
                    {r.status === 'rejected' ? (
                      <button disabled={action.busy} className="secondary" onClick={() => reconsider(r)}>Accept after all</button>
                    ) : (
                      <>
                        {r.status !== 'accepted' && <button disabled={action.busy} onClick={() => accept(r, false)}>Accept</button>}{' '}
                        <button disabled={action.busy} className="secondary" onClick={() => reject(r)}>Reject</button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
