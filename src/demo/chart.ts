/**
 * Writing a demo patient's story as FHIR R4, visit by visit: St Mary's records each encounter and its
 * vital signs, City Lab the blood drawn that morning. Ids are the provider prefix, the MRN, the kind
 * and a sequence number, so they are stable across runs.
 */
import type { DiagnosticReport, Encounter, Observation, Patient, Reference, Resource } from '@medplum/fhirtypes';
import type { Random } from '../random.js';
import {
  CATEGORY,
  CONDITIONS,
  ENCOUNTER_CLASS,
  ENCOUNTER_TYPES,
  INTERPRETATION_DISPLAY,
  LABS,
  LIPID_PANEL,
  PSYCHIATRY_LABEL,
  SYSTEM,
  VITALS,
  concept,
  interpret,
  type LabKey,
  type Range,
  type Unit,
  type VitalSign,
} from './terminology.js';
import { clamp, isoDateTime, round, startOfDay } from './clock.js';
import type { Physiology } from './physiology.js';
import type { Body, Courses, Person, Visit } from './story.js';

export const HOSPITAL = { display: "St Mary's Hospital" };
const LAB = { display: 'City Lab' };

/** One patient's records as they are written: each provider's list, its Patient copy first. */
export interface Chart {
  person: Person;
  nextId: (prefix: string) => string;
  hospital: Resource[];
  lab: Resource[];
  hospitalSubject: Reference<Patient>;
  labSubject: Reference<Patient>;
}

export function openChart(person: Person, hospitalPatientId: string, labPatientId: string): Chart {
  const display = `${person.given} ${person.family}`;
  return {
    person,
    nextId: counter(),
    hospital: [{ ...structuredClone(person.patient), id: hospitalPatientId }],
    lab: [{ ...structuredClone(person.patient), id: labPatientId }],
    hospitalSubject: { reference: `Patient/${hospitalPatientId}`, display },
    labSubject: { reference: `Patient/${labPatientId}`, display },
  };
}

export interface BmiReading {
  time: number;
  bmi: number;
  encounter: Reference<Encounter>;
}

interface LabDraw {
  time: number;
  tests: LabKey[];
  lipidPanel: boolean;
}

/** What the visits leave behind for the problem list: each visit's encounter, the BMIs recorded. */
export interface VisitRecords {
  encounterOf: Map<number, Reference<Encounter>>;
  bmiReadings: BmiReading[];
  draws: LabDraw[];
}

/** Every visit's encounter and vital signs at St Mary's, and the lab draws they order. */
export function recordVisits(chart: Chart, plan: Random, health: Physiology, body: Body, courses: Courses, visits: readonly Visit[]): VisitRecords {
  const records: VisitRecords = { encounterOf: new Map(), bmiReadings: [], draws: [] };
  const annualLabs = chart.person.age >= 40 || courses.hypertension !== undefined || courses.diabetes !== undefined || courses.hyperlipidemia !== undefined;
  for (const visit of visits) {
    const encounter = recordEncounter(chart, plan, visit);
    records.encounterOf.set(visit.time, encounter);
    const bmi = recordVitalSigns(chart, health, body, visit, encounter);
    if (bmi !== undefined) records.bmiReadings.push({ time: visit.time, bmi, encounter });
    // Lab draws the morning of the visit: the annual panel at check-ups, the marker of a treated problem at follow-ups.
    const morning = startOfDay(visit.time) + plan.int(7 * 60 + 15, 8 * 60 + 40) * 60_000;
    const draw = labDraw(health, courses, visit, annualLabs, morning);
    if (draw) records.draws.push(draw);
  }
  return records;
}

