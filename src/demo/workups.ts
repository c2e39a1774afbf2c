/**
 * Demo records the served models read (src/ml/heart, src/ml/breast): St Mary's cardiology work-up —
 * an exercise stress test and thallium scan, with a fasting glucose and a cholesterol drawn for it —
 * for Alice and about a third of the other patients over 35, and a breast fine-needle-aspirate
 * cytology report for Alice. Written with exactly the codes the models read (HEART_FHIR in
 * src/ml/heart-codes.ts; src/ml/breast/codes.ts); the resting blood pressure is the latest reading of
 * the vital-signs panel the generator already writes.
 *
 * Like the surveillance consents, these are drawn from the seed and the patient's MRN (and the
 * patient's generated records) only, so the generator's own records stay byte for byte the same and a
 * patient's work-up does not depend on the others. Values follow a simple latent "disease" draw
 * (older, male, diabetic, hypertensive or hyperlipidaemic patients are more likely to have it) so the
 * results hang together the way the UCI patients' do.
 */
import type { Condition, DiagnosticReport, Encounter, Observation, Patient, Reference, Resource } from '@medplum/fhirtypes';
import { CYTOLOGY_REPORT, WDBC_FEATURE_NAMES, WDBC_UNIT, wdbcCoding } from '../ml/breast/codes.js';
import { HEART_FHIR, heartAnswerSystem, UCUM_SYSTEM, type HeartAttribute } from '../ml/heart-codes.js';
import { createRandom, type Random } from '../random.js';
import { DAY, YEAR, clamp, isoDateTime, round, startOfDay } from './clock.js';
import type { DemoProvider, GeneratedPatient } from './generate.js';
import { CONDITIONS, SYSTEM } from './terminology.js';

/** Share of the other patients over 35 who had a cardiology work-up. */
export const WORKUP_SHARE = 0.35;

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** Benign WDBC aspirates' mean and standard deviation per feature (data/wdbc, 357 benign rows), in WDBC_FEATURE_NAMES order. */
const BENIGN: readonly [number, number][] = [
  [12.15, 1.78], [17.91, 3.99], [78.08, 11.8], [462.8, 134], [0.09248, 0.0134], [0.08008, 0.0337], [0.04606, 0.0434], [0.02572, 0.0159], [0.1742, 0.0248], [0.06287, 0.00674],
  [0.2841, 0.112], [1.22, 0.588], [2, 0.77], [21.14, 8.83], [0.007196, 0.00306], [0.02144, 0.0163], [0.026, 0.0329], [0.009858, 0.0057], [0.02058, 0.00699], [0.003636, 0.00293],
  [13.38, 1.98], [23.52, 5.49], [87.01, 13.5], [558.9, 163], [0.125, 0.02], [0.1827, 0.0921], [0.1662, 0.14], [0.07444, 0.0357], [0.2702, 0.0417], [0.07944, 0.0138],
];

/**
 * Alice's exercise test and scan, fixed so the demo shows a middling estimate (about 1 in 5 with the
 * shipped model) with inputs that raise it (a flat ST slope, a reversible thallium defect) beside ones
 * that lower it: non-anginal chest pain, a normal ECG apart from left ventricular hypertrophy, no
 * exercise angina, no narrowed vessel on fluoroscopy.
 */
const ALICE: Readonly<Record<string, number>> = { cp: 3, restecg: 2, exang: 0, oldpeak: 1.2, slope: 2, ca: 0, thal: 7 };

/** St Mary's work-up records of the patients that have them; nothing at other providers. */
export function modelWorkups(patients: readonly GeneratedPatient[], provider: DemoProvider, seed: number | string): Resource[] {
  if (provider !== 'st-marys') return [];
  return patients.flatMap((p, index) => {
    const hospital = p.byProvider['st-marys'];
    const patient = hospital[0] as Patient;
    const mrn = patient.identifier?.[0]?.value ?? String(index);
    const rng = createRandom(`${seed}/workups/${mrn}`);
    const last = Math.max(...hospital.filter((r): r is Encounter => r.resourceType === 'Encounter').map((e) => Date.parse(e.period!.start!)));
    if (!Number.isFinite(last)) return [];
    const age = Math.floor((last - Date.parse(patient.birthDate!)) / YEAR);
    const out: Resource[] = [];
    if (index === 0 || (age >= 35 && rng.fork('chosen').chance(WORKUP_SHARE))) out.push(...heartWorkup(rng.fork('heart'), p, patient, age, last, index === 0 ? ALICE : {}));
    if (index === 0) out.push(...cytologyReport(rng.fork('cytology'), patient, last));
    return out;
  });
}

/** `weights` over `values`, one draw. */
function weighted<T>(rng: Random, values: readonly T[], weights: readonly number[]): T {
  let u = rng.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < values.length; i++) if ((u -= weights[i]!) < 0) return values[i]!;
  return values.at(-1)!;
}

const hasProblem = (resources: readonly Resource[], code: string) =>
  resources.some((r) => r.resourceType === 'Condition' && (r as Condition).code?.coding?.some((c) => c.system === SYSTEM.snomed && c.code === code));

/** The latest City Lab value of a LOINC code on or before `time`, if any. */
function latestLab(p: GeneratedPatient, code: string, time: number): number | undefined {
  const found = p.byProvider['city-lab']
    .filter((r): r is Observation => r.resourceType === 'Observation' && r.code.coding?.[0]?.code === code && Date.parse(r.effectiveDateTime!) <= time)
    .sort((a, b) => Date.parse(a.effectiveDateTime!) - Date.parse(b.effectiveDateTime!));
  return found.at(-1)?.valueQuantity?.value;
}

