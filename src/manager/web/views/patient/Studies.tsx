/**
 * Research studies in the patient's inbox (issue 16 §2): who asks, why, what data, for how long and
 * what leaves their providers (only totals over many patients, with noise added), in plain words.
 * Joining and withdrawing are the patient's own on-chain transactions, signed here like their other
 * answers; declining stays in this browser (nothing to tell anyone: not joining is the default).
 * Technical details (the study's hash, ε and δ) only when asked.
 */
import { useState } from 'react';
import type { Hex } from 'viem';
import { enrollInStudy, withdrawFromStudy } from '../../../../sdk/studies.js';
import type { Session } from '../../lib/session.js';
import { dateInWords, featureInWords, listStudies, type StudyEntry } from '../../lib/studies.js';
import { useAction, useLoad } from '../../lib/use.js';

const declinedKey = (s: Session) => `medledger:declined-studies:${s.account.address.toLowerCase()}`;
const readDeclined = (s: Session): string[] => JSON.parse(localStorage.getItem(declinedKey(s)) ?? '[]') as string[];

export function StudyInvitations({ s }: { s: Session }) {
  const studies = useLoad(() => listStudies(s.account.address), [s.account.address]);
  const [declined, setDeclined] = useState(() => new Set(readDeclined(s)));
  const action = useAction();
  const setDecline = (studyId: Hex, on: boolean) => {
    const next = new Set(declined);
    if (on) next.add(studyId);
    else next.delete(studyId);
    localStorage.setItem(declinedKey(s), JSON.stringify([...next]));
    setDeclined(next);
  };
  const join = (st: StudyEntry) =>
    action.run(async () => {
      await enrollInStudy(s.ledger, st.studyId);
      setDecline(st.studyId, false);
      studies.reload();
      return `You have joined “${st.definition.title}”. You can withdraw at any time.`;
    });
  const withdraw = (st: StudyEntry) =>
    action.run(async () => {
      await withdrawFromStudy(s.ledger, st.studyId);
      studies.reload();
      return `You have withdrawn from “${st.definition.title}”. Your records are not used from the next round on.`;
    });
  if (studies.error) return <p className="error">Research studies could not be read: {studies.error}</p>;
  // A patient sees open studies, and the ones they are in even after expiry (to withdraw).
  const shown = studies.data?.filter((st) => !st.chain.expired || st.patientEnrolled) ?? [];
  return (
    <section data-testid="study-invitations">
      <h3>Research studies</h3>
      {!studies.data ? <p className="muted">Reading research studies…</p> : shown.length === 0 ? <p className="muted">No research study is asking for your data.</p> : null}
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" data-testid="study-message">{action.message}</p>}
      {shown.map((st) => (
        <StudyInvitation key={st.studyId} st={st} declined={declined.has(st.studyId)} busy={action.busy || studies.loading}
          onJoin={() => join(st)} onDecline={() => setDecline(st.studyId, true)} onWithdraw={() => withdraw(st)} />
      ))}
    </section>
  );
}

function StudyInvitation({ st, declined, busy, onJoin, onDecline, onWithdraw }: {
  st: StudyEntry; declined: boolean; busy: boolean; onJoin: () => void; onDecline: () => void; onWithdraw: () => void;
}) {
  const d = st.definition;
  const status = st.patientEnrolled ? 'You are taking part' : declined ? 'You said no' : 'Waiting for your answer';
  return (
    <article className="panel study" data-testid="study-invitation" data-study={st.studyId}>
      <h4>{d.title} <span className={`badge ${st.patientEnrolled ? 'ok' : ''}`} data-testid="study-status">{status}</span></h4>
      <dl className="study-facts">
        <dt>Who is asking</dt><dd>{d.sponsor.name}</dd>
        <dt>Why</dt><dd>{d.purpose}</dd>
        <dt>Who can take part</dt><dd>{d.inclusion}</dd>
        <dt>What data</dt><dd>From your heart check-up records: {d.data.features.map(featureInWords).join(', ')}; and whether narrowed heart arteries were found (what the study learns to predict).</dd>
        <dt>For how long</dt><dd>Until {dateInWords(d.expiresAt)}{st.chain.expired ? ' (the study has ended)' : ''}.</dd>
        <dt>What leaves your providers</dt>
        <dd data-testid="study-what-leaves">
          Only totals over many patients. Your records never leave your hospitals: each hospital works out a sum over all the
          patients who joined, adds random noise so that no one person can be picked out, and hides its sum so that only the total
          over at least {d.privacy.minSites} hospitals can be read. Your name, address and other details are never part of it.
        </dd>
        <dt>Changing your mind</dt><dd>You can withdraw at any time; from the next round on, your records are no longer used.</dd>
      </dl>
      <p>
        {st.patientEnrolled ? (
          <button className="secondary" disabled={busy} onClick={onWithdraw} data-testid="study-withdraw">Withdraw from this study</button>
        ) : st.chain.expired ? null : (
          <>
            <button disabled={busy} onClick={onJoin} data-testid="study-join">Yes, use my data for this study</button>{' '}
            {!declined && <button className="secondary" disabled={busy} onClick={onDecline} data-testid="study-decline">No, thank you</button>}
          </>
        )}
      </p>
      <details>
        <summary>Technical details</summary>
        <p className="muted">
          Study {st.studyId} (definition hash {st.studyHash}), sponsor {d.sponsor.address}; differential privacy ε = {d.privacy.epsilon},
          δ = {d.privacy.delta} over {d.model.rounds} rounds ({st.chain.epsilonSpent} of ε spent so far); {st.enrolled} patient{st.enrolled === 1 ? '' : 's'} enrolled on chain.
        </p>
      </details>
    </article>
  );
}
