/**
 * FHIR resources → one feature row per patient, for the models in this folder.
 *
 * A FeatureView is a small declarative spec in the spirit of SQL on FHIR ViewDefinitions: each
 * column names a LOINC code (latest value) or a SNOMED CT condition (0/1), or the patient's age or
 * sex. The resources are first flattened by fixed ViewDefinitions evaluated with Medplum's
 * `evalSqlOnFhir` (one row per Observation value — components included — per Condition code, per
 * Patient); this module then picks, per patient and column, the latest value or the presence.
 * https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/
 */
import { evalSqlOnFhir } from '@medplum/core';
import type { Resource, ViewDefinition } from '@medplum/fhirtypes';
import { patientIdOf } from '../records/extract.js';
import type { Matrix } from './matrix.js';
import { AGE_BAND_EXTENSION, ageInYears } from './deidentify.js';

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';

export type FeatureColumn =
  /** The latest value of an Observation (or Observation component) with one of these LOINC codes. */
  | { name: string; kind: 'observation'; loinc: string | readonly string[]; unit?: string }
  /** 1 if the patient has an active, not refuted Condition with one of these SNOMED CT codes, else 0. */
  | { name: string; kind: 'condition'; snomed: string | readonly string[] }
  /** Age in whole years at `asOf`, capped at 90 (a "90+" age band counts as 90). */
  | { name: string; kind: 'age' }
  /** 1 male, 0 female, missing otherwise. */
  | { name: string; kind: 'sex' };

export interface FeatureView {
  name: string;
  columns: readonly FeatureColumn[];
}

export interface FeatureRows {
  /** Patient ids (as in the resources' references), sorted; row i is patients[i]. */
  patients: string[];
  columns: string[];
  /** NaN where a patient has no value. */
  x: Matrix;
  /** Values left out, with why (a unit other than the column's). */
  skipped: string[];
}

/** Common cardiovascular inputs (LOINC), matching the lifestyle rules' measures. */
export const CARDIO_VIEW: FeatureView = {
  name: 'cardio',
  columns: [
    { name: 'age', kind: 'age' },
    { name: 'sex', kind: 'sex' },
    { name: 'systolicBp', kind: 'observation', loinc: '8480-6', unit: 'mm[Hg]' },
    { name: 'diastolicBp', kind: 'observation', loinc: '8462-4', unit: 'mm[Hg]' },
    { name: 'bmi', kind: 'observation', loinc: '39156-5', unit: 'kg/m2' },
    { name: 'totalCholesterol', kind: 'observation', loinc: '2093-3', unit: 'mg/dL' },
    { name: 'ldlCholesterol', kind: 'observation', loinc: ['18262-6', '13457-7', '2089-1'], unit: 'mg/dL' },
    { name: 'hba1c', kind: 'observation', loinc: '4548-4', unit: '%' },
    { name: 'diabetes', kind: 'condition', snomed: '44054006' },
    { name: 'hypertension', kind: 'condition', snomed: '38341003' },
  ],
};

const viewOf = (resource: string, select: ViewDefinition['select']) => ({ resourceType: 'ViewDefinition', status: 'active', resource, select }) as ViewDefinition;

/** The LOINC codes, value and unit of an Observation or of one of its components. */
const CODED_QUANTITY = [
  { name: 'code', path: `code.coding.where(system='${LOINC}').code`, collection: true },
  { name: 'value', path: 'value.ofType(Quantity).value' },
  { name: 'unit', path: 'value.ofType(Quantity).code | value.ofType(Quantity).unit', collection: true },
];

/** One row per Observation value: the Observation's own, and each component's (a blood-pressure panel holds both pressures). */
const OBSERVATION_VIEW = viewOf('Observation', [
  {
    column: [
      { name: 'patient', path: 'subject.reference' },
      { name: 'status', path: 'status' },
      { name: 'effective', path: '(effective.ofType(dateTime) | effective.ofType(instant) | effective.ofType(Period).start | issued).first()' },
    ],
  },
  { unionAll: [{ column: CODED_QUANTITY }, { forEach: 'component', column: CODED_QUANTITY }] },
]);

const CONDITION_VIEW = viewOf('Condition', [
  {
    column: [
      { name: 'patient', path: 'subject.reference' },
      { name: 'clinical', path: 'clinicalStatus.coding.code.first()' },
      { name: 'verification', path: 'verificationStatus.coding.code.first()' },
      { name: 'code', path: `code.coding.where(system='${SNOMED}').code`, collection: true },
    ],
  },
]);

