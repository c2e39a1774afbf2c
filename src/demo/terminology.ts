/**
 * The codes the demo generator writes: LOINC observations with UCUM units and reference ranges,
 * SNOMED CT conditions and allergies, RxNorm medications, CVX vaccines, and the HL7 code systems
 * for categories, statuses and interpretations. One place, so the generator and its tests agree.
 */
import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import { SENSITIVE_LABELS } from '../consent/policy.js';

export const SYSTEM = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  ucum: 'http://unitsofmeasure.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  diagnosticService: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  medicationRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  routeOfAdministration: 'http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration',
} as const;

export const concept = (system: string, code: string, display: string): CodeableConcept => ({
  coding: [{ system, code, display }],
  text: display,
});

export const CATEGORY = {
  vitalSigns: concept(SYSTEM.observationCategory, 'vital-signs', 'Vital Signs'),
  laboratory: concept(SYSTEM.observationCategory, 'laboratory', 'Laboratory'),
  problemList: concept(SYSTEM.conditionCategory, 'problem-list-item', 'Problem List Item'),
  encounterDiagnosis: concept(SYSTEM.conditionCategory, 'encounter-diagnosis', 'Encounter Diagnosis'),
  labReport: concept(SYSTEM.diagnosticService, 'LAB', 'Laboratory'),
  outpatient: concept(SYSTEM.medicationRequestCategory, 'outpatient', 'Outpatient'),
} as const;

/**
 * The label a psychiatric record carries. Taken from the consent policy's list, so the demo's
 * depression records are exactly the ones the gatekeeper hides from third parties.
 */
export const PSYCHIATRY_LABEL: Coding = {
  ...SENSITIVE_LABELS.find((l) => l.system === SYSTEM.actCode && l.code === 'PSY')!,
  display: 'psychiatry information sensitivity',
};

/** A UCUM quantity unit: the code, and how people write it. */
export interface Unit {
  code: string;
  display: string;
}

export interface VitalSign {
  code: string;
  display: string;
  unit: Unit;
}

/** https://hl7.org/fhir/R4/observation-vitalsigns.html — the LOINC codes and UCUM units of the vital signs profile. */
export const VITALS = {
  bloodPressure: { code: '85354-9', display: 'Blood pressure panel with all children optional', unit: { code: 'mm[Hg]', display: 'mmHg' } },
  systolic: { code: '8480-6', display: 'Systolic blood pressure', unit: { code: 'mm[Hg]', display: 'mmHg' } },
  diastolic: { code: '8462-4', display: 'Diastolic blood pressure', unit: { code: 'mm[Hg]', display: 'mmHg' } },
  heartRate: { code: '8867-4', display: 'Heart rate', unit: { code: '/min', display: 'beats/minute' } },
  bodyWeight: { code: '29463-7', display: 'Body weight', unit: { code: 'kg', display: 'kg' } },
  bodyHeight: { code: '8302-2', display: 'Body height', unit: { code: 'cm', display: 'cm' } },
  bmi: { code: '39156-5', display: 'Body mass index (BMI) [Ratio]', unit: { code: 'kg/m2', display: 'kg/m2' } },
  bodyTemperature: { code: '8310-5', display: 'Body temperature', unit: { code: 'Cel', display: '°C' } },
} as const satisfies Record<string, VitalSign>;

export type Sex = 'female' | 'male';

/** Inclusive normal limits (either may be absent), as an adult lab reports them. */
export interface Range {
  low?: number;
  high?: number;
}

export interface LabTest {
  code: string;
  display: string;
  unit: Unit;
  /** Decimal places the lab reports. */
  decimals: number;
  range: (sex: Sex) => Range;
}

const percent: Unit = { code: '%', display: '%' };
const mgdl: Unit = { code: 'mg/dL', display: 'mg/dL' };
const gdl: Unit = { code: 'g/dL', display: 'g/dL' };