function recordEncounter(chart: Chart, plan: Random, visit: Visit): Reference<Encounter> {
  const id = chart.nextId(`smh-${chart.person.mrn}-enc`);
  const minutes = visit.kind === 'checkup' ? 30 : visit.emergency ? plan.int(120, 300) : 20;
  const reasons = visit.kind === 'followup' ? visit.reasons.map((r) => concept(SYSTEM.snomed, CONDITIONS[r].code, CONDITIONS[r].display)) : visit.illness ? [concept(SYSTEM.snomed, visit.illness.code, visit.illness.display)] : [];
  chart.hospital.push({
    resourceType: 'Encounter',
    id,
    // A follow-up for depression says so in its reason, so it is as sensitive as the diagnosis.
    ...(visit.reasons.includes('depression') ? { meta: { security: [PSYCHIATRY_LABEL] } } : {}),
    status: 'finished',
    class: visit.emergency ? ENCOUNTER_CLASS.emergency : ENCOUNTER_CLASS.ambulatory,
    type: [visit.kind === 'checkup' ? ENCOUNTER_TYPES.checkup : visit.kind === 'followup' ? ENCOUNTER_TYPES.followup : visit.emergency ? ENCOUNTER_TYPES.emergency : ENCOUNTER_TYPES.acute],
    subject: chart.hospitalSubject,
    participant: [{ individual: { display: chart.person.physician } }],
    period: { start: isoDateTime(visit.time), end: isoDateTime(visit.time + minutes * 60_000) },
    ...(reasons.length ? { reasonCode: reasons } : {}),
    serviceProvider: HOSPITAL,
  } satisfies Encounter);
  return { reference: `Encounter/${id}` };
}

/**
 * Vital signs: blood pressure and pulse at every visit, weight and BMI (and height at check-ups)
 * unless acutely ill, temperature only then. Returns the BMI recorded, if any.
 */
function recordVitalSigns(chart: Chart, health: Physiology, body: Body, visit: Visit, encounter: Reference<Encounter>): number | undefined {
  const observe = (sign: VitalSign, value: Pick<Observation, 'valueQuantity' | 'component'>): Observation => ({
    resourceType: 'Observation',
    id: chart.nextId(`smh-${chart.person.mrn}-obs`),
    status: 'final',
    category: [CATEGORY.vitalSigns],
    code: concept(SYSTEM.loinc, sign.code, sign.display),
    subject: chart.hospitalSubject,
    encounter,
    effectiveDateTime: isoDateTime(visit.time + 5 * 60_000),
    ...value,
  });
  const vital = (sign: VitalSign, value: number): Observation => observe(sign, { valueQuantity: quantity(value, sign.unit) });
  const { jitter, noise } = health;
  const { systolic, diastolic } = health.bloodPressureAt(visit);
  chart.hospital.push(
    observe(VITALS.bloodPressure, {
      component: [
        { code: concept(SYSTEM.loinc, VITALS.systolic.code, VITALS.systolic.display), valueQuantity: quantity(systolic, VITALS.systolic.unit) },
        { code: concept(SYSTEM.loinc, VITALS.diastolic.code, VITALS.diastolic.display), valueQuantity: quantity(diastolic, VITALS.diastolic.unit) },
      ],
    }),
  );
  const fever = visit.fever ? noise.uniform(37.9, 39.3) : 0;
  chart.hospital.push(vital(VITALS.heartRate, Math.round(clamp(health.heartRate + jitter(4, 8) + (fever ? 12 : 0), 48, 130))));
  if (visit.kind === 'acute') {
    chart.hospital.push(vital(VITALS.bodyTemperature, round(fever || clamp(noise.normal(36.8, 0.2), 36.2, 37.3), 1)));
    return undefined;
  }
  const { height } = body;
  const weight = round((health.bmiAt(visit.time) * (height / 100) ** 2) + jitter(0.6, 1.5), 1);
  const measuredHeight = round(height + jitter(0.3, 0.6), 1);
  const bmi = round(weight / (height / 100) ** 2, 1);
  chart.hospital.push(vital(VITALS.bodyWeight, weight));
  if (visit.kind === 'checkup') chart.hospital.push(vital(VITALS.bodyHeight, measuredHeight));
  chart.hospital.push(vital(VITALS.bmi, bmi));
  return bmi;
}

