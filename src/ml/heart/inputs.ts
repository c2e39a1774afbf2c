/**
 * One patient's FHIR records → the heart model's 13 inputs, each with where it came from or why it
 * is missing. The codes are HEART_FHIR's (src/ml/heart-codes.ts), the ones the demo generator and the
 * UCI converter write: the latest reading per code wins, a blood-pressure panel's systolic component
 * counts as 8480-6, age comes from an age Observation or else the Patient's birth date, sex from the
 * Patient's gender. Browser-safe.
 */
import type { Coding, Patient, Resource } from '@medplum/fhirtypes';
import { HEART_FHIR, heartObservationValue, type HeartAttribute } from '../heart-codes.js';
import { latestReading, readingDate, type Reading } from '../fhir-values.js';
import type { ServedLogistic } from '../served-model.js';
import type { HeartInput, SourceCoding } from './types.js';

/** What each input is, in words a clinician and a patient read. */
export const HEART_LABELS: Record<string, string> = {
  age: 'Age',
  sex: 'Sex',
  cp: 'Chest pain type',
  trestbps: 'Resting systolic blood pressure',
  chol: 'Serum cholesterol',
  fbs: 'Fasting blood sugar above 120 mg/dL',
  restecg: 'Resting ECG',
  thalach: 'Maximum heart rate in exercise test',
  exang: 'Angina during exercise',
  oldpeak: 'ST depression in exercise test',
  slope: 'Slope of the peak exercise ST segment',
  ca: 'Major vessels coloured by fluoroscopy',
  thal: 'Thallium stress scan',
};

/** An input before the model weighs it: the raw value (NaN when the model fills it in). */
export type ReadInput = Omit<HeartInput, 'contribution'> & { raw: number };

export interface HeartReading {
  row: number[];
  observed: boolean[];
  inputs: ReadInput[];
  patient?: Patient;
}

/** Short system names, as clinicians write them. */
export function systemName(system: string | undefined): string {
  if (system === 'http://loinc.org') return 'LOINC';
  if (system === 'http://snomed.info/sct') return 'SNOMED CT';
  return system?.startsWith('urn:medledger:') ? `local code ${system}` : (system ?? 'no system');
}

const sourceCoding = (c: Coding): SourceCoding => ({ system: c.system ?? '', code: c.code ?? '', ...(c.display ? { display: c.display } : {}) });

const round = (v: number) => Math.round(v * 100) / 100;

/** How a raw value is shown: the answer's words for coded inputs, yes/no, male/female, else the number. */
export function shownValue(name: string, a: HeartAttribute, v: number): number | string {
  if (Number.isNaN(v)) return NaN;
  if (a.kind === 'gender') return v === 1 ? 'male' : v === 0 ? 'female' : round(v);
  if (a.kind === 'coded') return a.levels[v] ?? round(v);
  if (a.kind === 'boolean' || a.kind === 'above') return v === 1 ? 'yes' : v === 0 ? 'no' : round(v);
  return round(v);
}

/** Whole years from `birthDate` (YYYY, YYYY-MM or YYYY-MM-DD) to `asOf`. */
export function ageAt(birthDate: string, asOf: Date): number | undefined {
  const [y, m = 1, d = 1] = birthDate.split('-').map(Number);
  if (!y || !Number.isFinite(y)) return undefined;
  let age = asOf.getUTCFullYear() - y;
  if (asOf.getUTCMonth() + 1 < m! || (asOf.getUTCMonth() + 1 === m && asOf.getUTCDate() < d!)) age--;
  return age >= 0 && age < 130 ? age : undefined;
}

/** Reads every input of the served heart model from `resources` (one patient's records). */
export function readHeartInputs(p: ServedLogistic, resources: readonly Resource[]): HeartReading {
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
  const inputs: ReadInput[] = [];
  const dates: string[] = [];
  const codedInputs = p.features.map((f) => {
    const a = HEART_FHIR[f.name];
    if (!a) throw new Error(`the heart model has an input HEART_FHIR does not code: ${f.name}`);
    if (a.kind === 'gender' || f.name === 'age') return undefined;
    const found = latestReading(resources, a.code, (r) => heartObservationValue(r.value, a, f.name) !== undefined);
    const date = found.usable?.date;
    if (date) dates.push(date);
    return found;
  });
  // Age from a birth date is the age when the other inputs were measured (the latest of them), else today.
  const times = dates.map((d) => Date.parse(d)).filter(Number.isFinite);
  const asOf = new Date(times.length ? Math.max(...times) : Date.now());
  p.features.forEach((f, j) => {
    const a = HEART_FHIR[f.name]!;
    const base = { feature: f.name, label: HEART_LABELS[f.name] ?? f.name, ...(f.unit ? { unit: f.unit } : {}), modifiable: f.modifiable === true };
    if (a.kind === 'gender') inputs.push({ ...base, ...readSex(patient) });
    else if (f.name === 'age') inputs.push({ ...base, ...readAge(resources, a, patient, asOf) });
    else inputs.push({ ...base, ...readCoded(f.name, a, codedInputs[j]!) });
  });
  const row = inputs.map((i) => i.raw);
  const filled = inputs.map((input, j) => withFill(p, j, input));
  return { row, observed: inputs.map((i) => i.status === 'observed'), inputs: filled, patient };
}

