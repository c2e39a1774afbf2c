/**
 * What a demo patient's measurements are at a given time: per-patient levels (drawn once) that move
 * when a problem starts or its treatment takes effect, plus visit-to-visit noise. The clamps make the
 * generator's rules hold by construction: a diagnostic value only in a patient with the matching
 * Condition, on or after its onset, and one at the key visit that found it.
 */
import type { Random } from '../random.js';
import type { LabKey } from './terminology.js';
import { DAY, YEAR, clamp, round } from './clock.js';
import type { Body, Chronic, Courses, Person, Visit } from './story.js';

export interface Physiology {
  /** The problem has begun by `time`. */
  has(key: Chronic, time: number): boolean;
  /** `time` is the visit at which the problem was found or its treatment (re)started. */
  isKey(key: Chronic, time: number): boolean;
  /** Noise of standard deviation `sd`, cut at ±`limit`. */
  jitter(sd: number, limit: number): number;
  /** The noise stream itself, for draws that are not a jitter (a fever, a normal temperature). */
  noise: Random;
  bmiAt(time: number): number;
  bloodPressureAt(visit: Visit): { systolic: number; diastolic: number };
  heartRate: number;
  /** Every lab value at a draw on the day of visit `time`. */
  labValuesAt(time: number): Record<LabKey, number>;
}

/** Per-patient levels; a measurement is the level at that time plus visit-to-visit noise. */
export function createPhysiology(lv: Random, noise: Random, person: Person, body: Body, courses: Courses): Physiology {
  const { age, gender, start } = person;
  const female = gender === 'female';
  const bp = {
    normal: clamp(lv.normal(117, 7), 102, 130) + 0.15 * Math.max(0, age - 40),
    rising: clamp(lv.normal(131, 3), 126, 135),
    untreated: clamp(lv.normal(154, 6), 146, 172),
    drop: lv.uniform(12, 22),
  };
  const heartRate = clamp(lv.normal(72, 7), 56, 90);
  const a1c = { normal: clamp(lv.normal(5.3, 0.25), 4.7, 5.9), rising: clamp(lv.normal(6.0, 0.12), 5.8, 6.2), untreated: clamp(lv.normal(8.2, 0.7), 7.2, 9.8), drop: lv.uniform(0.7, 1.6) };
  const ldl = { normal: clamp(lv.normal(110, 15), 70, 145), rising: clamp(lv.normal(140, 5), 132, 150), untreated: clamp(lv.normal(178, 12), 164, 220), cut: lv.uniform(0.3, 0.45) };
  const hdl = clamp(lv.normal(female ? 58 : 47, 8), 32, 85) - (courses.diabetes ? 4 : 0);
  const tg = clamp(lv.normal(115, 30), 55, 230) + (courses.diabetes ? 40 : 0) + 4 * Math.max(0, body.bmi0 - 30);
  const creatinine = clamp(lv.normal(female ? 0.8 : 1.0, 0.1), female ? 0.55 : 0.7, female ? 1.05 : 1.25);
  const hemoglobin = clamp(lv.normal(female ? 13.4 : 15.0, 0.8), female ? 11.2 : 12.8, female ? 15.8 : 17.6);

  const has = (key: Chronic, time: number): boolean => courses[key] !== undefined && courses[key]!.onset <= time;
  /** 0 before the key event, rising to 1 over `days` after it (how much of the treatment's effect shows). */
  const treated = (key: Chronic, time: number, days: number): number => {
    const course = courses[key];
    return course ? clamp((time - course.keyTime) / (days * DAY), 0, 1) : 0;
  };
  const isKey = (key: Chronic, time: number): boolean => courses[key]?.keyTime === time;
  const jitter = (sd: number, limit: number): number => clamp(noise.normal(0, sd), -limit, limit);
  const yearsIn = (time: number): number => (time - start) / YEAR;

  const bloodPressureAt = (visit: Visit): { systolic: number; diastolic: number } => {
    const { time } = visit;
    const level = !courses.hypertension ? bp.normal : !has('hypertension', time) ? bp.rising : bp.untreated - bp.drop * treated('hypertension', time, 60);
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
  const labValuesAt = (time: number): Record<LabKey, number> => {
    const hba1c = hba1cAt(time);
    // Fasting glucose follows the HbA1c (ADA's estimated average glucose, 28.7 × A1c − 46.7, a little
    // lower when fasting); it reaches the diabetic 126 mg/dL only in diabetics, and does at diagnosis.
    const glucose = has('diabetes', time)
      ? clamp((28.7 * hba1c - 46.7) * 0.85 + jitter(12, 25), isKey('diabetes', time) ? 126 : 90, 350)
      : clamp(72 + (hba1c - 4.6) * 18 + jitter(6, 12), 65, 125);
    const ldlValue = ldlAt(time);
    const hdlValue = clamp(hdl + jitter(3, 6), 25, 95);
    const tgValue = clamp(tg + jitter(15, 30), 40, 400);
    // Friedewald, solved for the total: TC = LDL + HDL + TG/5 (mg/dL).
    return {
      hba1c,
      glucose,
      ldl: ldlValue,
      hdl: hdlValue,
      triglycerides: tgValue,
      cholesterol: ldlValue + Math.round(hdlValue) + Math.round(tgValue / 5),
      creatinine: clamp(creatinine + 0.005 * yearsIn(time) + jitter(0.05, 0.1), 0.4, 1.6),
      hemoglobin: clamp(hemoglobin + jitter(0.3, 0.6), 9.5, 18.5),
    };
  };
  const bmiAt = (time: number): number => clamp(body.bmi0 + body.bmiTrend * yearsIn(time), 16, 48);
  return { has, isKey, jitter, noise, bmiAt, bloodPressureAt, heartRate, labValuesAt };
}
