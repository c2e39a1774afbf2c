/**
 * The UCI Heart Disease attributes and how each is written in FHIR R4: one table (HEART_FHIR) that
 * the loaders (data.ts), the FHIR converters (uci-fhir.ts) and the in-browser risk panel
 * (heart/assess.ts) all read, so the codes a record is written with are exactly the codes it is read
 * by. Pure and browser-safe: no Node built-ins, nothing that reads the data folder.
 *
 * Codes. Standard codes where one means the same thing: age LOINC 30525-0, resting systolic blood
 * pressure 8480-6, serum cholesterol 2093-3, fasting glucose 1558-6 (the data only says whether it
 * was above 120 mg/dL, so the value is a Quantity with comparator `>` or `<=` 120), the label as
 * SNOMED CT 53741008 coronary arteriosclerosis (angiographic narrowing > 50 %, num > 0). The
 * exercise-test and scan attributes have no exact standard code, so they carry a local code in
 * `urn:medledger:uci-heart` (named after the UCI attribute) and their answers a local code system
 * per attribute (`urn:medledger:uci-heart/<attribute>`); the peak heart rate also carries LOINC
 * 8867-4 (heart rate) for readers that know only that — it is never *read* by that code, since a
 * resting pulse is not a peak exercise rate.
 */
import type { Coding, Observation } from '@medplum/fhirtypes';
import type { FeatureSpec } from './preprocess.js';

export const LOINC_SYSTEM = 'http://loinc.org';
export const SNOMED_SYSTEM = 'http://snomed.info/sct';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const UCI_HEART_SYSTEM = 'urn:medledger:uci-heart';

export const HEART_HOSPITALS = ['cleveland', 'hungarian', 'switzerland', 'va'] as const;
export type HeartHospital = (typeof HEART_HOSPITALS)[number];

/** The centres in words (data/uci-heart/README.md). */
export const HEART_HOSPITAL_NAMES: Record<HeartHospital, string> = {
  cleveland: 'Cleveland Clinic Foundation, Ohio',
  hungarian: 'Hungarian Institute of Cardiology, Budapest',
  switzerland: 'University Hospitals Zurich and Basel',
  va: 'V.A. Medical Center, Long Beach, California',
};

/** Rows per hospital file and how many have disease (num > 0), from the data's README. */
export const HEART_COUNTS: Record<HeartHospital, { rows: number; positives: number }> = {
  cleveland: { rows: 303, positives: 139 },
  hungarian: { rows: 294, positives: 106 },
  switzerland: { rows: 123, positives: 115 },
  va: { rows: 200, positives: 149 },
};

/** The 13 UCI attributes in file order (column 14, `num`, is the label). */
export const HEART_FEATURES: readonly FeatureSpec[] = [
  { name: 'age', kind: 'numeric', unit: 'a', description: 'age in years' },
  { name: 'sex', kind: 'binary', description: '1 = male, 0 = female' },
  { name: 'cp', kind: 'categorical', levels: [1, 2, 3, 4], description: 'chest pain: 1 typical angina, 2 atypical, 3 non-anginal, 4 asymptomatic' },
  { name: 'trestbps', kind: 'numeric', unit: 'mm[Hg]', modifiable: true, description: 'resting systolic blood pressure' },
  { name: 'chol', kind: 'numeric', unit: 'mg/dL', modifiable: true, description: 'serum total cholesterol' },
  { name: 'fbs', kind: 'binary', modifiable: true, description: 'fasting blood sugar > 120 mg/dL' },
  { name: 'restecg', kind: 'categorical', levels: [0, 1, 2], description: 'resting ECG: 0 normal, 1 ST-T abnormality, 2 LV hypertrophy' },
  { name: 'thalach', kind: 'numeric', unit: '/min', description: 'maximum heart rate achieved' },
  { name: 'exang', kind: 'binary', description: 'exercise-induced angina' },
  { name: 'oldpeak', kind: 'numeric', unit: 'mm', description: 'ST depression induced by exercise' },
  { name: 'slope', kind: 'categorical', levels: [1, 2, 3], description: 'slope of peak exercise ST segment: 1 up, 2 flat, 3 down' },
  { name: 'ca', kind: 'numeric', description: 'major vessels coloured by fluoroscopy (0-3)' },
  { name: 'thal', kind: 'categorical', levels: [3, 6, 7], description: 'thallium scan: 3 normal, 6 fixed defect, 7 reversible defect' },
];

type Category = 'vital-signs' | 'laboratory' | 'exam' | 'procedure' | 'imaging';

/** How one UCI attribute is written in FHIR. `code` is the coding an Observation is recognised by. */
export type HeartAttribute =
  | { kind: 'gender' }
  | { kind: 'quantity'; code: Coding; alsoCoded?: Coding[]; unit: string; category?: Category }
  | { kind: 'coded'; code: Coding; levels: Record<number, string>; category: Category }
  | { kind: 'boolean'; code: Coding; category: Category }
  | { kind: 'above'; code: Coding; unit: string; threshold: number; category: Category };

