/**
 * A demo patient's story before any record is written: who they are, their body, the chronic
 * problems their risk profile gives them (when each began and the check-up that found it), and the
 * calendar of visits. Each part draws from its own named stream of the patient's seed.
 */
import type { Patient } from '@medplum/fhirtypes';
import type { Random } from '../random.js';
import { ACUTE_ILLNESSES, type Sex } from './terminology.js';
import { DAY, YEAR, before, clamp, clinicTime, isoDate, startOfDay } from './clock.js';

/** The identifier system of demo medical record numbers (the identity the demo users register on chain). */
export const DEMO_MRN_SYSTEM = 'urn:medledger:demo-mrn';

/** Patient i has MRN FIRST_MRN + i: 100001 is Alice, 100002 Bob. */
export const FIRST_MRN = 100001;

const PHYSICIANS = ['Dr. Sarah Chen', 'Dr. James Okafor', 'Dr. Emily Novak', 'Dr. Raj Patel'];
const FEMALE_NAMES = ['Emma', 'Olivia', 'Sophia', 'Grace', 'Hannah', 'Maria', 'Chloe', 'Laura', 'Nora', 'Julia', 'Rosa', 'Mei', 'Aisha', 'Ingrid', 'Claire', 'Fatima'];
const MALE_NAMES = ['Liam', 'Noah', 'Daniel', 'Samuel', 'David', 'Lucas', 'Omar', 'Henry', 'Mateo', 'Thomas', 'Kenji', 'Peter', 'Victor', 'Elijah', 'George', 'Ravi'];
const FAMILY_NAMES = [
  'Smith', 'Johnson', 'Garcia', 'Nguyen', 'Brown', 'Miller', 'Davis', 'Martinez', 'Lopez', 'Wilson', 'Anderson', 'Thomas',
  'Moore', 'Jackson', 'Lee', 'Harris', 'Clark', 'Lewis', 'Walker', 'Young', 'King', 'Wright', 'Scott', 'Murphy',
];
const CITIES = ['Boston', 'Cambridge', 'Somerville', 'Brookline', 'Newton', 'Quincy', 'Medford', 'Waltham', 'Malden', 'Watertown'];
const STREETS = ['Main Street', 'Elm Street', 'Oak Avenue', 'Maple Road', 'Beacon Street', 'Chestnut Street', 'Highland Avenue', 'Park Drive'];

export type Chronic = 'hypertension' | 'diabetes' | 'hyperlipidemia' | 'asthma' | 'depression';
export const CHRONIC: readonly Chronic[] = ['hypertension', 'diabetes', 'hyperlipidemia', 'asthma', 'depression'];

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

/** Who the patient is, and the span of their history. */
export interface Person {
  mrn: string;
  persona: Persona | undefined;
  gender: Sex;
  given: string;
  family: string;
  age: number;
  birth: number;
  /** The demographics both providers hold (without an id). */
  patient: Patient;
  physician: string;
  now: number;
  /** The start of the history: `years` before `now`. */
  start: number;
  years: number;
}

/** Demographics. Old enough to be an adult at the start of the history. */
export function createPerson(who: Random, index: number, now: number, years: number): Person {
  const mrn = String(FIRST_MRN + index);
  const persona = PERSONAS[index];
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
  return { mrn, persona, gender, given, family, age, birth, patient, physician, now, start: now - years * YEAR, years };
}

/** A height, and a BMI that drifts a little each year. */
export interface Body {
  height: number;
  bmi0: number;
  bmiTrend: number;
}

export function createBody(body: Random, person: Person): Body {
  const height = clamp(body.normal(person.gender === 'female' ? 163 : 177, 6.5), 148, 200);
  const bmi0 = person.persona ? body.uniform(...person.persona.bmi) : clamp(body.normal(27, 4.5), 18.5, 42);
  const bmiTrend = clamp(body.normal(0.1, 0.35), -0.8, 0.9);
  return { height, bmi0, bmiTrend };
}

/** Check-ups: years + 1 of them, from just after the start to just before now, about a year apart. */
export function planCheckups(plan: Random, { start, now, years }: Person): number[] {
  const first = start + plan.int(10, 60) * DAY;
  const last = now - plan.int(10, 60) * DAY;
  return Array.from({ length: years + 1 }, (_, k) => {
    const day = k === 0 ? first : k === years ? last : first + ((last - first) * k) / years + plan.int(-15, 15) * DAY;
    return clinicTime(plan, day);
  });
}

/** A chronic problem: when it began, and the check-up at which it was found or its treatment (re)started. */
export interface Course {
  preexisting: boolean;
  onset: number;
  /** Index into the check-ups. */
  keyCheckup: number;
  keyTime: number;
}

export type Courses = Partial<Record<Chronic, Course>>;

/** Problems, from a risk profile (age, BMI) unless the persona fixes them. */
export function chronicCourses(risk: Random, person: Person, body: Body, checkups: readonly number[]): Courses {
  const { age, persona, birth, start, years } = person;
  const { bmi0 } = body;
  const wants: Record<Chronic, boolean> = {
    hypertension: risk.chance(clamp(0.05 + 0.008 * (age - 30) + 0.02 * (bmi0 - 25), 0.03, 0.75)),
    diabetes: risk.chance(clamp(0.02 + 0.004 * (age - 30) + 0.025 * (bmi0 - 25), 0.01, 0.5)),
    hyperlipidemia: false,
    asthma: risk.chance(0.1),
    depression: risk.chance(0.15),
  };
  wants.hyperlipidemia = risk.chance(clamp(0.06 + 0.006 * (age - 30) + (wants.diabetes ? 0.15 : 0), 0.04, 0.6));
  const courses: Courses = {};
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
  return courses;
}

type VisitKind = 'checkup' | 'followup' | 'acute';

export interface Visit {
  kind: VisitKind;
  time: number;
  /** The problems a follow-up looks at. */
  reasons: Chronic[];
  checkup?: number;
  illness?: (typeof ACUTE_ILLNESSES)[number];
  fever?: boolean;
  emergency?: boolean;
}

/**
 * Visits: the check-ups; follow-ups after a treatment starts (and twice a year for hypertension and
 * diabetes); now and then an acute illness. In time order.
 */
export function planVisits(plan: Random, person: Person, courses: Courses, checkups: readonly number[]): Visit[] {
  const visits: Visit[] = checkups.map((time, k) => ({ kind: 'checkup', time, reasons: [], checkup: k }));
  addFollowups(plan, person, courses, checkups, visits);
  addAcuteVisits(plan, person, visits);
  return visits.sort((a, b) => a.time - b.time);
}

function addFollowups(plan: Random, { now, years }: Person, courses: Courses, checkups: readonly number[], visits: Visit[]): void {
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
}

function addAcuteVisits(plan: Random, { start, now, years }: Person, visits: Visit[]): void {
  for (let y = 0; y < years; y++) {
    if (!plan.chance(0.35)) continue;
    const day = start + y * YEAR + plan.int(0, 364) * DAY;
    if (day > now - 2 * DAY || visits.some((v) => Math.abs(v.time - day) < 10 * DAY)) continue;
    const illness = plan.pick(ACUTE_ILLNESSES);
    visits.push({ kind: 'acute', time: clinicTime(plan, day), reasons: [], illness, fever: plan.chance(illness.fever), emergency: plan.chance(0.15) });
  }
}