/** Adult reference intervals as common US labs print them (ADA for HbA1c and fasting glucose; NCEP ATP III for lipids). */
export const LABS = {
  hba1c: { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: percent, decimals: 1, range: () => ({ low: 4.0, high: 5.6 }) },
  glucose: { code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', unit: mgdl, decimals: 0, range: () => ({ low: 70, high: 99 }) },
  cholesterol: { code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: mgdl, decimals: 0, range: () => ({ high: 199 }) },
  ldl: { code: '18262-6', display: 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay', unit: mgdl, decimals: 0, range: () => ({ high: 99 }) },
  hdl: { code: '2085-9', display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', unit: mgdl, decimals: 0, range: (sex) => ({ low: sex === 'female' ? 50 : 40 }) },
  triglycerides: { code: '2571-8', display: 'Triglyceride [Mass/volume] in Serum or Plasma', unit: mgdl, decimals: 0, range: () => ({ high: 149 }) },
  creatinine: {
    code: '2160-0',
    display: 'Creatinine [Mass/volume] in Serum or Plasma',
    unit: mgdl,
    decimals: 2,
    range: (sex) => (sex === 'female' ? { low: 0.5, high: 1.1 } : { low: 0.7, high: 1.3 }),
  },
  hemoglobin: {
    code: '718-7',
    display: 'Hemoglobin [Mass/volume] in Blood',
    unit: gdl,
    decimals: 1,
    range: (sex) => (sex === 'female' ? { low: 12.0, high: 15.5 } : { low: 13.5, high: 17.5 }),
  },
} as const satisfies Record<string, LabTest>;

export type LabKey = keyof typeof LABS;

export const LIPID_PANEL = { code: '57698-3', display: 'Lipid panel with direct LDL - Serum or Plasma' } as const;

export type InterpretationCode = 'H' | 'L' | 'N';

/** H above the high limit, L below the low limit, N within (limits included, as FHIR referenceRange reads them). */
export function interpret(value: number, range: Range): InterpretationCode {
  if (range.high !== undefined && value > range.high) return 'H';
  if (range.low !== undefined && value < range.low) return 'L';
  return 'N';
}

export const INTERPRETATION_DISPLAY: Record<InterpretationCode, string> = { H: 'High', L: 'Low', N: 'Normal' };

/** Chronic problems the generator models, with their SNOMED CT codes. */
export const CONDITIONS = {
  hypertension: { code: '38341003', display: 'Hypertensive disorder, systemic arterial (disorder)', text: 'Hypertension' },
  diabetes: { code: '44054006', display: 'Diabetes mellitus type 2 (disorder)', text: 'Type 2 diabetes mellitus' },
  hyperlipidemia: { code: '55822004', display: 'Hyperlipidemia (disorder)', text: 'Hyperlipidemia' },
  asthma: { code: '195967001', display: 'Asthma (disorder)', text: 'Asthma' },
  depression: { code: '35489007', display: 'Depressive disorder (disorder)', text: 'Depression' },
  obesity: { code: '414916001', display: 'Obesity (disorder)', text: 'Obesity' },
} as const;

export type ConditionKey = keyof typeof CONDITIONS;

/** Short illnesses of acute visits (encounter diagnoses); `fever` = how often they come with one. */
export const ACUTE_ILLNESSES = [
  { code: '195662009', display: 'Acute viral pharyngitis (disorder)', text: 'Sore throat', fever: 0.6 },
  { code: '10509002', display: 'Acute bronchitis (disorder)', text: 'Acute bronchitis', fever: 0.5 },
  { code: '444814009', display: 'Viral sinusitis (disorder)', text: 'Sinusitis', fever: 0.3 },
  { code: '68566005', display: 'Urinary tract infectious disease (disorder)', text: 'Urinary tract infection', fever: 0.3 },
  { code: '279039007', display: 'Low back pain (finding)', text: 'Low back pain', fever: 0 },
] as const;

export const ENCOUNTER_TYPES = {
  checkup: concept(SYSTEM.snomed, '185349003', 'Encounter for check up (procedure)'),
  followup: concept(SYSTEM.snomed, '390906007', 'Follow-up encounter (procedure)'),
  acute: concept(SYSTEM.snomed, '185345009', 'Encounter for symptom (procedure)'),
  emergency: concept(SYSTEM.snomed, '50849002', 'Emergency room admission (procedure)'),
} as const;

export const ENCOUNTER_CLASS = {
  ambulatory: { system: SYSTEM.actCode, code: 'AMB', display: 'ambulatory' },
  emergency: { system: SYSTEM.actCode, code: 'EMER', display: 'emergency' },
} as const;

export interface Medication {
  code: string;
  display: string;
  text: string;
  /** Doses a day; undefined = as needed. */
  perDay?: number;
  route: 'oral' | 'inhaled';
  dose: Unit;
  when?: 'HS';
}

const tablet: Unit = { code: '{tbl}', display: 'tablet' };

/** RxNorm clinical drugs (SCD) for the treated conditions. */
export const MEDICATIONS = {
  hypertension: { code: '314076', display: 'lisinopril 10 MG Oral Tablet', text: 'Take 1 tablet by mouth once daily', perDay: 1, route: 'oral', dose: tablet },
  diabetes: { code: '861007', display: 'metformin hydrochloride 500 MG Oral Tablet', text: 'Take 1 tablet by mouth twice daily with meals', perDay: 2, route: 'oral', dose: tablet },
  hyperlipidemia: { code: '617310', display: 'atorvastatin 20 MG Oral Tablet', text: 'Take 1 tablet by mouth once daily at bedtime', perDay: 1, route: 'oral', dose: tablet, when: 'HS' },
  asthma: {
    code: '745679',
    display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler',
    text: 'Inhale 2 puffs (salbutamol) every 4 to 6 hours as needed for wheezing',
    route: 'inhaled',
    dose: { code: '{puff}', display: 'puff' },
  },
  depression: { code: '312941', display: 'sertraline 50 MG Oral Tablet', text: 'Take 1 tablet by mouth once daily', perDay: 1, route: 'oral', dose: tablet },
} as const satisfies Partial<Record<ConditionKey, Medication>>;

export const ROUTES = {
  oral: concept(SYSTEM.snomed, '26643006', 'Oral route (qualifier value)'),
  inhaled: concept(SYSTEM.snomed, '447694001', 'Respiratory tract route (qualifier value)'),
} as const;

export const VACCINES = {
  influenza: { code: '140', display: 'Influenza, seasonal, injectable, preservative free' },
  tdap: { code: '115', display: 'Tdap' },
  pneumococcal: { code: '33', display: 'pneumococcal polysaccharide vaccine, 23 valent' },
} as const;

/** Allergens (SNOMED CT substances) with their category and a typical reaction. */
export const ALLERGENS = [
  { code: '764146007', display: 'Penicillin (substance)', category: 'medication', reaction: { code: '271807003', display: 'Eruption of skin (disorder)' } },
  { code: '762952008', display: 'Peanut (substance)', category: 'food', reaction: { code: '39579001', display: 'Anaphylaxis (disorder)' } },
  { code: '256277009', display: 'Grass pollen (substance)', category: 'environment', reaction: { code: '70076002', display: 'Rhinitis (disorder)' } },
  { code: '111088007', display: 'Latex (substance)', category: 'environment', reaction: { code: '247472004', display: 'Wheal (finding)' } },
] as const;
