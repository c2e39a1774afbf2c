/**
 * The provider's manager: every patient of its own store (search, birth date, identifier, whether
 * each is on MedLedger, "Find and link" through the Registrar), add records through the provider's
 * own gatekeeper (which stores them and updates the pointer hash on chain), see what each patient has
 * shared, query the store, and open emergency access to a patient who cannot consent.
 */
import { useState } from 'react';
import type { Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { readSummary } from '../../../sdk/summary.js';
import { resourcesOf, scopeLabel } from '../lib/fhir.js';
import type { Session } from '../lib/session.js';
import { expiryText, useAction, useLoad } from '../lib/use.js';
import { EmergencyAccess } from './EmergencyAccess.js';
import { BreastCytologyPanel } from './ml/BreastCytologyPanel.js';
import { HeartRiskPanel } from './ml/HeartRiskPanel.js';
import { keyOf, loadPatientRows, nameOf, type PatientRow } from './provider/patients.js';
import { PatientList } from './provider/PatientList.js';
import { QueryBox } from './provider/QueryBox.js';
import { refusalText, STATUS_WORDS } from './provider/words.js';
import { Records } from './Records.js';
import { RecordForm } from './RecordForm.js';
import { Upload } from './Upload.js';
import './provider/provider.css';

/** What the patient's Summary says of this provider's relationship: its status and the patient's shares, in words. */
function SharingState({ s, address, version }: { s: Session; address: Address; version: number }) {
  const rel = useLoad(async () => (await readSummary(s.ledger, address)).relationships.find((r) => r.provider.toLowerCase() === s.account.address.toLowerCase()), [address, version]);
  if (rel.error) return <p className="error">The patient's Summary could not be read: {rel.error}</p>;
  if (!rel.data) return rel.loading ? <p className="muted">Reading the patient's Summary…</p> : <p>No records of yours are on this patient's Summary yet.</p>;
  const shares = rel.data.grants.map((g) => `${scopeLabel(g.scope)} with ${s.nameOf(g.viewer)} (${expiryText(g.expiresAt)})`);
  return (
    <p>
      Status on the patient's Summary: <strong data-testid="provider-status">{STATUS_WORDS[rel.data.status]}</strong>. Shared by the patient:{' '}
      {shares.length === 0 ? 'nothing' : shares.join('; ')}.
    </p>
  );
}

function PatientPanel({ s, row, version }: { s: Session; row: PatientRow; version: number }) {
  const gk = s.gatekeeper(s.account.address);
  const [saved, setSaved] = useState(0);
  const id = row.patient?.id;
  const records = useLoad(async () => (id ? resourcesOf((await gk.get(`/fhir/R4/Patient/${id}/$everything`)).body) : []), [id, saved, version]);
  const name = nameOf(row.patient);
  return (
    <div className="panel" data-testid="patient-panel">
      <h3>{name}</h3>
      {row.address && (
        <details className="provider-details"><summary>Details</summary>MedLedger account: <code>{row.address}</code>{id && <> · record id in your store: <code>Patient/{id}</code></>}</details>
      )}
      {row.linked && row.address ? <SharingState s={s} address={row.address} version={version + saved} /> : <p>Not on MedLedger yet: what you add stays in your store until the patient is linked.</p>}
      {id && <RecordForm s={s} patientId={id} onSaved={() => setSaved((n) => n + 1)} />}
      {id && <Upload s={s} patientId={id} onSaved={() => setSaved((n) => n + 1)} />}
      {records.error && <p className="error">{records.error}</p>}
      {records.data && <Records items={records.data.map((resource: Resource) => ({ resource, source: s.name }))} />}
      {row.patient && <HeartRiskPanel audience="clinician" from={`the records your own gatekeeper returned for ${name}`} resources={records.data} />}
      {row.patient && <BreastCytologyPanel from={`the records your own gatekeeper returned for ${name}`} resources={records.data} />}
    </div>
  );
}

/** Link a patient by an identity typed in ("system|value"), for one not in the list's identifiers. */
function RegistrarLink({ s, onLinked }: { s: Session; onLinked: (key: string) => void }) {
  const [identity, setIdentity] = useState('urn:medledger:demo-mrn|100001');
  const action = useAction();
  const find = () =>
    action.run(async () => {
      try {
        const r = await s.gatekeeper(s.account.address).post<{ patientId: string; published: unknown[] }>('/registrar/link', { identity });
        onLinked(r.body.patientId);
        return `Found the patient in the Registrar and linked them; ${r.body.published.length} record sets were published to their Summary.`;
      } catch (err) {
        throw new Error(refusalText('the link', err));
      }
    });
  return (
    <details className="provider-details">
      <summary>Link a patient by another identifier</summary>
      <label>Identifier (system|value) <input size={40} value={identity} onChange={(e) => setIdentity(e.target.value)} /></label>{' '}
      <button onClick={find} disabled={action.busy}>Find and link</button>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
    </details>
  );
}

export function ProviderView({ s, version }: { s: Session; version: number }) {
  const [selected, setSelected] = useState<string>();
  const [linkVersion, setLinkVersion] = useState(0);
  const patients = useLoad(() => loadPatientRows(s), [linkVersion, version]);
  const linked = (key: string) => {
    setLinkVersion((n) => n + 1);
    setSelected(key);
  };
  const rows = patients.data?.rows ?? [];
  const current = rows.find((r) => keyOf(r) === selected);
  return (
    <div>
      {patients.error && <p className="error">Your patient list could not be loaded: {patients.error}</p>}
      {patients.loading && !patients.data && <p className="muted">Loading your patients…</p>}
      {patients.data && <PatientList s={s} rows={rows} total={patients.data.total} selected={selected} onSelect={setSelected} onLinked={linked} />}
      <RegistrarLink s={s} onLinked={linked} />
      {current && <PatientPanel s={s} row={current} version={version} />}
      <QueryBox s={s} />
      <EmergencyAccess s={s} patients={rows.flatMap((r) => (r.linked && r.address ? [{ address: r.address, name: nameOf(r.patient) }] : []))} />
    </div>
  );
}
