/**
 * Lifestyle suggestions from guideline thresholds, ranked by what the risk model says raised this
 * patient's risk. Every suggestion names the rule (id + source) that produced it, so a clinician can
 * check it. Suggestions are prompts for a conversation with a doctor, not diagnoses.
 *
 * Input is a plain record of measurements with units (UCUM codes, as in FHIR Quantity), kept
 * independent of FHIR; src/ml/features.ts can fill it from Observations.
 */

/** A measured value with its UCUM unit, e.g. { value: 142, unit: 'mm[Hg]' }. */
export interface Quantity {
  value: number;
  unit: string;
}

export interface LifestyleRecord {
  systolicBp?: Quantity;
  diastolicBp?: Quantity;
  /** Body mass index, or weight and height to compute it. */
  bmi?: Quantity;
  weight?: Quantity;
  height?: Quantity;
  totalCholesterol?: Quantity;
  ldlCholesterol?: Quantity;
  hba1c?: Quantity;
  fastingGlucose?: Quantity;
  /** Currently smokes tobacco. */
  smoker?: boolean;
}

export type Measure = 'bloodPressure' | 'bmi' | 'totalCholesterol' | 'ldlCholesterol' | 'hba1c' | 'fastingGlucose' | 'smoking';

/** Values in the units the thresholds are written in. */
export interface NormalisedRecord {
  systolic?: number; // mm Hg
  diastolic?: number; // mm Hg
  bmi?: number; // kg/m²
  totalCholesterol?: number; // mg/dL
  ldl?: number; // mg/dL
  hba1c?: number; // % (NGSP/DCCT)
  fastingGlucose?: number; // mg/dL
  smoker?: boolean;
}

export interface LifestyleRule {
  id: string;
  /** The guideline the threshold comes from. */
  source: string;
  measure: Measure;
  /** Higher wins within a measure: only the most severe rule of a measure fires. */
  severity: number;
  applies(r: NormalisedRecord): boolean;
  advice(r: NormalisedRecord): string;
}

const ACC_AHA_2017 = 'ACC/AHA 2017 High Blood Pressure Guideline (Whelton et al., Hypertension 2018;71:e13-e115)';
const WHO_BMI = 'WHO body mass index classification (WHO Technical Report Series 894, 2000)';
const NCEP_ATP3 = 'NCEP Adult Treatment Panel III (Circulation 2002;106:3143-3421)';
const ADA_2024 = 'ADA Standards of Care in Diabetes 2024, section 2 (Diabetes Care 2024;47:S20-S42)';
const SMOKING = 'USPSTF 2021 tobacco cessation recommendation; ACC/AHA 2019 primary prevention guideline';

const bp = (r: NormalisedRecord) => `${r.systolic ?? '?'}/${r.diastolic ?? '?'} mm Hg`;
const round1 = (v: number | undefined) => (v === undefined ? '?' : String(Math.round(v * 10) / 10));