/** The stress test, scan and fasting bloods, a week to a month before the patient's last visit. */
function heartWorkup(rng: Random, p: GeneratedPatient, patient: Patient, age: number, last: number, fixed: Readonly<Record<string, number>>): Observation[] {
  const time = startOfDay(last - rng.int(7, 30) * DAY) + 10 * 3_600_000;
  const hospital = p.byProvider['st-marys'];
  const male = patient.gender === 'male';
  const score =
    0.06 * (age - 50) + (male ? 0.8 : 0) + rng.normal(0, 0.8) +
    (hasProblem(hospital, CONDITIONS.diabetes.code) ? 0.6 : 0) + (hasProblem(hospital, CONDITIONS.hypertension.code) ? 0.4 : 0) + (hasProblem(hospital, CONDITIONS.hyperlipidemia.code) ? 0.5 : 0);
  const disease = score > 0.5;
  const values: Record<string, number> = {
    cp: disease ? weighted(rng, [4, 3, 2, 1], [0.6, 0.15, 0.1, 0.15]) : weighted(rng, [3, 2, 4, 1], [0.35, 0.3, 0.25, 0.1]),
    restecg: disease ? weighted(rng, [0, 2, 1], [0.5, 0.45, 0.05]) : weighted(rng, [0, 2, 1], [0.6, 0.38, 0.02]),
    thalach: Math.round(clamp(220 - age - (disease ? 25 : 5) + rng.normal(0, 12), 90, 200)),
    exang: rng.chance(disease ? 0.55 : 0.12) ? 1 : 0,
    oldpeak: round(disease ? clamp(rng.normal(1.6, 1.1), 0, 5.5) : clamp(rng.normal(0.5, 0.6), 0, 3), 1),
    slope: disease ? weighted(rng, [2, 1, 3], [0.65, 0.25, 0.1]) : weighted(rng, [1, 2, 3], [0.65, 0.3, 0.05]),
    ca: disease ? weighted(rng, [0, 1, 2, 3], [0.3, 0.35, 0.2, 0.15]) : weighted(rng, [0, 1, 2], [0.8, 0.15, 0.05]),
    thal: disease ? weighted(rng, [7, 3, 6], [0.6, 0.3, 0.1]) : weighted(rng, [3, 7, 6], [0.8, 0.15, 0.05]),
    // Drawn at the hospital that morning: close to the patient's latest City Lab values.
    chol: Math.round(clamp((latestLab(p, '2093-3', time) ?? rng.normal(205, 30)) + rng.normal(0, 6), 120, 340)),
    fbs: Math.round(clamp((latestLab(p, '2345-7', time) ?? rng.normal(95, 10)) + rng.normal(0, 5), 65, 300)),
    ...fixed,
  };
  const subject: Reference<Patient> = { reference: `Patient/${patient.id}` };
  const mrn = patient.identifier?.[0]?.value;
  return Object.entries(values).map(([name, v], n) => observation(`smh-${mrn}-cardio-${n + 1}`, name, HEART_FHIR[name]!, v, subject, time));
}

/** One work-up result as HEART_FHIR writes it; the fasting glucose as the measured value itself. */
function observation(id: string, name: string, a: HeartAttribute, v: number, subject: Reference<Patient>, time: number): Observation {
  if (a.kind === 'gender') throw new Error('sex is the Patient’s gender, not an Observation');
  const category = a.category ?? 'exam';
  const o: Observation = {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: category }] }],
    code: { coding: [a.code], text: a.code.display },
    subject,
    effectiveDateTime: isoDateTime(time),
  };
  const quantity = (value: number, unit: string) => ({ value, unit, system: UCUM_SYSTEM, code: unit });
  if (a.kind === 'quantity' || a.kind === 'above') o.valueQuantity = quantity(v, a.unit);
  else if (a.kind === 'boolean') o.valueBoolean = v === 1;
  else o.valueCodeableConcept = { coding: [{ system: heartAnswerSystem(name), code: String(v), display: a.levels[v] }], text: a.levels[v] };
  return o;
}

/** A benign aspirate of a breast lump, read a month or two before the last visit. */
function cytologyReport(rng: Random, patient: Patient, last: number): Resource[] {
  const time = startOfDay(last - rng.int(30, 60) * DAY) + 11 * 3_600_000;
  const subject: Reference<Patient> = { reference: `Patient/${patient.id}` };
  const mrn = patient.identifier?.[0]?.value;
  // One shared draw moves the size-and-shape features together, as they are correlated in the data.
  const shared = rng.normal(0, 0.6);
  const observations: Observation[] = WDBC_FEATURE_NAMES.map((name, j) => {
    const [mean, sd] = BENIGN[j]!;
    const value = Number(Math.max(mean * 0.2, mean + sd * (shared + rng.normal(0, 0.3))).toPrecision(4));
    return {
      resourceType: 'Observation',
      id: `smh-${mrn}-cyto-${j + 1}`,
      status: 'final',
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'laboratory' }] }],
      code: { coding: [wdbcCoding(name)], text: wdbcCoding(name).display },
      subject,
      effectiveDateTime: isoDateTime(time),
      valueQuantity: { value, unit: WDBC_UNIT, system: UCUM_SYSTEM, code: WDBC_UNIT },
    };
  });
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: `smh-${mrn}-cyto-report`,
    status: 'final',
    category: [{ coding: [{ system: SYSTEM.diagnosticService, code: 'PAT', display: 'Pathology' }] }],
    code: { coding: [CYTOLOGY_REPORT], text: CYTOLOGY_REPORT.display },
    subject,
    effectiveDateTime: isoDateTime(time),
    issued: isoDateTime(time + 2 * DAY),
    result: observations.map((o) => ({ reference: `Observation/${o.id}` })),
    conclusion: 'Benign breast epithelial cells; no malignant cells seen.',
  };
  return [...observations, report];
}
