/**
 * A provider's emergency access (break-glass) to a patient it has no consent from: open it on chain
 * stating a reason, read the emergency data set from the other providers' gatekeepers, close it. The
 * reason and its salt stay in this page's memory: the chain holds only their hash, and the
 * gatekeepers ask for both with every read.
 */
import { useState } from 'react';
import type { Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { LedgerError } from '../../../chain/write.js';
import { EMERGENCY_DATA_SET } from '../../../consent/emergency.js';
import { closeBreakGlass, openBreakGlass, type BreakGlassStatement } from '../../../sdk/emergency.js';
import { readSummary } from '../../../sdk/summary.js';
import { dateOf, day, resourcesOf, summaryOf } from '../lib/fhir.js';
import type { Session } from '../lib/session.js';
import { expiryText, useAction } from '../lib/use.js';

const TYPES = [...new Set(EMERGENCY_DATA_SET.map((r) => r.resourceType))];

interface Opened {
  patient: Address;
  expiresAt: number;
  statement: BreakGlassStatement;
}

interface Row {
  resource: Resource;
  source: string;
}

/** The emergency data set of the patient at every other provider with records of them (their Summary says which). */
async function readEmergency(s: Session, opened: Opened): Promise<Row[]> {
  const known = new Set(s.config.providers.map((p) => p.address.toLowerCase()));
  known.delete(s.account.address.toLowerCase());
  const holders = [...new Set((await readSummary(s.ledger, opened.patient)).relationships.map((r) => r.provider))].filter((p) => known.has(p.toLowerCase()));
  const found = await Promise.all(
    holders.flatMap((holder) =>
      TYPES.map(async (type) => {
        const { body } = await s.gatekeeper(holder, opened.statement).get(`/fhir/R4/${type}?_count=200`);
        return resourcesOf(body)
          .filter((r) => r.resourceType !== 'OperationOutcome')
          .map((resource) => ({ resource, source: s.nameOf(holder) }));
      }),
    ),
  );
  return found.flat();
}

export function EmergencyAccess({ s, patients }: { s: Session; patients: { address: Address; name: string }[] }) {
  const [chosen, setChosen] = useState<string>('');
  const [reason, setReason] = useState('');
  const [opened, setOpened] = useState<Opened>();
  const [rows, setRows] = useState<Row[]>();
  const action = useAction();
  const patient = (chosen || patients[0]?.address) as Address | undefined;
  // The patient's MedLedger user name when the manager knows one, else the name in this provider's store (never an address).
  const nameOf = (address: Address) =>
    s.config.users.some((u) => u.address.toLowerCase() === address.toLowerCase()) ? s.nameOf(address) : (patients.find((p) => p.address.toLowerCase() === address.toLowerCase())?.name ?? s.nameOf(address));

  const open = () =>
    action.run(async () => {
      if (!patient) throw new Error('choose a patient');
      setRows(undefined);
      const o = await openBreakGlass(s.ledger, { patient, reason }).catch((err: unknown) => {
        // The two refusals a provider meets in practice, in words that name the patient.
        if (err instanceof LedgerError && err.errorName === 'BreakGlassDisabled') throw new Error(`${nameOf(patient)} has forbidden emergency (break-glass) access to their record`);
        if (err instanceof LedgerError && err.errorName === 'NotAccredited') throw new Error('only accredited providers can open emergency access, and you are not accredited');
        throw err;
      });
      setOpened({ patient, expiresAt: o.expiresAt, statement: o.statement });
      return `Emergency access to ${nameOf(patient)} is open; the patient is told at once.`;
    });
  const read = (o: Opened) =>
    action.run(async () => {
      const found = await readEmergency(s, o);
      setRows(found);
      return `${found.length} resources of the emergency data set.`;
    });
  const close = (o: Opened) =>
    action.run(async () => {
      await closeBreakGlass(s.ledger, { patient: o.patient, provider: s.account.address });
      setOpened(undefined);
      setRows(undefined);
      return `Emergency access to ${nameOf(o.patient)} closed.`;
    });

  return (
    <fieldset data-testid="emergency">
      <legend>Emergency access (break-glass)</legend>
      <p className="muted">
        For a patient who cannot consent. Opens for 24 hours a read of allergies, medications, conditions, blood group and advance directives only; the
        patient is notified and every read is in their audit trail with your reason.
      </p>
      <label>Patient <select value={patient ?? ''} onChange={(e) => setChosen(e.target.value)} data-testid="emergency-patient">
        {patients.map((p) => <option key={p.address} value={p.address}>{p.name}</option>)}
      </select></label>
      <label>Reason <input size={50} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="emergency-reason" placeholder="unconscious on arrival, no next of kin" /></label>
      <button onClick={open} disabled={action.busy || !patient} data-testid="emergency-open">Open emergency access</button>
      {action.error && <p className="error" role="alert" data-testid="emergency-error">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
      {opened && (
        <p>
          Open for <strong>{nameOf(opened.patient)}</strong> <span data-testid="emergency-expiry">{expiryText(opened.expiresAt)}</span>.{' '}
          <button onClick={() => read(opened)} disabled={action.busy} data-testid="emergency-read">Read emergency data set</button>{' '}
          <button className="secondary" onClick={() => close(opened)} disabled={action.busy} data-testid="emergency-close">Close</button>
        </p>
      )}
      {rows && (
        <table data-testid="emergency-data">
          <thead><tr><th>Date</th><th>Type</th><th>Record</th><th>From</th></tr></thead>
          <tbody>
            {rows.map(({ resource, source }) => (
              <tr key={`${source}/${resource.resourceType}/${resource.id}`} data-testid="emergency-row" data-type={resource.resourceType}>
                <td>{day(dateOf(resource))}</td><td><span className="kind">{resource.resourceType}</span></td><td>{summaryOf(resource)}</td><td>{source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </fieldset>
  );
}
