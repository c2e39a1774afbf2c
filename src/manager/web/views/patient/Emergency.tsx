/**
 * Emergency & recovery: allow or forbid break-glass, every emergency opening of the record (an open
 * one can be closed), and the guardians who can move the identity to a new key if this one is lost —
 * with any recovery in progress, which this key can cancel until it is finalised.
 */
import { useState } from 'react';
import { isAddress, type Address } from 'viem';
import { breakGlassOpenings, checkBreakGlass, closeBreakGlass, setBreakGlassAllowed } from '../../../../sdk/emergency.js';
import { cancelRecovery, recoveryOf, setGuardians } from '../../../../sdk/recovery.js';
import type { Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { expiryText, useAction, useLoad } from '../../lib/use.js';
import { useConfirm } from '../Confirm.js';

async function load(s: Session) {
  const me = s.account.address;
  const [recovery, openings] = await Promise.all([recoveryOf(s.ledger, me), breakGlassOpenings(s.ledger, { patient: me })]);
  // Only the latest opening by each provider can still be open.
  const latest = new Map(openings.map((o, i) => [o.provider, i]));
  const rows = await Promise.all(
    openings.map(async (o, i) => ({
      ...o,
      openedAt: Number((await s.ledger.publicClient.getBlock({ blockNumber: o.blockNumber })).timestamp),
      open: latest.get(o.provider) === i && (await checkBreakGlass(s.ledger, { patient: me, provider: o.provider }).then(() => true, () => false)),
    })),
  );
  return { recovery, openings: rows.reverse() };
}

/** Forbidding can cost the patient care when they cannot speak for themselves: the dialog says so before it is done. */
const FORBID = {
  title: 'Forbid emergency access?',
  confirm: 'Yes, forbid',
  body: (
    <>
      <p>
        If you are brought in unconscious or cannot consent, no provider will be able to open your allergies, medications, conditions, blood group or
        advance directives — even to treat you.
      </p>
      <p>Openings already made stay until they expire or you close them below. You can allow emergency access again at any time.</p>
    </>
  ),
};

/** Addresses pasted in any layout: separated by commas, spaces or new lines. */
const pasted = (text: string) => text.split(/[\s,;]+/).filter(Boolean);

/** `summary` only for its block: a new one (a notification, a change elsewhere) reloads this tab. */
export function Emergency({ s, summary }: { s: Session; summary: Summary }) {
  const { data, error, reload, loading } = useLoad(() => load(s), [summary.blockNumber]);
  const action = useAction();
  const { ask, dialog } = useConfirm();
  const people = s.config.users.filter((u) => u.address.toLowerCase() !== s.account.address.toLowerCase());
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [others, setOthers] = useState('');
  const [threshold, setThreshold] = useState(2);
  const me = s.account.address;
  const done = (message: string) => {
    reload();
    return message;
  };

  const allow = async (allowed: boolean) =>
    (allowed || (await ask(FORBID))) &&
    action.run(async () => {
      await setBreakGlassAllowed(s.ledger, { patient: me, allowed });
      return done(allowed ? 'Emergency access allowed.' : 'Emergency access forbidden: no provider can open your record without your consent.');
    });
  const close = (provider: Address) =>
    action.run(async () => {
      await closeBreakGlass(s.ledger, { patient: me, provider });
      return done(`Closed ${s.nameOf(provider)}'s emergency access.`);
    });
  const saveGuardians = () =>
    action.run(async () => {
      const typed = pasted(others);
      const bad = typed.find((a) => !isAddress(a));
      if (bad) throw new Error(`${bad} is not an address`);
      const guardians = [...chosen, ...typed] as Address[];
      await setGuardians(s.ledger, { patient: me, guardians, threshold });
      return done(`${guardians.length} guardians named; ${threshold} of them can move your identity to a new key.`);
    });
  const cancel = () =>
    action.run(async () => {
      await cancelRecovery(s.ledger, { patient: me });
      return done('Recovery cancelled: every guardian approval is void.');
    });
  const toggle = (address: string, on: boolean) =>
    setChosen((prev) => {
      const next = new Set(prev);
      if (on) next.add(address);
      else next.delete(address);
      return next;
    });

  if (error) return <p className="error">{error}</p>;
  if (!data) return <p className="muted">Reading your emergency and recovery settings from the chain…</p>;
  const { recovery, openings } = data;
  const pending = recovery.scheduled || recovery.candidates.length > 0;
  return (
    <div>
      {dialog}
      <p className="muted">All of this is on chain. <button className="secondary" onClick={reload} disabled={loading}>Refresh</button></p>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
      <fieldset>
        <legend>Emergency access</legend>
        <p>
          An accredited provider treating you when you cannot consent may open your allergies, medications, conditions, blood group and advance
          directives for up to 24 hours. You are told at once and every read is in "who read my data".
        </p>
        <p>
          Now: <strong data-testid="emergency-allowed">{recovery.breakGlassAllowed ? 'allowed' : 'forbidden'}</strong>{' '}
          <button onClick={() => allow(!recovery.breakGlassAllowed)} disabled={action.busy} data-testid="emergency-toggle">
            {recovery.breakGlassAllowed ? 'Forbid emergency access' : 'Allow emergency access'}
          </button>
        </p>
        <p className="muted">Forbidding stops new openings; close an open one below.</p>
        <h3>Emergency openings of your record</h3>
        {openings.length === 0 ? <p className="muted">No provider has opened your record in an emergency.</p> : (
          <table data-testid="break-glass-openings">
            <thead><tr><th>Opened</th><th>By</th><th>Reason (hash on chain)</th><th>Expiry</th><th>Now</th><th></th></tr></thead>
            <tbody>
              {openings.map((o) => (
                <tr key={o.transactionHash} data-testid="break-glass-opening">
                  <td>{new Date(o.openedAt * 1000).toLocaleString()}</td>
                  <td>{s.nameOf(o.provider)}</td>
                  <td><code title={o.reasonHash}>{o.reasonHash.slice(0, 10)}…</code></td>
                  <td>{expiryText(o.expiresAt)}</td>
                  <td>{o.open ? 'open' : 'closed'}</td>
                  <td>{o.open && <button className="secondary" onClick={() => close(o.provider)} disabled={action.busy}>Close</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </fieldset>
      <fieldset>
        <legend>Guardians</legend>
        <p>
          If you lose your key, a majority of your guardians can move your identity to a new key after a waiting period of{' '}
          {recovery.recoveryDelay / 86_400} days. Everything stays yours; only the key changes. This key can cancel until then.
        </p>
        <p data-testid="guardians">
          {recovery.guardians.length === 0 ? 'No guardians.' : `${recovery.threshold} of ${recovery.guardians.map((g) => s.nameOf(g)).join(', ')}.`}
        </p>
        {people.map((u) => (
          <label key={u.address}>
            <input type="checkbox" checked={chosen.has(u.address)} onChange={(e) => toggle(u.address, e.target.checked)} data-testid={`guardian-${u.name}`} /> {u.label ?? u.name}
          </label>
        ))}
        <label>Others (addresses) <input size={46} value={others} onChange={(e) => setOthers(e.target.value)} placeholder="0x…, 0x…" data-testid="guardian-addresses" /></label>
        <label>Needed <input type="number" min={1} max={16} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} data-testid="guardian-threshold" /></label>
        <button onClick={saveGuardians} disabled={action.busy} data-testid="guardians-save">Set guardians</button>
        {pending && (
          <div data-testid="pending-recovery">
            <h3>Recovery in progress</h3>
            <ul>
              {recovery.candidates.map((c) => <li key={c.candidate}>Move to <code>{c.candidate}</code>: {c.approvals} of {recovery.threshold} guardians approve</li>)}
            </ul>
            {recovery.scheduled && <p>Scheduled: <code>{recovery.scheduled.candidate}</code> can take over from {new Date(recovery.scheduled.readyAt * 1000).toLocaleString()}.</p>}
            <p><button onClick={cancel} disabled={action.busy}>Cancel recovery</button> if you still hold this key and did not ask for it.</p>
          </div>
        )}
      </fieldset>
    </div>
  );
}
