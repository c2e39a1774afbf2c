/**
 * Names people use for the tests and measurements in their records ("Blood sugar (HbA1c)", not
 * "Hemoglobin A1c/Hemoglobin.total in Blood"), with one line on what each means. Keyed by LOINC code:
 * every code of src/demo/terminology.ts (LABS, VITALS, LIPID_PANEL) and the LOINC codes the demo's
 * cardiology work-up writes (src/ml/heart-codes.ts). The clinical (LOINC long) name stays with the
 * record: the views show it on hover and in a details toggle. Wording follows MedlinePlus lab test
 * pages (https://medlineplus.gov/lab-tests/).
 */
import type { CodeableConcept } from '@medplum/fhirtypes';
import { LABS, LIPID_PANEL, SYSTEM, VITALS } from '../../../demo/terminology.js';
import { codeText } from './fhir.js';

export interface PlainName {
  /** What people call it. */
  name: string;
  /** One line: what it measures, or why it matters. */
  meaning: string;
}

const LOINC_NAMES: Record<string, PlainName> = {
  [LABS.hba1c.code]: { name: 'Blood sugar (HbA1c)', meaning: 'Your average blood sugar over the last 2–3 months; used to find and follow diabetes.' },
  [LABS.glucose.code]: { name: 'Blood sugar (glucose)', meaning: 'How much sugar was in your blood when the sample was taken.' },
  '1558-6': { name: 'Fasting blood sugar', meaning: 'Blood sugar after not eating for at least 8 hours.' },
  [LABS.cholesterol.code]: { name: 'Total cholesterol', meaning: 'All the cholesterol in your blood; high levels raise the risk of heart disease.' },
  [LABS.ldl.code]: { name: 'LDL ("bad") cholesterol', meaning: 'The cholesterol that can build up in your arteries; lower is better.' },
  [LABS.hdl.code]: { name: 'HDL ("good") cholesterol', meaning: 'The cholesterol that helps clear other cholesterol away; higher is better.' },
  [LABS.triglycerides.code]: { name: 'Triglycerides (blood fats)', meaning: 'A type of fat in your blood; high levels raise the risk of heart disease.' },
  [LABS.creatinine.code]: { name: 'Kidney function (creatinine)', meaning: 'A waste product your kidneys clear; a high level can mean they are not working as well.' },
  [LABS.hemoglobin.code]: { name: 'Hemoglobin (red blood cells)', meaning: 'The protein in red blood cells that carries oxygen; a low level can mean anaemia.' },
  [LIPID_PANEL.code]: { name: 'Cholesterol test (lipid panel)', meaning: 'A set of tests of the fats in your blood: total, LDL and HDL cholesterol and triglycerides.' },
  [VITALS.bloodPressure.code]: { name: 'Blood pressure', meaning: 'The pressure of blood in your arteries: the top number when your heart beats, the bottom between beats.' },
  [VITALS.systolic.code]: { name: 'Blood pressure (top number)', meaning: 'The pressure in your arteries when your heart beats.' },
  [VITALS.diastolic.code]: { name: 'Blood pressure (bottom number)', meaning: 'The pressure in your arteries between heartbeats.' },
  [VITALS.heartRate.code]: { name: 'Pulse', meaning: 'How many times your heart beats in a minute.' },
  [VITALS.bodyWeight.code]: { name: 'Weight', meaning: 'Your body weight.' },
  [VITALS.bodyHeight.code]: { name: 'Height', meaning: 'Your height.' },
  [VITALS.bmi.code]: { name: 'Body mass index (BMI)', meaning: 'Your weight compared with your height; one rough sign of a healthy weight.' },
  [VITALS.bodyTemperature.code]: { name: 'Temperature', meaning: 'Your body temperature; above about 38 °C is a fever.' },
  '30525-0': { name: 'Age', meaning: 'Your age when the test was done.' },
};

/** The LOINC code of a concept, when it has one. */
export function loincOf(cc: CodeableConcept | undefined): string | undefined {
  return cc?.coding?.find((c) => c.system === SYSTEM.loinc)?.code;
}

/** What people call the test `cc` codes, or undefined when this list does not know it. */
export function plainNameOf(cc: CodeableConcept | undefined): PlainName | undefined {
  const code = loincOf(cc);
  return code ? LOINC_NAMES[code] : undefined;
}

/** The name to show: the plain name when known, else the record's own text or display. */
export const displayName = (cc: CodeableConcept | undefined): string => plainNameOf(cc)?.name ?? codeText(cc);

/** The clinical name and its code ("Hemoglobin A1c/Hemoglobin.total in Blood (LOINC 4548-4)"), for hover and details. */
export function clinicalName(cc: CodeableConcept | undefined): string {
  const coding = cc?.coding?.find((c) => c.system === SYSTEM.loinc) ?? cc?.coding?.[0];
  const long = coding?.display ?? codeText(cc);
  if (!coding?.code) return long;
  return `${long} (${coding.system === SYSTEM.loinc ? 'LOINC' : 'code'} ${coding.code})`;
}