type Read = Pick<ReadInput, 'raw' | 'status' | 'source' | 'note' | 'value'>;

function readSex(patient: Patient | undefined): Read {
  if (!patient) return { raw: NaN, value: null, status: 'missing', note: 'no Patient record among the records you may read (sex is its gender)' };
  const source = { resourceType: 'Patient', ...(patient.id ? { id: patient.id } : {}) };
  if (patient.gender === 'male' || patient.gender === 'female') return { raw: patient.gender === 'male' ? 1 : 0, value: patient.gender, status: 'observed', source };
  return { raw: NaN, value: null, status: patient.gender ? 'imputed' : 'missing', source, note: `Patient${patient.id ? `/${patient.id}` : ''} gives ${patient.gender ? `gender "${patient.gender}", which the model (trained on male and female patients) cannot use` : 'no gender'}` };
}

type Coded = Exclude<HeartAttribute, { kind: 'gender' }>;

function readAge(resources: readonly Resource[], a: Coded, patient: Patient | undefined, asOf: Date): Read {
  const { code } = a;
  const found = latestReading(resources, code, (r) => heartObservationValue(r.value, a, 'age') !== undefined);
  if (found.usable) return observedFrom(found.usable, heartObservationValue(found.usable.value, a, 'age')!);
  const age = patient?.birthDate ? ageAt(patient.birthDate, asOf) : undefined;
  if (age !== undefined) {
    const day = asOf.toISOString().slice(0, 10);
    return { raw: age, value: age, status: 'observed', source: { resourceType: 'Patient', ...(patient!.id ? { id: patient!.id } : {}), date: patient!.birthDate }, note: `from the birth date, at ${day}` };
  }
  return { raw: NaN, value: null, status: 'missing', note: `no Observation ${systemName(code.system)} ${code.code} (age) and no Patient birth date among the records you may read` };
}

function readCoded(name: string, a: Coded, found: { usable?: Reading; newest?: Reading }): Read {
  if (found.usable) return observedFrom(found.usable, heartObservationValue(found.usable.value, a, name)!);
  const what = `Observation ${systemName(a.code.system)} ${a.code.code} (${a.code.display ?? name})`;
  if (found.newest) {
    const o = found.newest.observation;
    return { raw: NaN, value: null, status: 'imputed', source: sourceOf(found.newest), note: `${what}: Observation/${o.id ?? '?'} has a value the model cannot read (it expects ${expected(a)})` };
  }
  return { raw: NaN, value: null, status: 'missing', note: `no ${what} among the records you may read` };
}

function expected(a: Coded): string {
  switch (a.kind) {
    case 'quantity':
      return `a quantity in ${a.unit}`;
    case 'above':
      return `a quantity in ${a.unit} that says whether it is above ${a.threshold}`;
    case 'boolean':
      return 'true or false';
    case 'coded':
      return `one of ${Object.values(a.levels).join(', ')}`;
  }
}

function sourceOf(r: Reading): NonNullable<HeartInput['source']> {
  const date = readingDate(r.observation);
  return { resourceType: 'Observation', ...(r.observation.id ? { id: r.observation.id } : {}), code: sourceCoding(r.coding), ...(date ? { date } : {}) };
}

function observedFrom(r: Reading, raw: number): Read {
  return { raw, value: raw, status: 'observed', source: sourceOf(r) };
}

/** The shown value of every input, and for one the model fills in, what it used instead. */
function withFill(p: ServedLogistic, j: number, input: ReadInput): ReadInput {
  const a = HEART_FHIR[input.feature]!;
  if (input.status === 'observed') return { ...input, value: shownValue(input.feature, a, input.raw) };
  const fill = p.encoder.fill[j];
  const oneHot = p.encoder.columns.some((c) => c.feature === j && typeof c.level === 'number');
  if (oneHot || fill === null || fill === undefined || Number.isNaN(fill)) return { ...input, value: null, note: `${input.note}; the model counts it as unknown` };
  const shown = shownValue(input.feature, a, fill);
  return { ...input, value: shown, note: `${input.note}; the model used the training median, ${shown}${input.unit && typeof shown === 'number' ? ` ${input.unit}` : ''}` };
}