/** The rules, most severe first within each measure. */
export const LIFESTYLE_RULES: readonly LifestyleRule[] = [
  {
    id: 'bp.stage2',
    source: ACC_AHA_2017,
    measure: 'bloodPressure',
    severity: 3,
    applies: (r) => (r.systolic ?? 0) >= 140 || (r.diastolic ?? 0) >= 90,
    advice: (r) => `Your blood pressure (${bp(r)}) is in the stage 2 hypertension range (140/90 or higher). Please talk to your doctor about treatment soon; less salt, regular exercise, less alcohol and losing excess weight also lower it.`,
  },
  {
    id: 'bp.stage1',
    source: ACC_AHA_2017,
    measure: 'bloodPressure',
    severity: 2,
    applies: (r) => (r.systolic ?? 0) >= 130 || (r.diastolic ?? 0) >= 80,
    advice: (r) => `Your blood pressure (${bp(r)}) is in the stage 1 hypertension range (130/80 or higher). Less salt, more fruit and vegetables (DASH diet), 150 minutes of activity a week and less alcohol can bring it down; ask your doctor how often to recheck it.`,
  },
  {
    id: 'bp.elevated',
    source: ACC_AHA_2017,
    measure: 'bloodPressure',
    severity: 1,
    applies: (r) => (r.systolic ?? 0) >= 120 && (r.diastolic ?? 0) < 80,
    advice: (r) => `Your blood pressure (${bp(r)}) is elevated (top number 120-129). Healthy eating with less salt and regular activity can keep it from rising further.`,
  },
  {
    id: 'bmi.obesity',
    source: WHO_BMI,
    measure: 'bmi',
    severity: 2,
    applies: (r) => (r.bmi ?? 0) >= 30,
    advice: (r) => `Your body mass index is ${round1(r.bmi)} kg/m² (30 or more is obesity). Losing even 5-10 % of your weight lowers blood pressure, cholesterol and blood sugar; your doctor can suggest a plan.`,
  },
  {
    id: 'bmi.overweight',
    source: WHO_BMI,
    measure: 'bmi',
    severity: 1,
    applies: (r) => (r.bmi ?? 0) >= 25,
    advice: (r) => `Your body mass index is ${round1(r.bmi)} kg/m² (25-29.9 is overweight). A balanced diet and regular activity help bring it towards the healthy range.`,
  },
  {
    id: 'cholesterol.total.high',
    source: NCEP_ATP3,
    measure: 'totalCholesterol',
    severity: 2,
    applies: (r) => (r.totalCholesterol ?? 0) >= 240,
    advice: (r) => `Your total cholesterol is ${round1(r.totalCholesterol)} mg/dL (240 or more is high). Ask your doctor about a full lipid test and treatment; less saturated fat and more fibre help.`,
  },
  {
    id: 'cholesterol.total.borderline',
    source: NCEP_ATP3,
    measure: 'totalCholesterol',
    severity: 1,
    applies: (r) => (r.totalCholesterol ?? 0) >= 200,
    advice: (r) => `Your total cholesterol is ${round1(r.totalCholesterol)} mg/dL (200-239 is borderline high). Less saturated fat, more fibre and regular activity can lower it.`,
  },
  {
    id: 'cholesterol.ldl.high',
    source: NCEP_ATP3,
    measure: 'ldlCholesterol',
    severity: 2,
    applies: (r) => (r.ldl ?? 0) >= 160,
    advice: (r) => `Your LDL ("bad") cholesterol is ${round1(r.ldl)} mg/dL (160 or more is high). Talk to your doctor about whether you need medicine as well as diet changes.`,
  },
  {
    id: 'cholesterol.ldl.borderline',
    source: NCEP_ATP3,
    measure: 'ldlCholesterol',
    severity: 1,
    applies: (r) => (r.ldl ?? 0) >= 130,
    advice: (r) => `Your LDL ("bad") cholesterol is ${round1(r.ldl)} mg/dL (130-159 is borderline high). Less saturated and trans fat and more fibre can lower it.`,
  },
  {
    id: 'hba1c.diabetes',
    source: ADA_2024,
    measure: 'hba1c',
    severity: 2,
    applies: (r) => (r.hba1c ?? 0) >= 6.5,
    advice: (r) => `Your HbA1c is ${round1(r.hba1c)} % (6.5 % or more is in the diabetes range). Please see your doctor to confirm it and plan care.`,
  },
  {
    id: 'hba1c.prediabetes',
    source: ADA_2024,
    measure: 'hba1c',
    severity: 1,
    applies: (r) => (r.hba1c ?? 0) >= 5.7,
    advice: (r) => `Your HbA1c is ${round1(r.hba1c)} % (5.7-6.4 % is prediabetes). Weight loss and 150 minutes of activity a week greatly lower the chance of it becoming diabetes.`,
  },
  {
    id: 'glucose.fasting.diabetes',
    source: ADA_2024,
    measure: 'fastingGlucose',
    severity: 2,
    applies: (r) => (r.fastingGlucose ?? 0) >= 126,
    advice: (r) => `Your fasting blood sugar is ${round1(r.fastingGlucose)} mg/dL (126 or more is in the diabetes range). Please see your doctor to confirm it.`,
  },
  {
    id: 'glucose.fasting.prediabetes',
    source: ADA_2024,
    measure: 'fastingGlucose',
    severity: 1,
    applies: (r) => (r.fastingGlucose ?? 0) >= 100,
    advice: (r) => `Your fasting blood sugar is ${round1(r.fastingGlucose)} mg/dL (100-125 is prediabetes). Weight loss and regular activity help bring it down.`,
  },
  {
    id: 'smoking.current',
    source: SMOKING,
    measure: 'smoking',
    severity: 2,
    applies: (r) => r.smoker === true,
    advice: () => 'You smoke. Stopping is the single biggest thing you can do for your heart; your doctor can offer counselling and medicines that double the chance of quitting.',
  },
];