function labDraw(health: Physiology, courses: Courses, visit: Visit, annualLabs: boolean, morning: number): LabDraw | undefined {
  if (visit.kind === 'checkup' && (annualLabs || visit.checkup! % 2 === 0)) {
    // Kidney function yearly on lisinopril or metformin, otherwise every other year, like the blood count.
    const everyOther = visit.checkup! % 2 === 0;
    const kidney = everyOther || courses.hypertension !== undefined || courses.diabetes !== undefined;
    const tests: LabKey[] = ['hba1c', 'glucose', 'cholesterol', 'ldl', 'hdl', 'triglycerides', ...(kidney ? ['creatinine' as const] : []), ...(everyOther ? ['hemoglobin' as const] : [])];
    return { time: morning, tests, lipidPanel: true };
  }
  if (visit.kind !== 'followup') return undefined;
  const tests: LabKey[] = [];
  if (visit.reasons.includes('diabetes') && health.has('diabetes', visit.time)) tests.push('hba1c', 'glucose');
  if (visit.reasons.includes('hyperlipidemia') && health.has('hyperlipidemia', visit.time)) tests.push('cholesterol', 'ldl', 'hdl', 'triglycerides');
  return tests.length ? { time: morning, tests, lipidPanel: tests.includes('ldl') } : undefined;
}

/** City Lab's results. Key events are check-up times; the draw that morning carries the diagnostic value. */
export function recordLabResults(chart: Chart, plan: Random, health: Physiology, checkups: readonly number[], draws: readonly LabDraw[]): void {
  const { mrn, gender } = chart.person;
  for (const draw of draws) {
    const visitTime = checkups.find((t) => startOfDay(t) === startOfDay(draw.time)) ?? draw.time;
    const values = health.labValuesAt(visitTime);
    const issued = isoDateTime(draw.time + plan.int(3 * 60, 8 * 60) * 60_000);
    const results: Reference<Observation>[] = [];
    for (const key of draw.tests) {
      const test = LABS[key];
      const value = round(values[key], test.decimals);
      const range: Range = test.range(gender);
      const flag = interpret(value, range);
      const id = chart.nextId(`cl-${mrn}-obs`);
      chart.lab.push({
        resourceType: 'Observation',
        id,
        status: 'final',
        category: [CATEGORY.laboratory],
        code: concept(SYSTEM.loinc, test.code, test.display),
        subject: chart.labSubject,
        effectiveDateTime: isoDateTime(draw.time),
        issued,
        performer: [LAB],
        valueQuantity: quantity(value, test.unit),
        interpretation: [{ coding: [{ system: SYSTEM.interpretation, code: flag, display: INTERPRETATION_DISPLAY[flag] }] }],
        referenceRange: [
          {
            ...(range.low !== undefined ? { low: quantity(range.low, test.unit) } : {}),
            ...(range.high !== undefined ? { high: quantity(range.high, test.unit) } : {}),
          },
        ],
      } satisfies Observation);
      if (key === 'cholesterol' || key === 'ldl' || key === 'hdl' || key === 'triglycerides') results.push({ reference: `Observation/${id}` });
    }
    if (!draw.lipidPanel || !results.length) continue;
    chart.lab.push({
      resourceType: 'DiagnosticReport',
      id: chart.nextId(`cl-${mrn}-dr`),
      status: 'final',
      category: [CATEGORY.labReport],
      code: concept(SYSTEM.loinc, LIPID_PANEL.code, LIPID_PANEL.display),
      subject: chart.labSubject,
      effectiveDateTime: isoDateTime(draw.time),
      issued,
      performer: [LAB],
      result: results,
    } satisfies DiagnosticReport);
  }
}

export function quantity(value: number, unit: Unit) {
  return { value, unit: unit.display, system: SYSTEM.ucum, code: unit.code };
}

/** Sequential ids per prefix: `smh-100001-obs-1`, `smh-100001-obs-2`, … */
function counter(): (prefix: string) => string {
  const next = new Map<string, number>();
  return (prefix) => {
    const n = (next.get(prefix) ?? 0) + 1;
    next.set(prefix, n);
    return `${prefix}-${n}`;
  };
}
