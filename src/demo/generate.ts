/**
 * Demo patients: a deterministic simulation of a few years of primary care, written as FHIR R4.
 *
 * Each patient gets a body (height, a BMI that drifts), a risk profile that decides their chronic
 * problems, and a calendar of visits. Measurements come from per-patient levels plus visit noise,
 * and the levels move when a problem starts or its treatment takes effect, so the record tells one
 * story: a diabetic's HbA1c crosses 6.5 % at the draw where the diagnosis is made and falls once
 * metformin starts; a hypertensive's first reading is high and the ones after lisinopril lower.
 * Rules that hold by construction (and are tested):
 *   - HbA1c ≥ 6.5 %, LDL ≥ 160 mg/dL or BP ≥ 140/90 only in a patient with the matching Condition,
 *     on or after its onset; every such Condition has at least one such value;
 *   - an Obesity Condition exactly for the patients with a recorded BMI ≥ 30, onset no later than the first;
 *   - interpretation flags (H/L/N) from the reference range printed on the same result.
 *
 * Records are split over the two demo providers: St Mary's (the hospital: encounters, vital signs,
 * problems, prescriptions, allergies, immunizations) and City Lab (lab results and lipid panel
 * reports). Each holds its own copy of the Patient, and every reference points inside the provider.
 *
 * Everything derives from the seed and `now` (no clock, no Math.random); a patient depends only on
 * the seed and its index, so patient 0 is the same whether 1 or 50 are generated.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { createRandom, type Random } from '../random.js';
import { openChart, recordLabResults, recordVisits } from './chart.js';
import { createPhysiology } from './physiology.js';
import { recordAcuteIllnesses, recordAllergies, recordImmunizations, recordProblems } from './problems.js';
import { chronicCourses, createBody, createPerson, planCheckups, planVisits } from './story.js';

export { DEMO_MRN_SYSTEM, FIRST_MRN } from './story.js';

export const DEMO_PROVIDERS = ['st-marys', 'city-lab'] as const;
export type DemoProvider = (typeof DEMO_PROVIDERS)[number];

export interface GenerateOptions {
  seed: number | string;
  /** Patients (default 20). */
  count?: number;
  /** The end of the simulated history; nothing is dated after it. */
  now: Date | string;
  /** Years of history before `now` (default 4). */
  years?: number;
}

export interface GeneratedPatient {
  /** The demographics both providers hold (without an id: each provider's copy has its own). */
  patient: Patient;
  /** Each provider's resources for this patient, its Patient copy first. */
  byProvider: Record<DemoProvider, Resource[]>;
}

/** Generates `count` patients; the same options always give the same resources. */
export function generatePatients(options: GenerateOptions): GeneratedPatient[] {
  const now = new Date(options.now).getTime();
  if (!Number.isFinite(now)) throw new Error(`invalid now: ${String(options.now)}`);
  const count = options.count ?? 20;
  const years = options.years ?? 4;
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, not ${count}`);
  if (!Number.isInteger(years) || years < 1 || years > 30) throw new Error(`years must be an integer from 1 to 30, not ${years}`);
  return Array.from({ length: count }, (_, i) => generatePatient(createRandom(`${options.seed}/patient/${i}`), i, now, years));
}

/** Every resource one provider holds, patient by patient (what its store is seeded with). */
export function resourcesOf(patients: readonly GeneratedPatient[], provider: DemoProvider): Resource[] {
  return patients.flatMap((p) => p.byProvider[provider]);
}

/** The id of patient `mrn`'s Patient resource at `provider`. */
export function patientIdAt(provider: DemoProvider, mrn: string): string {
  return `${ID_PREFIX[provider]}-${mrn}`;
}

const ID_PREFIX: Record<DemoProvider, string> = { 'st-marys': 'smh', 'city-lab': 'cl' };

/**
 * One patient: the story first (who, body, problems, calendar), then the records it leaves. Each
 * step draws from its own fork of the patient's stream; within a fork the order of draws is the
 * order below, so reordering these calls changes the generated data.
 */
function generatePatient(rng: Random, index: number, now: number, years: number): GeneratedPatient {
  const person = createPerson(rng.fork('demographics'), index, now, years);
  const body = createBody(rng.fork('body'), person);
  const plan = rng.fork('calendar');
  const checkups = planCheckups(plan, person);
  const risk = rng.fork('risk');
  const courses = chronicCourses(risk, person, body, checkups);
  const visits = planVisits(plan, person, courses, checkups);
  const health = createPhysiology(rng.fork('levels'), rng.fork('noise'), person, body, courses);

  const chart = openChart(person, patientIdAt('st-marys', person.mrn), patientIdAt('city-lab', person.mrn));
  const records = recordVisits(chart, plan, health, body, courses, visits);
  recordLabResults(chart, plan, health, checkups, records.draws);
  recordProblems(chart, risk, courses, records);
  recordAcuteIllnesses(chart, plan, visits, records);
  recordAllergies(chart, rng.fork('allergies'), checkups[0]!);
  recordImmunizations(chart, rng.fork('immunizations'), courses, checkups);
  return { patient: person.patient, byProvider: { 'st-marys': chart.hospital, 'city-lab': chart.lab } };
}
