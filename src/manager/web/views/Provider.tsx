/**
 * The provider's manager: find a patient in the Registrar, add records through the provider's own
 * gatekeeper (which stores them and updates the pointer hash on chain), see what each patient has
 * granted, query the store, and open emergency access to a patient who cannot consent.
 */
import { useState } from 'react';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { listProviderRelationships, readSummary } from '../../../sdk/summary.js';
import { resourcesOf, scopeLabel } from '../lib/fhir.js';
import type { Session } from '../lib/session.js';
import { expiryText, useAction, useLoad } from '../lib/use.js';
import { EmergencyAccess } from './EmergencyAccess.js';
import { BreastCytologyPanel } from './ml/BreastCytologyPanel.js';
import { HeartRiskPanel } from './ml/HeartRiskPanel.js';
import { Records } from './Records.js';
import { RecordForm } from './RecordForm.js';
import { Upload } from './Upload.js';

import { ADDRESS_SYSTEM } from '../../../protocol/identifiers.js';

interface Linked {
  address: Address;
  patient?: Patient;
}

async function myPatients(s: Session): Promise<Linked[]> {
  const rels = await listProviderRelationships(s.ledger, s.account.address);
  const gk = s.gatekeeper(s.account.address);
  return Promise.all(
    rels.map(async ({ patient }) => ({
      address: patient,
      patient: resourcesOf((await gk.get(`/fhir/R4/Patient?identifier=${encodeURIComponent(`${ADDRESS_SYSTEM}|${patient.toLowerCase()}`)}`)).body)[0] as Patient | undefined,
    })),
  );
}

const nameOf = (p?: Patient) => (p ? `${p.name?.[0]?.given?.join(' ') ?? ''} ${p.name?.[0]?.family ?? ''}`.trim() : 'not in this store');

function PatientPanel({ s, linked, version }: { s: Session; linked: Linked; version: number }) {
  const gk = s.gatekeeper(s.account.address);
  const [saved, setSaved] = useState(0);
  const records = useLoad(async () => (linked.patient ? resourcesOf((await gk.get(`/fhir/R4/Patient/${linked.patient.id}/$everything`)).body) : []), [linked.address, saved, version]);
  const grants = useLoad(async () => (await readSummary(s.ledger, linked.address)).relationships.find((r) => r.provider.toLowerCase() === s.account.address.toLowerCase()), [linked.address, saved, version]);
  return (
    <div className="panel">
      <h3>{nameOf(linked.patient)} <span className="muted">{linked.address}</span></h3>
      {grants.data && (
        <p>
          Status in the patient's Summary: <strong data-testid="provider-status">{grants.data.status}</strong>. Shared by the patient:{' '}
          {grants.data.grants.length === 0 ? 'nothing' : grants.data.grants.map((g) => `${scopeLabel(g.scope)} with ${s.nameOf(g.viewer)} (${expiryText(g.expiresAt)})`).join('; ')}
        </p>
      )}
      {linked.patient?.id && <RecordForm s={s} patientId={linked.patient.id} onSaved={() => setSaved((n) => n + 1)} />}
      {linked.patient?.id && <Upload s={s} patientId={linked.patient.id} onSaved={() => setSaved((n) => n + 1)} />}
      {records.error && <p className="error">{records.error}</p>}
      {records.data && <Records items={records.data.map((resource: Resource) => ({ resource, source: s.name }))} />}
      {linked.patient && <HeartRiskPanel audience="clinician" from={`the records your own gatekeeper returned for ${nameOf(linked.patient)}`} resources={records.data} />}
      {linked.patient && <BreastCytologyPanel from={`the records your own gatekeeper returned for ${nameOf(linked.patient)}`} resources={records.data} />}
    </div>
  );
}

function QueryBox({ s }: { s: Session }) {
  const [path, setPath] = useState('Observation?category=laboratory&_count=20');
  const action = useAction();
  const [result, setResult] = useState<{ resources: Resource[]; hash?: string }>();
  const run = () =>
    action.run(async () => {
      const r = await s.gatekeeper(s.account.address).get(`/fhir/R4/${path.replace(/^\/+/, '')}`);
      setResult({ resources: resourcesOf(r.body), hash: r.dataHash });
    });
  return (
    <fieldset>
      <legend>Query the store through the gatekeeper</legend>
      <code>/fhir/R4/</code><input size={50} value={path} onChange={(e) => setPath(e.target.value)} /> <button onClick={run} disabled={action.busy}>Run</button>
      {action.error && <p className="error">{action.error}</p>}
      {result && <p className="muted">{result.resources.length} resources · data hash {result.hash}</p>}
      {result && <Records items={result.resources.map((resource) => ({ resource, source: s.name }))} />}
    </fieldset>
  );
}

export function ProviderView({ s, version }: { s: Session; version: number }) {
  const [identity, setIdentity] = useState('urn:medledger:demo-mrn|100001');
  const [selected, setSelected] = useState<Address>();
  const [linkVersion, setLinkVersion] = useState(0);
  const patients = useLoad(() => myPatients(s), [linkVersion, version]);
  const action = useAction();
  const find = () =>
    action.run(async () => {
      const r = await s.gatekeeper(s.account.address).post<{ address: Address; patientId: string; published: unknown[] }>('/registrar/link', { identity });
      setLinkVersion((n) => n + 1);
      setSelected(r.body.address);
      return `Found ${r.body.address} in the Registrar; linked to Patient/${r.body.patientId}; ${r.body.published.length} pointers published.`;
    });
  const current = patients.data?.find((p) => p.address.toLowerCase() === selected?.toLowerCase());
  return (
    <div>
      <fieldset>
        <legend>Find a patient in the Registrar</legend>
        <input size={40} value={identity} onChange={(e) => setIdentity(e.target.value)} aria-label="identity" /> <button onClick={find} disabled={action.busy}>Find and link</button>
        {action.error && <p className="error" role="alert">{action.error}</p>}
        {action.message && <p className="ok">{action.message}</p>}
      </fieldset>
      <h3>Your patients on MedLedger</h3>
      {patients.error && <p className="error">{patients.error}</p>}
      <ul className="patients" data-testid="provider-patients">
        {patients.data?.map((p) => (
          <li key={p.address}>
            <button className={p.address === selected ? 'active' : 'link'} onClick={() => setSelected(p.address)}>{nameOf(p.patient)}</button> <span className="muted">{s.nameOf(p.address)}</span>
          </li>
        ))}
      </ul>
      {current && <PatientPanel s={s} linked={current} version={version} />}
      <QueryBox s={s} />
      <EmergencyAccess s={s} patients={patients.data?.map((p) => ({ address: p.address, name: nameOf(p.patient) })) ?? []} />
    </div>
  );
}