/** A risk-model contribution (src/ml/logistic.ts explainPrediction gives these). */
export interface ModelContribution {
  feature: string;
  /** Log-odds this feature added to the risk. */
  contribution: number;
  modifiable: boolean;
  description?: string;
}

export interface Suggestion {
  ruleId: string;
  source: string;
  measure: Measure | 'model';
  text: string;
  /** Log-odds the related model features added, when the model saw them raise the risk. */
  modelContribution?: number;
}

/** Which measure a risk-model feature stands for (defaults: the UCI heart attributes). */
export const UCI_FEATURE_MEASURES: Readonly<Record<string, Measure>> = {
  trestbps: 'bloodPressure',
  chol: 'totalCholesterol',
  fbs: 'fastingGlucose',
};

export const MODEL_RULE_ID = 'model.modifiable-driver';
const MODEL_SOURCE = 'MedLedger risk model: ridge logistic regression, contribution = coefficient × standardised value';

export interface SuggestOptions {
  /** Per-feature contributions of the patient's risk estimate. */
  contributions?: readonly ModelContribution[];
  featureMeasures?: Readonly<Record<string, Measure>>;
  /** A modifiable feature that raised the log-odds by at least this, with no guideline rule firing, still gets a suggestion. Default 0.2. */
  minContribution?: number;
}

/**
 * Suggestions for one patient: the most severe firing rule of each measure, plus modifiable model
 * drivers no rule covered. Those the model saw raise the risk most come first, then by severity.
 */
export function suggestLifestyle(record: LifestyleRecord, options: SuggestOptions = {}): Suggestion[] {
  const r = normaliseRecord(record);
  const featureMeasures = options.featureMeasures ?? UCI_FEATURE_MEASURES;
  const minContribution = options.minContribution ?? 0.2;
  const raised = new Map<Measure, number>();
  for (const c of options.contributions ?? []) {
    const measure = featureMeasures[c.feature];
    if (measure && c.modifiable && c.contribution > 0) raised.set(measure, (raised.get(measure) ?? 0) + c.contribution);
  }
  const fired: { suggestion: Suggestion; severity: number }[] = [];
  const covered = new Set<Measure>();
  for (const rule of LIFESTYLE_RULES) {
    if (covered.has(rule.measure) || !rule.applies(r)) continue;
    covered.add(rule.measure);
    const contribution = raised.get(rule.measure);
    const text = contribution === undefined ? rule.advice(r) : `${rule.advice(r)} In your risk estimate this raised the risk (by ${contribution.toFixed(2)} log-odds).`;
    fired.push({ suggestion: { ruleId: rule.id, source: rule.source, measure: rule.measure, text, ...(contribution === undefined ? {} : { modelContribution: contribution }) }, severity: rule.severity });
  }
  for (const c of options.contributions ?? []) {
    const measure = featureMeasures[c.feature];
    if (!c.modifiable || c.contribution < minContribution || (measure && covered.has(measure))) continue;
    const what = c.description ?? c.feature;
    fired.push({
      suggestion: {
        ruleId: MODEL_RULE_ID,
        source: MODEL_SOURCE,
        measure: 'model',
        text: `Your ${what} raised your estimated risk (by ${c.contribution.toFixed(2)} log-odds), though no guideline threshold in your record was crossed; ask your doctor whether improving it is worthwhile for you.`,
        modelContribution: c.contribution,
      },
      severity: 0,
    });
  }
  fired.sort((a, b) => (b.suggestion.modelContribution ?? 0) - (a.suggestion.modelContribution ?? 0) || b.severity - a.severity);
  return fired.map((f) => f.suggestion);
}

