/**
 * For anyone a patient named as a guardian: the patients they guard, any recovery in progress,
 * approving a move to the patient's new key (which the patient tells them out of band), and
 * finalising it once the waiting period has passed. Shows nothing for someone who guards no one.
 */
import { useState } from 'react';
import { isAddress, type Address } from 'viem';
import { approveRecovery, finalizeRecovery, patientsGuardedBy, recoveryOf, type RecoveryState } from '../../../sdk/recovery.js';
import type { Session } from '../lib/session.js';
import { unixNow, useAction, useLoad } from '../lib/use.js';

function GuardedPatient({ s, state, onChange }: { s: Session; state: RecoveryState; onChange: () => void }) {
  const [newKey, setNewKey] = useState('');
  const action = useAction();
  const name = s.nameOf(state.patient);
  const approve = () =>
    action.run(async () => {
      if (!isAddress(newKey)) throw new Error("paste the patient's new key (0x… address)");
      await approveRecovery(s.ledger, { patient: state.patient, newController: newKey as Address });
      onChange();
      return `You approve moving ${name} to ${newKey}.`;
    });
  const finalize = () =>
    action.run(async () => {
      await finalizeRecovery(s.ledger, { patient: state.patient });
      onChange();
      return `${name} is now held by ${state.scheduled?.candidate}.`;
    });
  const ready = state.scheduled !== undefined && state.scheduled.readyAt <= unixNow();
  return (
    <div className="panel" data-testid="guarded-patient">
      <h3>{name}</h3>
      <p>{state.guardians.length === 1 ? 'You are their only guardian: your approval alone moves them to a new key.' : `${state.threshold} of their ${state.guardians.length} guardians must approve a new key.`}</p>
      {/* Addresses only on request: a guardian compares a new key with what the patient tells them, not these. */}
      <details><summary>Addresses</summary><p>Patient: <code>{state.patient}</code><br />Key now: <code>{state.controller}</code></p></details>
      {state.candidates.map((c) => <p key={c.candidate} data-testid="recovery-candidate">Move to <code>{c.candidate}</code>: {c.approvals} of {state.threshold} approve.</p>)}
      {state.scheduled && (
        <p>
          Scheduled: <code>{state.scheduled.candidate}</code> from {new Date(state.scheduled.readyAt * 1000).toLocaleString()}.{' '}
          <button onClick={finalize} disabled={action.busy || !ready}>{ready ? 'Finalize' : 'Finalize (after the waiting period)'}</button>
        </p>
      )}
      <label>Approve moving this patient to new key <input size={46} value={newKey} onChange={(e) => setNewKey(e.target.value.trim())} placeholder="0x…" data-testid="recovery-new-key" /></label>{' '}
      <button onClick={approve} disabled={action.busy} data-testid="recovery-approve">Approve</button>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
    </div>
  );
}

export function GuardianView({ s, version }: { s: Session; version: number }) {
  const guarded = useLoad(async () => Promise.all((await patientsGuardedBy(s.ledger, s.account.address)).map((p) => recoveryOf(s.ledger, p))), [version]);
  if (!guarded.data?.length) return null;
  return (
    <section data-testid="guardian">
      <h3>Patients you are a guardian of</h3>
      <p className="muted">
        If one of them loses their key, they make a new one and tell you its address; you and the other guardians approve it here.{' '}
        <button className="secondary" onClick={guarded.reload} disabled={guarded.loading}>Refresh</button>
      </p>
      {guarded.data.map((state) => <GuardedPatient key={state.patient} s={s} state={state} onChange={guarded.reload} />)}
    </section>
  );
}