const PATIENT_VIEW = viewOf('Patient', [
  {
    column: [
      { name: 'id', path: 'id' },
      { name: 'birthDate', path: 'birthDate' },
      { name: 'gender', path: 'gender' },
      { name: 'ageBand', path: `extension.where(url='${AGE_BAND_EXTENSION}').value.ofType(string)` },
    ],
  },
]);

const patientOf = (reference: unknown) => (typeof reference === 'string' ? patientIdOf({ reference }) : undefined);
const asList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
const codesOf = (c: { loinc: string | readonly string[] } | { snomed: string | readonly string[] }) => {
  const codes = 'loinc' in c ? c.loinc : c.snomed;
  return typeof codes === 'string' ? [codes] : [...codes];
};

/** Inactive or wrong conditions do not count (R4 condition-clinical and condition-ver-status). */
const INACTIVE = new Set(['inactive', 'remission', 'resolved']);
const NOT_TRUE = new Set(['refuted', 'entered-in-error']);
/** Observation statuses whose values are not results. */
const NOT_RESULTS = new Set(['entered-in-error', 'cancelled', 'registered']);

/**
 * One row per patient: every patient that has a Patient resource or is the subject of an
 * Observation or Condition among `resources`. Deterministic: patients sorted by id; among values
 * with the same time the later resource in `resources` wins.
 */
export function buildFeatureRows(resources: readonly Resource[], view: FeatureView, options: { asOf?: Date } = {}): FeatureRows {
  const asOf = options.asOf ?? new Date();
  const byType = (type: string) => resources.filter((r) => r.resourceType === type);
  const patientRows = evalSqlOnFhir(PATIENT_VIEW, byType('Patient'));
  const observationRows = evalSqlOnFhir(OBSERVATION_VIEW, byType('Observation'));
  const conditionRows = evalSqlOnFhir(CONDITION_VIEW, byType('Condition'));

  const ids = new Set<string>();
  for (const p of patientRows) if (typeof p.id === 'string') ids.add(p.id);
  for (const o of [...observationRows, ...conditionRows]) {
    const id = patientOf(o.patient);
    if (id) ids.add(id);
  }
  const patients = [...ids].sort();
  const rowOf = new Map(patients.map((id, i) => [id, i]));
  const d = view.columns.length;
  const data = new Float64Array(patients.length * d).fill(NaN);
  const skipped: string[] = [];

  view.columns.forEach((column, c) => {
    if (column.kind === 'age' || column.kind === 'sex') {
      for (const p of patientRows) {
        const i = rowOf.get(p.id as string)!;
        if (column.kind === 'sex') data[i * d + c] = p.gender === 'male' ? 1 : p.gender === 'female' ? 0 : NaN;
        else if (p.ageBand === '90+') data[i * d + c] = 90;
        else if (typeof p.birthDate === 'string') {
          const age = ageInYears(p.birthDate, asOf);
          if (age !== undefined) data[i * d + c] = Math.min(90, age);
        }
      }
      return;
    }
    const codes = new Set(codesOf(column));
    if (column.kind === 'condition') {
      for (let i = 0; i < patients.length; i++) data[i * d + c] = 0;
      for (const row of conditionRows) {
        const i = rowOf.get(patientOf(row.patient) ?? '');
        if (i === undefined || !asList(row.code).some((code) => codes.has(code))) continue;
        if (INACTIVE.has(row.clinical as string) || NOT_TRUE.has(row.verification as string)) continue;
        data[i * d + c] = 1;
      }
      return;
    }
    const latest = new Map<number, number>();
    for (const row of observationRows) {
      const i = rowOf.get(patientOf(row.patient) ?? '');
      if (i === undefined || typeof row.value !== 'number' || NOT_RESULTS.has(row.status as string)) continue;
      if (!asList(row.code).some((code) => codes.has(code))) continue;
      const unit = asList(row.unit);
      if (column.unit && !unit.includes(column.unit)) {
        skipped.push(`${column.name}: ${row.value} ${unit.join('/') || '(no unit)'} for Patient/${patients[i]} is not in ${column.unit}`);
        continue;
      }
      const time = typeof row.effective === 'string' ? Date.parse(row.effective) : -Infinity;
      const t = Number.isNaN(time) ? -Infinity : time;
      if (t >= (latest.get(i) ?? -Infinity)) {
        latest.set(i, t);
        data[i * d + c] = row.value;
      }
    }
  });
  return { patients, columns: view.columns.map((c) => c.name), x: { data, rows: patients.length, cols: d }, skipped };
}
