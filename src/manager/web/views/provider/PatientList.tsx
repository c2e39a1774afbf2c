/**
 * Every patient of the provider's store, with search (name, MRN, birth date), birth date,
 * identifier and whether the patient is on MedLedger; "Find and link" (the Registrar link,
 * POST /registrar/link) for those not linked yet. Selecting a name opens the patient's panel.
 */
import { useState } from 'react';
import type { Address } from 'viem';
import type { Session } from '../../lib/session.js';
import { useAction } from '../../lib/use.js';
import { identifierText, keyOf, matches, nameOf, type PatientRow } from './patients.js';
import { refusalText } from './words.js';

const PAGE = 25;

export function PatientList({ s, rows, total, selected, onSelect, onLinked }: {
  s: Session;
  rows: PatientRow[];
  total: number;
  selected?: string;
  onSelect: (key: string) => void;
  onLinked: (key: string) => void;
}) {
  const [query, setQuery] = useState('');
  const [shown, setShown] = useState(PAGE);
  const link = useAction();
  const found = rows.filter((r) => matches(r, query));
  const findAndLink = (row: PatientRow) =>
    link.run(async () => {
      try {
        const r = await s.gatekeeper(s.account.address).post<{ address: Address; patientId: string; published: unknown[] }>('/registrar/link', { identity: row.identity });
        onLinked(r.body.patientId);
        return `${nameOf(row.patient)} is now linked on MedLedger; ${r.body.published.length} record sets were published to their Summary.`;
      } catch (err) {
        throw new Error(`${nameOf(row.patient)} could not be linked. ${refusalText('the link', err)} They may not have registered with MedLedger yet.`);
      }
    });
  return (
    <section aria-labelledby="provider-patients-title">
      <h3 id="provider-patients-title">Your patients</h3>
      <label htmlFor="patient-search">Search by name, MRN or birth date (YYYY-MM-DD)</label>{' '}
      <input id="patient-search" type="search" value={query} onChange={(e) => { setQuery(e.target.value); setShown(PAGE); }} data-testid="patient-search" />
      <p className="muted" role="status" data-testid="patient-count">
        {query ? `${found.length} of ${rows.length} patients match.` : `${rows.length} patients in your store${total > rows.length ? ` (the first ${rows.length} of ${total})` : ''}.`}
        {found.length > shown && ` Showing the first ${shown}.`}
      </p>
      {link.error && <p className="error" role="alert">{link.error}</p>}
      {link.message && <p className="ok" role="status">{link.message}</p>}
      <div className="table-scroll">
        <table data-testid="provider-patients" className="provider-patients">
          <thead><tr><th scope="col">Name</th><th scope="col">Birth date</th><th scope="col">Identifier</th><th scope="col">On MedLedger</th></tr></thead>
          <tbody>
            {found.slice(0, shown).map((row) => (
              <tr key={keyOf(row)} data-testid="patient-row">
                <td><button className={keyOf(row) === selected ? 'active link' : 'link'} aria-pressed={keyOf(row) === selected} onClick={() => onSelect(keyOf(row))}>{nameOf(row.patient)}</button></td>
                <td data-testid="patient-birth">{row.patient?.birthDate ?? '—'}</td>
                <td data-testid="patient-identifier">{identifierText(row.patient) || '—'}</td>
                <td data-testid="patient-linked">
                  {row.linked ? 'Linked' : 'Not linked yet'}
                  {!row.linked && row.identity && <> <button className="secondary" disabled={link.busy} onClick={() => findAndLink(row)}>Find and link</button></>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {found.length > shown && <button className="secondary" onClick={() => setShown((n) => n + PAGE)}>Show {Math.min(PAGE, found.length - shown)} more</button>}
    </section>
  );
}