const local = (code: string, display: string): Coding => ({ system: UCI_HEART_SYSTEM, code, display });

/** In HEART_FEATURES order. */
export const HEART_FHIR: Record<string, HeartAttribute> = {
  age: { kind: 'quantity', code: { system: LOINC_SYSTEM, code: '30525-0', display: 'Age' }, unit: 'a' },
  sex: { kind: 'gender' },
  cp: {
    kind: 'coded',
    code: local('cp', 'Chest pain type'),
    levels: { 1: 'typical angina', 2: 'atypical angina', 3: 'non-anginal pain', 4: 'asymptomatic' },
    category: 'exam',
  },
  trestbps: { kind: 'quantity', code: { system: LOINC_SYSTEM, code: '8480-6', display: 'Systolic blood pressure' }, unit: 'mm[Hg]', category: 'vital-signs' },
  chol: { kind: 'quantity', code: { system: LOINC_SYSTEM, code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma' }, unit: 'mg/dL', category: 'laboratory' },
  fbs: { kind: 'above', code: { system: LOINC_SYSTEM, code: '1558-6', display: 'Fasting glucose [Mass/volume] in Serum or Plasma' }, unit: 'mg/dL', threshold: 120, category: 'laboratory' },
  restecg: {
    kind: 'coded',
    code: local('restecg', 'Resting electrocardiogram'),
    levels: { 0: 'normal', 1: 'ST-T wave abnormality', 2: 'probable or definite left ventricular hypertrophy' },
    category: 'procedure',
  },
  thalach: {
    kind: 'quantity',
    code: local('thalach', 'Maximum heart rate achieved in exercise test'),
    alsoCoded: [{ system: LOINC_SYSTEM, code: '8867-4', display: 'Heart rate' }],
    unit: '/min',
    category: 'procedure',
  },
  exang: { kind: 'boolean', code: local('exang', 'Exercise-induced angina'), category: 'procedure' },
  oldpeak: { kind: 'quantity', code: local('oldpeak', 'ST depression induced by exercise relative to rest'), unit: 'mm', category: 'procedure' },
  slope: { kind: 'coded', code: local('slope', 'Slope of the peak exercise ST segment'), levels: { 1: 'upsloping', 2: 'flat', 3: 'downsloping' }, category: 'procedure' },
  ca: { kind: 'quantity', code: local('ca', 'Major vessels coloured by fluoroscopy'), unit: '{count}', category: 'imaging' },
  thal: { kind: 'coded', code: local('thal', 'Thallium stress scan'), levels: { 3: 'normal', 6: 'fixed defect', 7: 'reversible defect' }, category: 'imaging' },
};

export const CORONARY_DISEASE: Coding = { system: SNOMED_SYSTEM, code: '53741008', display: 'Coronary arteriosclerosis' };

/** The answer code system of a coded attribute, e.g. `urn:medledger:uci-heart/cp`. */
export const heartAnswerSystem = (name: string) => `${UCI_HEART_SYSTEM}/${name}`;

/** Whether a Coding is `code` (same system and code). */
export const isCoding = (c: Coding | undefined, code: Coding) => c?.system === code.system && c?.code === code.code;

/** The value an Observation (or Observation component) carries, in the shape its FHIR element has. */
export type ObservationValue = Pick<Observation, 'valueQuantity' | 'valueBoolean' | 'valueCodeableConcept'>;

/**
 * The UCI value of attribute `name` an Observation value carries, or undefined when it carries none
 * the attribute understands (another unit, a bound that does not settle the question, an unknown answer).
 */
export function heartObservationValue(o: ObservationValue, a: Exclude<HeartAttribute, { kind: 'gender' }>, name: string): number | undefined {
  switch (a.kind) {
    case 'quantity':
      return o.valueQuantity?.code === a.unit && typeof o.valueQuantity.value === 'number' ? o.valueQuantity.value : undefined;
    case 'above': {
      const q = o.valueQuantity;
      if (q?.code !== a.unit || typeof q.value !== 'number') return undefined;
      // Above t is 1, at most t is 0; a bound that does not settle which (> 100, < 130) is no value.
      switch (q.comparator) {
        case undefined:
          return q.value > a.threshold ? 1 : 0;
        case '>':
          return q.value >= a.threshold ? 1 : undefined;
        case '>=':
          return q.value > a.threshold ? 1 : undefined;
        default:
          return q.value <= a.threshold ? 0 : undefined;
      }
    }
    case 'boolean':
      return typeof o.valueBoolean === 'boolean' ? (o.valueBoolean ? 1 : 0) : undefined;
    case 'coded': {
      const code = o.valueCodeableConcept?.coding?.find((c) => c.system === heartAnswerSystem(name))?.code;
      const level = code === undefined ? NaN : Number(code);
      return a.levels[level] === undefined ? undefined : level;
    }
  }
}