/** Converts the record to the threshold units; throws on a unit it does not know. */
export function normaliseRecord(record: LifestyleRecord): NormalisedRecord {
  const out: NormalisedRecord = {};
  if (record.systolicBp) out.systolic = convert(record.systolicBp, 'systolicBp', MM_HG);
  if (record.diastolicBp) out.diastolic = convert(record.diastolicBp, 'diastolicBp', MM_HG);
  if (record.bmi) out.bmi = convert(record.bmi, 'bmi', { 'kg/m2': 1 });
  else if (record.weight && record.height) {
    const kg = convert(record.weight, 'weight', { kg: 1, g: 0.001, '[lb_av]': 0.45359237 });
    const m = convert(record.height, 'height', { m: 1, cm: 0.01, '[in_i]': 0.0254 });
    out.bmi = kg / (m * m);
  }
  // Cholesterol: 1 mmol/L = 38.67 mg/dL (molar mass 386.65 g/mol).
  if (record.totalCholesterol) out.totalCholesterol = convert(record.totalCholesterol, 'totalCholesterol', { 'mg/dL': 1, 'mmol/L': 38.67 });
  if (record.ldlCholesterol) out.ldl = convert(record.ldlCholesterol, 'ldlCholesterol', { 'mg/dL': 1, 'mmol/L': 38.67 });
  // HbA1c: IFCC mmol/mol → NGSP % by the IFCC–NGSP master equation, NGSP = 0.09148·IFCC + 2.152.
  if (record.hba1c) out.hba1c = record.hba1c.unit === 'mmol/mol' ? 0.09148 * finite(record.hba1c, 'hba1c') + 2.152 : convert(record.hba1c, 'hba1c', { '%': 1 });
  // Glucose: 1 mmol/L = 18.016 mg/dL (molar mass 180.16 g/mol).
  if (record.fastingGlucose) out.fastingGlucose = convert(record.fastingGlucose, 'fastingGlucose', { 'mg/dL': 1, 'mmol/L': 18.016 });
  if (record.smoker !== undefined) out.smoker = record.smoker;
  return out;
}

const MM_HG = { 'mm[Hg]': 1 };

/** UCUM spellings seen in the wild for the same unit. */
const ALIASES: Record<string, string> = { mmHg: 'mm[Hg]', 'mg/dl': 'mg/dL', 'mmol/l': 'mmol/L', 'kg/m^2': 'kg/m2', lb: '[lb_av]', in: '[in_i]' };

function convert(q: Quantity, name: string, factors: Record<string, number>): number {
  const unit = ALIASES[q.unit] ?? q.unit;
  const factor = factors[unit];
  if (factor === undefined) throw new Error(`${name}: unit ${JSON.stringify(q.unit)} not supported (expected ${Object.keys(factors).join(', ')})`);
  return finite(q, name) * factor;
}

function finite(q: Quantity, name: string): number {
  if (!Number.isFinite(q.value)) throw new Error(`${name}: value is not a finite number`);
  return q.value;
}
