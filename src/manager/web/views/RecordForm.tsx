/**
 * The provider's form for common records, producing valid FHIR R4 (provider/record-resources.ts):
 * a lab result or vital sign picked from a searchable list (the name people use and the clinical
 * name), with its unit, the reference range for the patient's sex and the interpretation it gives;
 * a blood pressure; a condition. The date and time it was measured defaults to now and may not be in
 * the future. Plausibility (src/protocol/plausibility.ts): an impossible value is refused next to the
 * field, an unlikely one needs "I confirm this value"; the gatekeeper refuses impossible values too.
 */
import { useState } from 'react';
import type { Resource } from '@medplum/fhirtypes';
import { CONDITIONS, INTERPRETATION_DISPLAY, concept, interpret, SYSTEM, type ConditionKey, type Sex } from '../../../demo/terminology.js';
import { judgeBloodPressure, judgeValue, type Judgement } from '../../../protocol/plausibility.js';
import { plainNameOf } from '../lib/lab-names.js';
import type { Session } from '../lib/session.js';
import { useAction, useLoad } from '../lib/use.js';
import {
  bloodPressureObservation, conditionResource, localDateTime, measurementObservation, measurementOf, MEASUREMENTS, rangeWords,
  type Measurement, type MeasurementKey,
} from './provider/record-resources.js';
import { refusalText } from './provider/words.js';
import './provider/provider.css';

type Kind = 'lab' | 'vitals' | 'condition';

const plainName = (m: Measurement) => plainNameOf(concept(SYSTEM.loinc, m.code, m.display))?.name ?? m.display;
const optionLabel = (m: Measurement) => `${plainName(m)} — ${m.display}`;

/** An error under its field, named by the field's aria-describedby. */
function FieldError({ id, text }: { id: string; text?: string }) {
  return text ? <p id={id} className="error field-error" data-testid={id}>{text}</p> : null;
}

/** A number typed by a person: undefined when it is not one ("", "7,2" reads as 7.2). */
function numberOf(text: string): number | undefined {
  const t = text.trim().replace(',', '.');
  if (t === '' || !/^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(t)) return undefined;
  return Number(t);
}

function judge(kind: Kind, m: Measurement, value: string, sys: string, dia: string): Judgement {
  if (kind === 'condition') return { level: 'ok' };
  if (kind === 'lab') {
    const v = numberOf(value);
    return v === undefined ? { level: 'impossible', message: `Enter the value as a number in ${m.unit.display}.` } : judgeValue(m.code, v);
  }
  const [s, d] = [numberOf(sys), numberOf(dia)];
  return s === undefined || d === undefined ? { level: 'impossible', message: 'Enter both numbers in mmHg.' } : judgeBloodPressure(s, d);
}

function MeasurementFields({ m, setKey, value, setValue, sex, error }: { m: Measurement; setKey: (k: MeasurementKey) => void; value: string; setValue: (v: string) => void; sex: Sex; error?: string }) {
  const [filter, setFilter] = useState('');
  const shown = MEASUREMENTS.filter((x) => x.key === m.key || optionLabel(x).toLowerCase().includes(filter.trim().toLowerCase()));
  const range = m.range?.(sex);
  const v = numberOf(value);
  const flag = range && v !== undefined && !error ? interpret(v, range) : undefined;
  return (
    <>
      <label>Find a test <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} data-testid="record-lab-search" placeholder="e.g. sugar, HbA1c, pulse" /></label>
      <label>Test or measurement{' '}
        <select value={m.key} onChange={(e) => setKey(e.target.value as MeasurementKey)} data-testid="record-lab">
          {shown.map((x) => <option key={x.key} value={x.key}>{optionLabel(x)}</option>)}
        </select>
      </label>
      <label>Value in {m.unit.display}{' '}
        <input inputMode="decimal" size={8} value={value} onChange={(e) => setValue(e.target.value)} data-testid="record-value"
          aria-invalid={error ? true : undefined} aria-describedby={`record-range${error ? ' record-value-error' : ''}`} /> {m.unit.display}
      </label>
      <FieldError id="record-value-error" text={error} />
      <p id="record-range" className="muted" data-testid="record-range" aria-live="polite">
        {range ? `Reference range (${sex}): ${rangeWords(range, m.unit)}.` : 'No reference range for this measurement.'}
        {flag && <> This value is <strong data-testid="record-interpretation">{INTERPRETATION_DISPLAY[flag]}</strong>.</>}
      </p>
    </>
  );
}

function BloodPressureFields({ sys, setSys, dia, setDia, error }: { sys: string; setSys: (v: string) => void; dia: string; setDia: (v: string) => void; error?: string }) {
  const describedBy = error ? 'record-bp-error' : undefined;
  return (
    <>
      <label>Systolic (top number), mmHg <input inputMode="numeric" size={5} value={sys} onChange={(e) => setSys(e.target.value)} data-testid="record-systolic" aria-invalid={error ? true : undefined} aria-describedby={describedBy} /></label>
      <label>Diastolic (bottom number), mmHg <input inputMode="numeric" size={5} value={dia} onChange={(e) => setDia(e.target.value)} data-testid="record-diastolic" aria-invalid={error ? true : undefined} aria-describedby={describedBy} /></label>
      <FieldError id="record-bp-error" text={error} />
    </>
  );
}

