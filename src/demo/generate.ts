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
import type {
  AllergyIntolerance,
  Condition,
  DiagnosticReport,
  Encounter,
  Immunization,
  MedicationRequest,
  Observation,
  Patient,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { createRandom, type Random } from './random.js';
import {
  ACUTE_ILLNESSES,
  ALLERGENS,
  CATEGORY,
  CONDITIONS,
  ENCOUNTER_CLASS,
  ENCOUNTER_TYPES,
  INTERPRETATION_DISPLAY,
  LABS,
  LIPID_PANEL,
  MEDICATIONS,
  PSYCHIATRY_LABEL,
  ROUTES,
  SYSTEM,
  VACCINES,
  VITALS,
  concept,
  interpret,
  type ConditionKey,
  type LabKey,
  type Range,
  type Sex,
  type VitalSign,
} from './terminology.js';

/** The identifier system of demo medical record numbers (the identity the demo users register on chain). */
export const DEMO_MRN_SYSTEM = 'urn:medledger:demo-mrn';

/** Patient i has MRN FIRST_MRN + i: 100001 is Alice, 100002 Bob. */
export const FIRST_MRN = 100001;

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
const HOSPITAL = { display: "St Mary's Hospital" };
const LAB = { display: 'City Lab' };
const PHYSICIANS = ['Dr. Sarah Chen', 'Dr. James Okafor', 'Dr. Emily Novak', 'Dr. Raj Patel'];

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;

// ---------------------------------------------------------------------------------------------
// Who the patients are

const FEMALE_NAMES = ['Emma', 'Olivia', 'Sophia', 'Grace', 'Hannah', 'Maria', 'Chloe', 'Laura', 'Nora', 'Julia', 'Rosa', 'Mei', 'Aisha', 'Ingrid', 'Claire', 'Fatima'];
const MALE_NAMES = ['Liam', 'Noah', 'Daniel', 'Samuel', 'David', 'Lucas', 'Omar', 'Henry', 'Mateo', 'Thomas', 'Kenji', 'Peter', 'Victor', 'Elijah', 'George', 'Ravi'];
const FAMILY_NAMES = [
  'Smith', 'Johnson', 'Garcia', 'Nguyen', 'Brown', 'Miller', 'Davis', 'Martinez', 'Lopez', 'Wilson', 'Anderson', 'Thomas',
  'Moore', 'Jackson', 'Lee', 'Harris', 'Clark', 'Lewis', 'Walker', 'Young', 'King', 'Wright', 'Scott', 'Murphy',
];
const CITIES = ['Boston', 'Cambridge', 'Somerville', 'Brookline', 'Newton', 'Quincy', 'Medford', 'Waltham', 'Malden', 'Watertown'];
const STREETS = ['Main Street', 'Elm Street', 'Oak Avenue', 'Maple Road', 'Beacon Street', 'Chestnut Street', 'Highland Avenue', 'Park Drive'];

type Chronic = 'hypertension' | 'diabetes' | 'hyperlipidemia' | 'asthma' | 'depression';
const CHRONIC: readonly Chronic[] = ['hypertension', 'diabetes', 'hyperlipidemia', 'asthma', 'depression'];

/** Fixed traits of the demo users, so the demo shows their stories whatever the seed. */
interface Persona {
  given: string;
  gender: Sex;
  ages: [number, number];
  bmi: [number, number];
  conditions: Partial<Record<Chronic, 'new' | 'preexisting'>>;
}

const PERSONAS: readonly Persona[] = [
  // Alice: diabetes found during the demo years, known high cholesterol (statin from the first visit),
  // and a depression (PSY-labelled records).
  { given: 'Alice', gender: 'female', ages: [48, 58], bmi: [31, 33.5], conditions: { diabetes: 'new', hyperlipidemia: 'preexisting', depression: 'new' } },
  // Bob: long-standing hypertension and asthma.
  { given: 'Bob', gender: 'male', ages: [55, 68], bmi: [26, 29], conditions: { hypertension: 'preexisting', asthma: 'preexisting' } },
];

// ---------------------------------------------------------------------------------------------
// The simulation

/** A chronic problem: when it began, and the check-up at which it was found or its treatment (re)started. */
interface Course {
  preexisting: boolean;
  onset: number;
  /** Index into the check-ups. */
  keyCheckup: number;
  keyTime: number;
}

type VisitKind = 'checkup' | 'followup' | 'acute';

interface Visit {
  kind: VisitKind;
  time: number;
  /** The problems a follow-up looks at. */
  reasons: Chronic[];
  checkup?: number;
  illness?: (typeof ACUTE_ILLNESSES)[number];
  fever?: boolean;
  emergency?: boolean;
}

function generatePatient(rng: Random, index: number, now: number, years: number): GeneratedPatient {
  const mrn = String(FIRST_MRN + index);
  const start = now - years * YEAR;
  const persona = PERSONAS[index];
  const who = rng.fork('demographics');

  // Demographics. Old enough to be an adult at the start of the history.
  const gender: Sex = persona?.gender ?? who.pick(['female', 'male'] as const);
  const given = persona?.given ?? who.pick(gender === 'female' ? FEMALE_NAMES : MALE_NAMES);
  const family = who.pick(FAMILY_NAMES);
  const age = persona ? who.int(...persona.ages) : who.int(Math.max(22, years + 18), 86);
  const birth = startOfDay(now - age * YEAR - who.int(0, 364) * DAY);
  const patient: Patient = {
    resourceType: 'Patient',
    identifier: [{ system: DEMO_MRN_SYSTEM, value: mrn }],
    active: true,
    name: [{ use: 'official', family, given: [given] }],
    gender,
    birthDate: isoDate(birth),
    address: [{ use: 'home', line: [`${who.int(1, 240)} ${who.pick(STREETS)}`], city: who.pick(CITIES), state: 'MA', country: 'US' }],
  };
  const physician = who.pick(PHYSICIANS);

  // Body: a height, and a BMI that drifts a little each year.
  const body = rng.fork('body');
  const height = clamp(body.normal(gender === 'female' ? 163 : 177, 6.5), 148, 200);
  const bmi0 = persona ? body.uniform(...persona.bmi) : clamp(body.normal(27, 4.5), 18.5, 42);
  const bmiTrend = clamp(body.normal(0.1, 0.35), -0.8, 0.9);

  // Check-ups: years + 1 of them, from just after the start to just before now, about a year apart.
  const plan = rng.fork('calendar');
  const first = start + plan.int(10, 60) * DAY;
  const last = now - plan.int(10, 60) * DAY;
  const checkups = Array.from({ length: years + 1 }, (_, k) => {
    const day = k === 0 ? first : k === years ? last : first + ((last - first) * k) / years + plan.int(-15, 15) * DAY;
    return clinicTime(plan, day);
  });

  // Problems, from a risk profile (age, BMI) unless the persona fixes them.
  const risk = rng.fork('risk');
  const wants: Record<Chronic, boolean> = {
    hypertension: risk.chance(clamp(0.05 + 0.008 * (age - 30) + 0.02 * (bmi0 - 25), 0.03, 0.75)),
    diabetes: risk.chance(clamp(0.02 + 0.004 * (age - 30) + 0.025 * (bmi0 - 25), 0.01, 0.5)),
    hyperlipidemia: false,
    asthma: risk.chance(0.1),
    depression: risk.chance(0.15),
  };
  wants.hyperlipidemia = risk.chance(clamp(0.06 + 0.006 * (age - 30) + (wants.diabetes ? 0.15 : 0), 0.04, 0.6));
  const courses: Partial<Record<Chronic, Course>> = {};
  for (const key of CHRONIC) {
    const fixed = persona ? persona.conditions[key] : undefined;
    if (persona ? !fixed : !wants[key]) continue;
    // Found before the history began (more likely the older the patient), or at a later check-up.
    const preexisting = fixed ? fixed === 'preexisting' : key === 'asthma' || risk.chance(clamp((age - 30) / 40, 0.2, 0.8));
    const keyCheckup = preexisting ? 0 : risk.int(1, years);
    const keyTime = checkups[keyCheckup]!;
    const onset = preexisting
      ? key === 'asthma'
        ? startOfDay(birth + risk.uniform(4, 16) * YEAR)
        : before(risk, Math.max(birth + 20 * YEAR, start - 12 * YEAR), start - 60 * DAY)
      : startOfDay(keyTime); // the day of the visit (and of the morning lab draw that found it)
    courses[key] = { preexisting, onset, keyCheckup, keyTime };
  }
  const has = (key: Chronic, time: number): boolean => courses[key] !== undefined && courses[key]!.onset <= time;
  /** 0 before the key event, rising to 1 over `days` after it (how much of the treatment's effect shows). */
  const treated = (key: Chronic, time: number, days: number): number => {
    const course = courses[key];
    return course ? clamp((time - course.keyTime) / (days * DAY), 0, 1) : 0;
  };
  const isKey = (key: Chronic, time: number): boolean => courses[key]?.keyTime === time;

  // Visits: the check-ups; follow-ups after a treatment starts (and twice a year for hypertension and
  // diabetes); now and then an acute illness.
  const visits: Visit[] = checkups.map((time, k) => ({ kind: 'checkup', time, reasons: [], checkup: k }));
  const followups: { day: number; reasons: Chronic[] }[] = [];
  for (const key of ['hypertension', 'diabetes', 'hyperlipidemia', 'depression'] as const) {
    const course = courses[key];
    if (!course) continue;
    followups.push({ day: course.keyTime + plan.int(42, 70) * DAY, reasons: [key] });
    if (key === 'hypertension' || key === 'diabetes') {
      for (let k = course.keyCheckup; k < years; k++) {
        followups.push({ day: (checkups[k]! + checkups[k + 1]!) / 2 + plan.int(-20, 20) * DAY, reasons: [key] });
      }
    }
  }
  followups.sort((a, b) => a.day - b.day);
  for (const f of followups) {
    if (f.day > now - 2 * DAY) continue;
    const near = visits.find((v) => v.kind === 'followup' && Math.abs(v.time - f.day) < 21 * DAY);
    if (near) near.reasons = [...new Set([...near.reasons, ...f.reasons])];
    else if (!visits.some((v) => Math.abs(v.time - f.day) < 14 * DAY)) visits.push({ kind: 'followup', time: clinicTime(plan, f.day), reasons: f.reasons });
  }
  for (let y = 0; y < years; y++) {
    if (!plan.chance(0.35)) continue;
    const day = start + y * YEAR + plan.int(0, 364) * DAY;
    if (day > now - 2 * DAY || visits.some((v) => Math.abs(v.time - day) < 10 * DAY)) continue;
    const illness = plan.pick(ACUTE_ILLNESSES);
    visits.push({ kind: 'acute', time: clinicTime(plan, day), reasons: [], illness, fever: plan.chance(illness.fever), emergency: plan.chance(0.15) });
  }
  visits.sort((a, b) => a.time - b.time);

  // Per-patient levels; a measurement is the level at that time plus visit-to-visit noise.
  const lv = rng.fork('levels');
  const bp = {
    normal: clamp(lv.normal(117, 7), 102, 130) + 0.15 * Math.max(0, age - 40),
    rising: clamp(lv.normal(131, 3), 126, 135),
    untreated: clamp(lv.normal(154, 6), 146, 172),
    drop: lv.uniform(12, 22),
  };
  const heartRate = clamp(lv.normal(72, 7), 56, 90);
  const a1c = { normal: clamp(lv.normal(5.3, 0.25), 4.7, 5.9), rising: clamp(lv.normal(6.0, 0.12), 5.8, 6.2), untreated: clamp(lv.normal(8.2, 0.7), 7.2, 9.8), drop: lv.uniform(0.7, 1.6) };
  const ldl = { normal: clamp(lv.normal(110, 15), 70, 145), rising: clamp(lv.normal(140, 5), 132, 150), untreated: clamp(lv.normal(178, 12), 164, 220), cut: lv.uniform(0.3, 0.45) };
  const hdl = clamp(lv.normal(gender === 'female' ? 58 : 47, 8), 32, 85) - (courses.diabetes ? 4 : 0);
  const tg = clamp(lv.normal(115, 30), 55, 230) + (courses.diabetes ? 40 : 0) + 4 * Math.max(0, bmi0 - 30);
  const creatinine = clamp(lv.normal(gender === 'female' ? 0.8 : 1.0, 0.1), gender === 'female' ? 0.55 : 0.7, gender === 'female' ? 1.05 : 1.25);
  const hemoglobin = clamp(lv.normal(gender === 'female' ? 13.4 : 15.0, 0.8), gender === 'female' ? 11.2 : 12.8, gender === 'female' ? 15.8 : 17.6);

  const noise = rng.fork('noise');
  const jitter = (sd: number, limit: number): number => clamp(noise.normal(0, sd), -limit, limit);
  const yearsIn = (time: number): number => (time - start) / YEAR;

  const bmiAt = (time: number): number => clamp(bmi0 + bmiTrend * yearsIn(time), 16, 48);
  const bloodPressureAt = (visit: Visit): { systolic: number; diastolic: number } => {
    const { time } = visit;
    const level = !courses.hypertension
      ? bp.normal
      : !has('hypertension', time)
        ? bp.rising
        : bp.untreated - bp.drop * treated('hypertension', time, 60);
    let systolic = level + 0.3 * yearsIn(time) + jitter(5, 10) + (visit.kind === 'acute' ? 4 : 0);
    if (!has('hypertension', time)) systolic = Math.min(systolic, 138);
    if (isKey('hypertension', time)) systolic = Math.max(systolic, 142);
    let diastolic = 0.5 * systolic + clamp(noise.normal(14, 3), 8, 20);
    if (!has('hypertension', time)) diastolic = Math.min(diastolic, 88);
    return { systolic: Math.round(systolic), diastolic: Math.round(Math.min(diastolic, systolic - 25)) };
  };
  const hba1cAt = (time: number): number => {
    const level = !courses.diabetes ? a1c.normal + 0.03 * yearsIn(time) : !has('diabetes', time) ? a1c.rising : a1c.untreated - a1c.drop * treated('diabetes', time, 90);
    let value = level + jitter(0.12, 0.25);
    if (!has('diabetes', time)) value = Math.min(value, 6.3);
    else value = Math.max(value, isKey('diabetes', time) ? 6.8 : 5.8);
    return round(value, 1);
  };
  const ldlAt = (time: number): number => {
    const level = !courses.hyperlipidemia ? ldl.normal : !has('hyperlipidemia', time) ? ldl.rising : ldl.untreated * (1 - ldl.cut * treated('hyperlipidemia', time, 60));
    let value = level + jitter(6, 12);
    if (!has('hyperlipidemia', time)) value = Math.min(value, 155);
    if (isKey('hyperlipidemia', time)) value = Math.max(value, 162);
    return Math.round(value);
  };

  // Resources. Ids: provider prefix, MRN, kind, sequence number — stable across runs.
  const hospitalPatientId = patientIdAt('st-marys', mrn);
  const labPatientId = patientIdAt('city-lab', mrn);
  const hospital: Resource[] = [{ ...structuredClone(patient), id: hospitalPatientId }];
  const lab: Resource[] = [{ ...structuredClone(patient), id: labPatientId }];
  const nextId = counter();
  const hospitalSubject: Reference<Patient> = { reference: `Patient/${hospitalPatientId}`, display: `${given} ${family}` };
  const labSubject: Reference<Patient> = { reference: `Patient/${labPatientId}`, display: `${given} ${family}` };

  const encounterOf = new Map<number, Reference<Encounter>>();
  const bmiReadings: { time: number; bmi: number; encounter: Reference<Encounter> }[] = [];
  const draws: { time: number; tests: LabKey[]; lipidPanel: boolean }[] = [];
  const annualLabs = age >= 40 || courses.hypertension !== undefined || courses.diabetes !== undefined || courses.hyperlipidemia !== undefined;

  for (const visit of visits) {
    const encId = nextId(`smh-${mrn}-enc`);
    const encounterRef: Reference<Encounter> = { reference: `Encounter/${encId}` };
    encounterOf.set(visit.time, encounterRef);
    const minutes = visit.kind === 'checkup' ? 30 : visit.emergency ? plan.int(120, 300) : 20;
    const reasons = visit.kind === 'followup' ? visit.reasons.map((r) => concept(SYSTEM.snomed, CONDITIONS[r].code, CONDITIONS[r].display)) : visit.illness ? [concept(SYSTEM.snomed, visit.illness.code, visit.illness.display)] : [];
    const encounter: Encounter = {
      resourceType: 'Encounter',
      id: encId,
      // A follow-up for depression says so in its reason, so it is as sensitive as the diagnosis.
      ...(visit.reasons.includes('depression') ? { meta: { security: [PSYCHIATRY_LABEL] } } : {}),
      status: 'finished',
      class: visit.emergency ? ENCOUNTER_CLASS.emergency : ENCOUNTER_CLASS.ambulatory,
      type: [visit.kind === 'checkup' ? ENCOUNTER_TYPES.checkup : visit.kind === 'followup' ? ENCOUNTER_TYPES.followup : visit.emergency ? ENCOUNTER_TYPES.emergency : ENCOUNTER_TYPES.acute],
      subject: hospitalSubject,
      participant: [{ individual: { display: physician } }],
      period: { start: isoDateTime(visit.time), end: isoDateTime(visit.time + minutes * 60_000) },
      ...(reasons.length ? { reasonCode: reasons } : {}),
      serviceProvider: HOSPITAL,
    };
    hospital.push(encounter);

    // Vital signs: blood pressure and pulse at every visit, weight and BMI (and height at check-ups)
    // unless acutely ill, temperature only then.
    const observe = (sign: VitalSign, value: Pick<Observation, 'valueQuantity' | 'component'>): Observation => ({
      resourceType: 'Observation',
      id: nextId(`smh-${mrn}-obs`),
      status: 'final',
      category: [CATEGORY.vitalSigns],
      code: concept(SYSTEM.loinc, sign.code, sign.display),
      subject: hospitalSubject,
      encounter: encounterRef,
      effectiveDateTime: isoDateTime(visit.time + 5 * 60_000),
      ...value,
    });
    const vital = (sign: VitalSign, value: number): Observation => observe(sign, { valueQuantity: quantity(value, sign.unit) });
    const { systolic, diastolic } = bloodPressureAt(visit);
    hospital.push(
      observe(VITALS.bloodPressure, {
        component: [
          { code: concept(SYSTEM.loinc, VITALS.systolic.code, VITALS.systolic.display), valueQuantity: quantity(systolic, VITALS.systolic.unit) },
          { code: concept(SYSTEM.loinc, VITALS.diastolic.code, VITALS.diastolic.display), valueQuantity: quantity(diastolic, VITALS.diastolic.unit) },
        ],
      }),
    );
    const fever = visit.fever ? noise.uniform(37.9, 39.3) : 0;
    hospital.push(vital(VITALS.heartRate, Math.round(clamp(heartRate + jitter(4, 8) + (fever ? 12 : 0), 48, 130))));
    if (visit.kind === 'acute') hospital.push(vital(VITALS.bodyTemperature, round(fever || clamp(noise.normal(36.8, 0.2), 36.2, 37.3), 1)));
    if (visit.kind !== 'acute') {
      const bmiTrue = bmiAt(visit.time);
      const weight = round((bmiTrue * (height / 100) ** 2) + jitter(0.6, 1.5), 1);
      const measuredHeight = round(height + jitter(0.3, 0.6), 1);
      const bmi = round(weight / (height / 100) ** 2, 1);
      hospital.push(vital(VITALS.bodyWeight, weight));
      if (visit.kind === 'checkup') hospital.push(vital(VITALS.bodyHeight, measuredHeight));
      hospital.push(vital(VITALS.bmi, bmi));
      bmiReadings.push({ time: visit.time, bmi, encounter: encounterRef });
    }

    // Lab draws the morning of the visit: the annual panel at check-ups, the marker of a treated problem at follow-ups.
    const morning = startOfDay(visit.time) + plan.int(7 * 60 + 15, 8 * 60 + 40) * 60_000;
    if (visit.kind === 'checkup' && (annualLabs || visit.checkup! % 2 === 0)) {
      // Kidney function yearly on lisinopril or metformin, otherwise every other year, like the blood count.
      const everyOther = visit.checkup! % 2 === 0;
      const kidney = everyOther || courses.hypertension !== undefined || courses.diabetes !== undefined;
      const tests: LabKey[] = ['hba1c', 'glucose', 'cholesterol', 'ldl', 'hdl', 'triglycerides', ...(kidney ? ['creatinine' as const] : []), ...(everyOther ? ['hemoglobin' as const] : [])];
      draws.push({ time: morning, tests, lipidPanel: true });
    } else if (visit.kind === 'followup') {
      const tests: LabKey[] = [];
      if (visit.reasons.includes('diabetes') && has('diabetes', visit.time)) tests.push('hba1c', 'glucose');
      if (visit.reasons.includes('hyperlipidemia') && has('hyperlipidemia', visit.time)) tests.push('cholesterol', 'ldl', 'hdl', 'triglycerides');
      if (tests.length) draws.push({ time: morning, tests, lipidPanel: tests.includes('ldl') });
    }
  }

  // City Lab results. Key events are check-up times; the draw that morning carries the diagnostic value.
  for (const draw of draws) {
    const visitTime = checkups.find((t) => startOfDay(t) === startOfDay(draw.time)) ?? draw.time;
    const hba1c = hba1cAt(visitTime);
    // Fasting glucose follows the HbA1c (ADA's estimated average glucose, 28.7 × A1c − 46.7, a little
    // lower when fasting); it reaches the diabetic 126 mg/dL only in diabetics, and does at diagnosis.
    const glucose = has('diabetes', visitTime)
      ? clamp((28.7 * hba1c - 46.7) * 0.85 + jitter(12, 25), isKey('diabetes', visitTime) ? 126 : 90, 350)
      : clamp(72 + (hba1c - 4.6) * 18 + jitter(6, 12), 65, 125);
    const ldlValue = ldlAt(visitTime);
    const hdlValue = clamp(hdl + jitter(3, 6), 25, 95);
    const tgValue = clamp(tg + jitter(15, 30), 40, 400);
    // Friedewald, solved for the total: TC = LDL + HDL + TG/5 (mg/dL).
    const values: Record<LabKey, number> = {
      hba1c,
      glucose,
      ldl: ldlValue,
      hdl: hdlValue,
      triglycerides: tgValue,
      cholesterol: ldlValue + Math.round(hdlValue) + Math.round(tgValue / 5),
      creatinine: clamp(creatinine + 0.005 * yearsIn(visitTime) + jitter(0.05, 0.1), 0.4, 1.6),
      hemoglobin: clamp(hemoglobin + jitter(0.3, 0.6), 9.5, 18.5),
    };
    const issued = isoDateTime(draw.time + plan.int(3 * 60, 8 * 60) * 60_000);
    const results: Reference<Observation>[] = [];
    for (const key of draw.tests) {
      const test = LABS[key];
      const value = round(values[key], test.decimals);
      const range: Range = test.range(gender);
      const flag = interpret(value, range);
      const id = nextId(`cl-${mrn}-obs`);
      lab.push({
        resourceType: 'Observation',
        id,
        status: 'final',
        category: [CATEGORY.laboratory],
        code: concept(SYSTEM.loinc, test.code, test.display),
        subject: labSubject,
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
    if (draw.lipidPanel && results.length) {
      lab.push({
        resourceType: 'DiagnosticReport',
        id: nextId(`cl-${mrn}-dr`),
        status: 'final',
        category: [CATEGORY.labReport],
        code: concept(SYSTEM.loinc, LIPID_PANEL.code, LIPID_PANEL.display),
        subject: labSubject,
        effectiveDateTime: isoDateTime(draw.time),
        issued,
        performer: [LAB],
        result: results,
      } satisfies DiagnosticReport);
    }
  }

  // The problem list, and a prescription for each treated problem at its key visit.
  const problem = (key: ConditionKey, onset: number, recorded: number, encounter: Reference<Encounter>): Condition => ({
    resourceType: 'Condition',
    id: nextId(`smh-${mrn}-cond`),
    ...(key === 'depression' ? { meta: { security: [PSYCHIATRY_LABEL] } } : {}),
    clinicalStatus: concept(SYSTEM.conditionClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
    category: [CATEGORY.problemList],
    code: { coding: [{ system: SYSTEM.snomed, code: CONDITIONS[key].code, display: CONDITIONS[key].display }], text: CONDITIONS[key].text },
    subject: hospitalSubject,
    encounter,
    onsetDateTime: isoDate(onset),
    recordedDate: isoDateTime(recorded),
  });
  for (const key of CHRONIC) {
    const course = courses[key];
    if (!course) continue;
    const encounter = encounterOf.get(course.keyTime)!;
    const condition = problem(key, course.onset, course.keyTime, encounter);
    hospital.push(condition);
    if (key in MEDICATIONS) hospital.push(prescription(key, mrn, nextId, hospitalSubject, encounter, condition, course.keyTime, physician));
  }
  const obese = bmiReadings.find((r) => r.bmi >= 30);
  if (obese) {
    // Obese at the first visit: a known problem; otherwise found when the BMI first reached 30.
    const known = obese === bmiReadings[0];
    const onset = known ? before(risk, Math.max(birth + 20 * YEAR, start - 8 * YEAR), Math.min(start, obese.time) - 30 * DAY) : startOfDay(obese.time);
    hospital.push(problem('obesity', onset, obese.time, obese.encounter));
  }

  // Acute illnesses: an encounter diagnosis, resolved a week or two later (if that is already past).
  for (const visit of visits) {
    if (!visit.illness) continue;
    const resolved = visit.time + plan.int(7, 14) * DAY;
    hospital.push({
      resourceType: 'Condition',
      id: nextId(`smh-${mrn}-cond`),
      clinicalStatus: resolved < now ? concept(SYSTEM.conditionClinical, 'resolved', 'Resolved') : concept(SYSTEM.conditionClinical, 'active', 'Active'),
      verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
      category: [CATEGORY.encounterDiagnosis],
      code: { coding: [{ system: SYSTEM.snomed, code: visit.illness.code, display: visit.illness.display }], text: visit.illness.text },
      subject: hospitalSubject,
      encounter: encounterOf.get(visit.time)!,
      onsetDateTime: isoDate(visit.time - plan.int(1, 4) * DAY),
      ...(resolved < now ? { abatementDateTime: isoDate(resolved) } : {}),
      recordedDate: isoDateTime(visit.time),
    } satisfies Condition);
  }

  // Allergies, recorded at the first check-up.
  const allergyRng = rng.fork('allergies');
  const allergens = ALLERGENS.filter(() => allergyRng.chance(0.12));
  for (const allergen of allergens) {
    hospital.push({
      resourceType: 'AllergyIntolerance',
      id: nextId(`smh-${mrn}-alg`),
      clinicalStatus: concept(SYSTEM.allergyClinical, 'active', 'Active'),
      verificationStatus: concept(SYSTEM.allergyVerification, 'confirmed', 'Confirmed'),
      type: 'allergy',
      category: [allergen.category],
      criticality: allergen.reaction.code === '39579001' ? 'high' : 'low',
      code: concept(SYSTEM.snomed, allergen.code, allergen.display),
      patient: hospitalSubject,
      recordedDate: isoDateTime(checkups[0]!),
      reaction: [{ manifestation: [concept(SYSTEM.snomed, allergen.reaction.code, allergen.reaction.display)], severity: allergen.reaction.code === '39579001' ? 'severe' : 'mild' }],
    } satisfies AllergyIntolerance);
  }

  // Immunizations: influenza most autumns (nearly every one when older or chronically ill), Tdap now
  // and then, the pneumococcal vaccine once at 65 or over.
  const vax = rng.fork('immunizations');
  const keen = age >= 65 || Object.keys(courses).length > 0 ? 0.9 : 0.6;
  const immunization = (vaccine: { code: string; display: string }, time: number): Immunization => ({
    resourceType: 'Immunization',
    id: nextId(`smh-${mrn}-imm`),
    status: 'completed',
    vaccineCode: { coding: [{ system: SYSTEM.cvx, code: vaccine.code, display: vaccine.display }], text: vaccine.display },
    patient: hospitalSubject,
    occurrenceDateTime: isoDateTime(time),
    primarySource: true,
    lotNumber: `${vaccine.code}-${vax.int(10000, 99999)}`,
    route: concept(SYSTEM.routeOfAdministration, 'IM', 'Injection, intramuscular'),
    doseQuantity: { value: 0.5, unit: 'mL', system: SYSTEM.ucum, code: 'mL' },
    performer: [{ actor: HOSPITAL }],
  });
  const firstYear = new Date(start).getUTCFullYear();
  for (let year = firstYear; year <= new Date(now).getUTCFullYear(); year++) {
    const time = clinicTime(vax, Date.UTC(year, 8, 15) + vax.int(0, 75) * DAY);
    const chosen = vax.chance(keen);
    if (chosen && time > start && time < now - DAY) hospital.push(immunization(VACCINES.influenza, time));
  }
  if (vax.chance(0.2)) hospital.push(immunization(VACCINES.tdap, clinicTime(vax, start + vax.int(30, Math.floor((now - start) / DAY) - 30) * DAY)));
  if (age - years >= 65 || (age >= 66 && vax.chance(0.7))) hospital.push(immunization(VACCINES.pneumococcal, checkups[age - years >= 65 ? 0 : years]!));

  return { patient, byProvider: { 'st-marys': hospital, 'city-lab': lab } };
}

function prescription(
  key: Chronic & keyof typeof MEDICATIONS,
  mrn: string,
  nextId: (kind: string) => string,
  subject: Reference<Patient>,
  encounter: Reference<Encounter>,
  condition: Condition,
  time: number,
  physician: string,
): MedicationRequest {
  const med = MEDICATIONS[key];
  const perDay = 'perDay' in med ? med.perDay : undefined;
  return {
    resourceType: 'MedicationRequest',
    id: nextId(`smh-${mrn}-med`),
    // An antidepressant prescription discloses the depression it treats.
    ...(key === 'depression' ? { meta: { security: [PSYCHIATRY_LABEL] } } : {}),
    status: 'active',
    intent: 'order',
    category: [CATEGORY.outpatient],
    medicationCodeableConcept: { coding: [{ system: SYSTEM.rxnorm, code: med.code, display: med.display }], text: med.display },
    subject,
    encounter,
    authoredOn: isoDateTime(time + 25 * 60_000),
    requester: { display: physician },
    reasonReference: [{ reference: `Condition/${condition.id}` }],
    dosageInstruction: [
      {
        sequence: 1,
        text: med.text,
        timing: perDay
          ? { repeat: { frequency: perDay, period: 1, periodUnit: 'd', ...('when' in med ? { when: [med.when] } : {}) } }
          : { repeat: { frequency: 1, period: 4, periodMax: 6, periodUnit: 'h' } },
        ...(perDay ? {} : { asNeededBoolean: true }),
        route: ROUTES[med.route],
        doseAndRate: [{ doseQuantity: { value: perDay ? 1 : 2, unit: med.dose.display, system: SYSTEM.ucum, code: med.dose.code } }],
      },
    ],
    dispenseRequest: {
      numberOfRepeatsAllowed: 3,
      ...(perDay
        ? { quantity: { value: 90 * perDay, unit: med.dose.display, system: SYSTEM.ucum, code: med.dose.code }, expectedSupplyDuration: { value: 90, unit: 'days', system: SYSTEM.ucum, code: 'd' } }
        : { quantity: { value: 1, unit: 'inhaler' } }),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function quantity(value: number, unit: { code: string; display: string }) {
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

const clamp = (x: number, low: number, high: number): number => Math.min(high, Math.max(low, x));
const round = (x: number, decimals: number): number => Math.round(x * 10 ** decimals) / 10 ** decimals;
const startOfDay = (time: number): number => Math.floor(time / DAY) * DAY;

/** A day from `from` to `to`; from the year before `to` when `from` is not earlier (a young patient). */
const before = (rng: Random, from: number, to: number): number => startOfDay(rng.uniform(Math.min(from, to - YEAR), to));

/** A time in clinic hours (UTC, 09:00–16:45 on the quarter hour) on the day of `time`. */
function clinicTime(rng: Random, time: number): number {
  return startOfDay(time) + (rng.int(9 * 4, 16 * 4 + 3) * 15) * 60_000;
}

const isoDate = (time: number): string => new Date(time).toISOString().slice(0, 10);
const isoDateTime = (time: number): string => `${new Date(time).toISOString().slice(0, 19)}Z`;
