/**
 * The FHIR R4 resources the provider's record form writes: a lab result (with its reference range
 * by sex and the interpretation that range gives), a vital sign, a blood pressure panel
 * (https://hl7.org/fhir/R4/observation-vitalsigns.html), a problem-list Condition. Quantities carry
 * their UCUM code, so the gatekeeper's plausibility check (src/protocol/plausibility.ts) reads them.
 */
import type { Condition, Observation } from '@medplum/fhirtypes';
import {
  CATEGORY, CONDITIONS, INTERPRETATION_DISPLAY, LABS, SYSTEM, VITALS, concept, interpret,
  type ConditionKey, type LabKey, type Range, type Sex, type Unit,
} from '../../../../demo/terminology.js';

/** Vital signs entered one value at a time (blood pressure has its own two-value entry). */
export type VitalKey = Exclude<keyof typeof VITALS, 'bloodPressure' | 'systolic' | 'diastolic'>;
export type MeasurementKey = LabKey | VitalKey;

export interface Measurement {
  key: MeasurementKey;
  code: string;
  display: string;
  unit: Unit;
  kind: 'lab' | 'vital';
  range?: (sex: Sex) => Range;
}

const VITAL_KEYS: readonly VitalKey[] = ['heartRate', 'bodyWeight', 'bodyHeight', 'bmi', 'bodyTemperature'];

/** Every lab and single-value vital sign of the terminology, labs first. */
export const MEASUREMENTS: readonly Measurement[] = [
  ...Object.entries(LABS).map(([key, l]) => ({ key: key as LabKey, code: l.code, display: l.display, unit: l.unit, kind: 'lab' as const, range: l.range as (sex: Sex) => Range })),
  ...VITAL_KEYS.map((key) => ({ key, code: VITALS[key].code, display: VITALS[key].display, unit: VITALS[key].unit, kind: 'vital' as const })),
];

export const measurementOf = (key: MeasurementKey): Measurement => MEASUREMENTS.find((m) => m.key === key)!;

const quantity = (value: number, unit: Unit) => ({ value, unit: unit.display, system: SYSTEM.ucum, code: unit.code });

/** A lab or vital sign Observation; a lab carries its reference range and interpretation. */
export function measurementObservation(patientId: string, m: Measurement, value: number, sex: Sex, when: string): Observation {
  const range = m.range?.(sex);
  const flag = range && interpret(value, range);
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [m.kind === 'lab' ? CATEGORY.laboratory : CATEGORY.vitalSigns],
    code: concept(SYSTEM.loinc, m.code, m.display),
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: when,
    issued: new Date().toISOString(),
    valueQuantity: quantity(value, m.unit),
    ...(range ? { referenceRange: [{ ...(range.low !== undefined ? { low: quantity(range.low, m.unit) } : {}), ...(range.high !== undefined ? { high: quantity(range.high, m.unit) } : {}) }] } : {}),
    ...(flag ? { interpretation: [concept(SYSTEM.interpretation, flag, INTERPRETATION_DISPLAY[flag])] } : {}),
  };
}

export function bloodPressureObservation(patientId: string, systolic: number, diastolic: number, when: string): Observation {
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

export function conditionResource(patientId: string, key: ConditionKey, when: string): Condition {
  const c = CONDITIONS[key];
  return {
    resourceType: 'Condition',
    clinicalStatus: concept(SYSTEM.conditionClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
    category: [CATEGORY.problemList],
    code: { ...concept(SYSTEM.snomed, c.code, c.display), text: c.text },
    subject: { reference: `Patient/${patientId}` },
    onsetDateTime: when,
    recordedDate: new Date().toISOString(),
  };
}

/** "4.0–5.6 %", "≤ 199 mg/dL", or undefined when the test has no range. */
export function rangeWords(range: Range | undefined, unit: Unit): string | undefined {
  if (!range || (range.low === undefined && range.high === undefined)) return undefined;
  if (range.low !== undefined && range.high !== undefined) return `${range.low}–${range.high} ${unit.display}`;
  return range.high !== undefined ? `≤ ${range.high} ${unit.display}` : `≥ ${range.low} ${unit.display}`;
}

/** A datetime-local value ("2026-12-07T09:41") for `date`, in the browser's time zone. */
export function localDateTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