export function RecordForm({ s, patientId, onSaved }: { s: Session; patientId: string; onSaved: () => void }) {
  const [kind, setKind] = useState<Kind>('lab');
  const [key, setKey] = useState<MeasurementKey>('hba1c');
  const [value, setValue] = useState('6.1');
  const [sys, setSys] = useState('128');
  const [dia, setDia] = useState('82');
  const [cond, setCond] = useState<ConditionKey>('hypertension');
  const [when, setWhen] = useState(() => localDateTime(new Date()));
  const [confirmed, setConfirmed] = useState(false);
  const [tried, setTried] = useState(false);
  const action = useAction();
  const gk = s.gatekeeper(s.account.address);
  const patient = useLoad(async () => (await gk.get<{ gender?: string }>(`/fhir/R4/Patient/${patientId}`)).body, [patientId]);
  const sex: Sex = patient.data?.gender === 'male' ? 'male' : 'female';
  const m = measurementOf(key);
  const judged = judge(kind, m, value, sys, dia);
  const at = new Date(when);
  const whenError = Number.isNaN(at.getTime()) ? 'Enter the date and time it was measured.' : at.getTime() > Date.now() + 60_000 ? 'The date and time is in the future; enter when it was measured.' : undefined;
  const valueError = judged.level === 'impossible' && (tried || value.trim() !== '') ? judged.message : undefined;
  const confirmError = judged.level === 'unlikely' && tried && !confirmed ? 'Tick "I confirm this value" to save it, or correct it.' : undefined;
  const change = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setConfirmed(false);
    setTried(false);
  };
  const save = () => {
    setTried(true);
    if (whenError || judged.level === 'impossible' || (judged.level === 'unlikely' && !confirmed)) return;
    return action.run(async () => {
      const iso = at.toISOString();
      const resource: Resource =
        kind === 'lab' ? measurementObservation(patientId, m, numberOf(value)!, sex, iso)
        : kind === 'vitals' ? bloodPressureObservation(patientId, numberOf(sys)!, numberOf(dia)!, iso)
        : conditionResource(patientId, cond, iso);
      try {
        const r = await gk.post<Resource>(`/fhir/R4/${resource.resourceType}`, resource);
        onSaved();
        setTried(false);
        return `Saved ${r.body.resourceType}/${r.body.id}; measured ${at.toLocaleString()}; the pointer's hash on chain is updated.`;
      } catch (err) {
        throw new Error(refusalText('the record', err));
      }
    });
  };
  return (
    <fieldset data-testid="record-form" className="record-form">
      <legend>Add a record</legend>
      <label>Kind <select value={kind} onChange={(e) => change(setKind)(e.target.value as Kind)} data-testid="record-kind">
        <option value="lab">Lab result or vital sign</option><option value="vitals">Blood pressure</option><option value="condition">Condition</option>
      </select></label>
      {kind === 'lab' && <MeasurementFields m={m} setKey={change(setKey)} value={value} setValue={change(setValue)} sex={sex} error={valueError} />}
      {kind === 'vitals' && <BloodPressureFields sys={sys} setSys={change(setSys)} dia={dia} setDia={change(setDia)} error={valueError} />}
      {kind === 'condition' && (
        <label>Condition <select value={cond} onChange={(e) => setCond(e.target.value as ConditionKey)} data-testid="record-condition">
          {Object.entries(CONDITIONS).map(([k, c]) => <option key={k} value={k}>{c.text} — {c.display}</option>)}
        </select></label>
      )}
      <label>{kind === 'condition' ? 'Onset date and time' : 'Measured on'}{' '}
        <input type="datetime-local" value={when} max={localDateTime(new Date())} onChange={(e) => setWhen(e.target.value)} data-testid="record-when"
          aria-invalid={whenError ? true : undefined} aria-describedby={whenError ? 'record-when-error' : undefined} />
      </label>
      <FieldError id="record-when-error" text={whenError} />
      {judged.level === 'unlikely' && (
        <div className="record-confirm" data-testid="record-unlikely">
          <p id="record-unlikely-text">{judged.message}</p>
          <label><input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} data-testid="record-confirm" aria-describedby="record-unlikely-text" /> I confirm this value</label>
          <FieldError id="record-confirm-error" text={confirmError} />
        </div>
      )}
      <div><button onClick={save} disabled={action.busy} data-testid="record-save">{action.busy ? 'Saving…' : 'Save'}</button></div>
      {action.error && <p className="error" role="alert" data-testid="record-error">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
    </fieldset>
  );
}
