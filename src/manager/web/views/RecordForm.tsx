/** Forms for common records that produce valid FHIR R4: a lab result, vital signs, a condition. */
import { useState } from 'react';
import type { Condition, Observation, Resource } from '@medplum/fhirtypes';
import { CATEGORY, CONDITIONS, LABS, SYSTEM, VITALS, concept, interpret, INTERPRETATION_DISPLAY, type ConditionKey, type LabKey, type Range } from '../../../demo/terminology.js';
import type { Session } from '../lib/session.js';
import { useAction } from '../lib/use.js';

type Kind = 'lab' | 'vitals' | 'condition';

const quantity = (value: number, unit: { code: string; display: string }) => ({ value, unit: unit.display, system: SYSTEM.ucum, code: unit.code });

/** A lab Observation with its reference range and the interpretation the range gives. */
export function labObservation(patientId: string, key: LabKey, value: number, sex: 'female' | 'male', when: string): Observation {
  const lab = LABS[key];
  const range: Range = lab.range(sex);
  const flag = interpret(value, range);
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [CATEGORY.laboratory],
    code: concept(SYSTEM.loinc, lab.code, lab.display),
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: when,
    issued: when,
    valueQuantity: quantity(value, lab.unit),
    referenceRange: [{ ...(range.low !== undefined ? { low: quantity(range.low, lab.unit) } : {}), ...(range.high !== undefined ? { high: quantity(range.high, lab.unit) } : {}) }],
    interpretation: [concept(SYSTEM.interpretation, flag, INTERPRETATION_DISPLAY[flag])],
  };
}

function bloodPressure(patientId: string, systolic: number, diastolic: number, when: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [CATEGORY.vitalSigns],
    code: concept(SYSTEM.loinc, VITALS.bloodPressure.code, VITALS.bloodPressure.display),
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: when,
    component: [
      { code: concept(SYSTEM.loinc, VITALS.systolic.code, VITALS.systolic.display), valueQuantity: quantity(systolic, VITALS.systolic.unit) },
      { code: concept(SYSTEM.loinc, VITALS.diastolic.code, VITALS.diastolic.display), valueQuantity: quantity(diastolic, VITALS.diastolic.unit) },
    ],
  };
}

function condition(patientId: string, key: ConditionKey, when: string): Condition {
  const c = CONDITIONS[key];
  return {
    resourceType: 'Condition',
    clinicalStatus: concept(SYSTEM.conditionClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
    category: [CATEGORY.problemList],
    code: { ...concept(SYSTEM.snomed, c.code, c.display), text: c.text },
    subject: { reference: `Patient/${patientId}` },
    onsetDateTime: when,
    recordedDate: when,
  };
}

export function RecordForm({ s, patientId, onSaved }: { s: Session; patientId: string; onSaved: () => void }) {
  const [kind, setKind] = useState<Kind>('lab');
  const [lab, setLab] = useState<LabKey>('hba1c');
  const [value, setValue] = useState('6.1');
  const [sys, setSys] = useState('128');
  const [dia, setDia] = useState('82');
  const [cond, setCond] = useState<ConditionKey>('hypertension');
  const action = useAction();
  const save = () =>
    action.run(async () => {
      const when = new Date().toISOString();
      let resource: Resource;
      if (kind === 'lab') {
        const v = Number(value);
        if (!Number.isFinite(v) || value.trim() === '') throw new Error('enter a number');
        const patient = (await s.gatekeeper(s.account.address).get<{ gender?: string }>(`/fhir/R4/Patient/${patientId}`)).body;
        resource = labObservation(patientId, lab, v, patient.gender === 'male' ? 'male' : 'female', when);
      } else if (kind === 'vitals') {
        resource = bloodPressure(patientId, Number(sys), Number(dia), when);
      } else {
        resource = condition(patientId, cond, when);
      }
      const r = await s.gatekeeper(s.account.address).post<Resource>(`/fhir/R4/${resource.resourceType}`, resource);
      onSaved();
      return `Saved ${r.body.resourceType}/${r.body.id}; the pointer's hash on chain is updated.`;
    });
  return (
    <fieldset data-testid="record-form">
      <legend>Add a record</legend>
      <label>Kind <select value={kind} onChange={(e) => setKind(e.target.value as Kind)} data-testid="record-kind">
        <option value="lab">Lab result</option><option value="vitals">Blood pressure</option><option value="condition">Condition</option>
      </select></label>
      {kind === 'lab' && (
        <>
          <label>Test <select value={lab} onChange={(e) => setLab(e.target.value as LabKey)} data-testid="record-lab">
            {Object.entries(LABS).map(([k, l]) => <option key={k} value={k}>{l.display.split(' [')[0]}</option>)}
          </select></label>
          <label>Value <input size={6} value={value} onChange={(e) => setValue(e.target.value)} data-testid="record-value" /> {LABS[lab].unit.display}</label>
        </>
      )}
      {kind === 'vitals' && (
        <label>Systolic / diastolic <input size={4} value={sys} onChange={(e) => setSys(e.target.value)} /> / <input size={4} value={dia} onChange={(e) => setDia(e.target.value)} /> mmHg</label>
      )}
      {kind === 'condition' && (
        <label>Condition <select value={cond} onChange={(e) => setCond(e.target.value as ConditionKey)}>
          {Object.entries(CONDITIONS).map(([k, c]) => <option key={k} value={k}>{c.text}</option>)}
        </select></label>
      )}
      <button onClick={save} disabled={action.busy} data-testid="record-save">{action.busy ? 'Saving…' : 'Save'}</button>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
    </fieldset>
  );
}
