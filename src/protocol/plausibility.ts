/**
 * Plausibility limits for the numeric labs and vital signs MedLedger writes (the LOINC codes of
 * src/demo/terminology.ts), shared by the EHR Manager's record form and the gatekeeper's write path.
 *
 * Two bands per code, in the code's UCUM unit:
 * - **impossible**: outside what a living person has ever been measured at (world records and case
 *   reports, below) or a negative amount. The gatekeeper refuses these (a FHIR OperationOutcome, 422,
 *   issue code `business-rule`), because one typo (HbA1c 99,999 %) ruins a patient's chart and trends.
 * - **unlikely**: possible, but far enough outside clinical experience that a typo is the likelier
 *   cause. The form asks "I confirm this value" before saving; the gatekeeper stores them.
 *
 * A value in another unit (or without a UCUM code whose text is not this unit) is not comparable and
 * passes; so does every code not listed here. Systolic at or below diastolic is impossible too.
 * The limits are deliberately wide: they catch typos and sign errors, not disease.
 */

/** A numeric band: a value below `low` or above `high` is outside it (either may be absent). */
export interface Band {
  low?: number;
  high?: number;
}

export interface Limits {
  /** A short clinical name for messages ("HbA1c"). */
  name: string;
  /** The UCUM code the limits are in, and how people write the unit. */
  unit: string;
  unitText: string;
  impossible: Band;
  unlikely: Band;
  /** Where the impossible limits come from. */
  source: string;
}

/** Keyed by LOINC code (http://loinc.org). */
export const LIMITS: Readonly<Record<string, Limits>> = {
  // HbA1c: assays report 2–25 %; values above ~20 % are case reports (severe uncontrolled diabetes);
  // below 2 % needs near-absent red cell survival. >15 % is rarely seen outside a lab error.
  // (NGSP, "Factors that interfere with HbA1c test results", ngsp.org/factors.asp.)
  '4548-4': { name: 'HbA1c', unit: '%', unitText: '%', impossible: { low: 2, high: 25 }, unlikely: { low: 3.5, high: 15 }, source: 'NGSP assay reporting range' },
  // Glucose: a tube can read 0 (glycolysis in vitro); the highest survived value on record is
  // 2,656 mg/dL (Guinness World Records, 2008). Meters read "HI" above 600 mg/dL.
  '2345-7': { name: 'Glucose', unit: 'mg/dL', unitText: 'mg/dL', impossible: { low: 0, high: 3000 }, unlikely: { low: 40, high: 600 }, source: 'Guinness World Records highest blood sugar, 2,656 mg/dL' },
  // Lipids: homozygous familial hypercholesterolaemia reaches total ~1,000 mg/dL and LDL ~900 mg/dL;
  // cholestatic lipoprotein X ~3,000 mg/dL (Fellin et al., Clin Chim Acta 2013). Triglycerides above
  // 20,000 mg/dL are reported in lipoprotein lipase deficiency (Brunzell, GeneReviews).
  '2093-3': { name: 'Total cholesterol', unit: 'mg/dL', unitText: 'mg/dL', impossible: { low: 0, high: 4000 }, unlikely: { low: 70, high: 500 }, source: 'Fellin et al. 2013 (lipoprotein X)' },
  '18262-6': { name: 'LDL cholesterol', unit: 'mg/dL', unitText: 'mg/dL', impossible: { low: 0, high: 3000 }, unlikely: { low: 10, high: 400 }, source: 'homozygous FH (EAS consensus, Cuchel et al. 2014)' },
  '2085-9': { name: 'HDL cholesterol', unit: 'mg/dL', unitText: 'mg/dL', impossible: { low: 0, high: 400 }, unlikely: { low: 10, high: 150 }, source: 'Tangier disease (near 0) to CETP deficiency (~250 mg/dL)' },
  '2571-8': { name: 'Triglycerides', unit: 'mg/dL', unitText: 'mg/dL', impossible: { low: 0, high: 40000 }, unlikely: { low: 20, high: 2000 }, source: 'lipoprotein lipase deficiency (Brunzell, GeneReviews)' },
  // Creatinine: untreated end-stage renal failure is reported up to ~70 mg/dL; below 0.05 is below
  // any assay's limit of quantitation.
  '2160-0': { name: 'Creatinine', unit: 'mg/dL', unitText: 'mg/dL', impossible: { low: 0.05, high: 100 }, unlikely: { low: 0.2, high: 15 }, source: 'case reports of untreated renal failure' },
  // Hemoglobin: survival at 0.7 g/dL is reported (Jehovah's Witness case reports); polycythaemia vera
  // rarely exceeds 25 g/dL.
  '718-7': { name: 'Hemoglobin', unit: 'g/dL', unitText: 'g/dL', impossible: { low: 0.5, high: 30 }, unlikely: { low: 5, high: 22 }, source: 'extreme anaemia case reports; polycythaemia' },
  // Blood pressure: 480/350 mmHg was measured during heavy leg presses (MacDougall et al., J Appl
  // Physiol 1985). Diastolic 0 is heard in severe aortic regurgitation.
  '8480-6': { name: 'Systolic blood pressure', unit: 'mm[Hg]', unitText: 'mmHg', impossible: { low: 20, high: 500 }, unlikely: { low: 60, high: 260 }, source: 'MacDougall et al. 1985' },
  '8462-4': { name: 'Diastolic blood pressure', unit: 'mm[Hg]', unitText: 'mmHg', impossible: { low: 0, high: 360 }, unlikely: { low: 30, high: 150 }, source: 'MacDougall et al. 1985' },
  // Heart rate: 600 /min in pre-excited atrial fibrillation (Chhabra et al., Indian Pacing
  // Electrophysiol J 2012) is the highest reported.
  '8867-4': { name: 'Heart rate', unit: '/min', unitText: 'beats/minute', impossible: { low: 0, high: 600 }, unlikely: { low: 30, high: 220 }, source: 'Chhabra et al. 2012' },
  // Body weight: the smallest surviving newborn ~0.25 kg; the heaviest person recorded ~635 kg (Guinness).
  '29463-7': { name: 'Body weight', unit: 'kg', unitText: 'kg', impossible: { low: 0.2, high: 700 }, unlikely: { low: 2, high: 300 }, source: 'Guinness World Records (heaviest and smallest)' },
  // Body height: the tallest person recorded 272 cm (Robert Wadlow); premature newborns ~20 cm.
  '8302-2': { name: 'Body height', unit: 'cm', unitText: 'cm', impossible: { low: 20, high: 275 }, unlikely: { low: 45, high: 230 }, source: 'Guinness World Records (tallest)' },
  // BMI: ~7 in extreme anorexia; ~185 for the heaviest person recorded.
  '39156-5': { name: 'BMI', unit: 'kg/m2', unitText: 'kg/m2', impossible: { low: 5, high: 250 }, unlikely: { low: 12, high: 70 }, source: 'Guinness World Records; anorexia case reports' },
  // Body temperature: 13.7 °C survived accidental hypothermia (Gilbert et al., Lancet 2000); 46.5 °C
  // survived heat stroke (Slovis et al. 1980).
  '8310-5': { name: 'Body temperature', unit: 'Cel', unitText: '°C', impossible: { low: 10, high: 47 }, unlikely: { low: 34, high: 42 }, source: 'Gilbert et al. 2000; Slovis et al. 1980' },
};

export const LOINC_SYSTEM = 'http://loinc.org';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
/** The blood pressure panel (https://hl7.org/fhir/R4/observation-vitalsigns.html) and its components. */
export const BP_PANEL = '85354-9';
export const SYSTOLIC = '8480-6';
export const DIASTOLIC = '8462-4';

export type Level = 'ok' | 'unlikely' | 'impossible';

export interface Judgement {
  level: Level;
  /** Words for people, when not ok ("HbA1c of -5 % is impossible: …"). */
  message?: string;
}

const outside = (value: number, band: Band): boolean => (band.low !== undefined && value < band.low) || (band.high !== undefined && value > band.high);

const bandText = (band: Band, unit: string): string =>
  band.low !== undefined && band.high !== undefined ? `between ${band.low} and ${band.high} ${unit}` : band.low !== undefined ? `at least ${band.low} ${unit}` : `at most ${band.high} ${unit}`;

/** How plausible `value` is for the LOINC `code` (in its UCUM unit); ok for codes without limits. */
export function judgeValue(code: string, value: number): Judgement {
  const limits = Object.hasOwn(LIMITS, code) ? LIMITS[code]! : undefined;
  if (!limits) return { level: 'ok' };
  const shown = `${limits.name} of ${value} ${limits.unitText}`;
  if (!Number.isFinite(value)) return { level: 'impossible', message: `${limits.name} must be a number.` };
  if (value < 0 || outside(value, limits.impossible)) {
    return { level: 'impossible', message: `${shown} is impossible: a measured ${limits.name} is ${bandText(limits.impossible, limits.unitText)}. Check the value and its unit.` };
  }
  if (outside(value, limits.unlikely)) {
    return { level: 'unlikely', message: `${shown} is very unusual (most are ${bandText(limits.unlikely, limits.unitText)}). Confirm it if it is correct.` };
  }
  return { level: 'ok' };
}

/** Systolic must be above diastolic (the pulse pressure is never zero or negative in a living person). */
export function judgeBloodPressure(systolic: number, diastolic: number): Judgement {
  const worst = [judgeValue(SYSTOLIC, systolic), judgeValue(DIASTOLIC, diastolic)];
  const impossible = worst.find((j) => j.level === 'impossible');
  if (impossible) return impossible;
  if (systolic <= diastolic) return { level: 'impossible', message: `A blood pressure of ${systolic}/${diastolic} mmHg is impossible: the top number (systolic) must be higher than the bottom number (diastolic).` };
  return worst.find((j) => j.level === 'unlikely') ?? { level: 'ok' };
}

interface QuantityLike {
  value?: unknown;
  unit?: unknown;
  system?: unknown;
  code?: unknown;
}
interface ConceptLike {
  coding?: { system?: unknown; code?: unknown }[];
}

const loincCodes = (cc: ConceptLike | undefined): string[] =>
  Array.isArray(cc?.coding) ? cc.coding.filter((c) => c?.system === LOINC_SYSTEM && typeof c.code === 'string').map((c) => c.code as string) : [];

/** Whether `q` is in the limits' unit: its UCUM code, or (no code given) unit text naming that unit. */
function inUnit(q: QuantityLike, limits: Limits): boolean {
  if (q.code !== undefined) return q.code === limits.unit && (q.system === undefined || q.system === UCUM_SYSTEM);
  return q.unit === limits.unit || q.unit === limits.unitText;
}

/** The numeric value of `q` for the first listed code of `cc`, when comparable with its limits. */
function comparable(cc: ConceptLike | undefined, q: QuantityLike | undefined): { code: string; value: number } | undefined {
  if (!q || typeof q !== 'object' || typeof q.value !== 'number') return undefined;
  const code = loincCodes(cc).find((c) => Object.hasOwn(LIMITS, c));
  if (!code || !inUnit(q, LIMITS[code]!)) return undefined;
  return { code, value: q.value };
}

export interface Implausible {
  /** The FHIRPath of the value ("Observation.component[1].valueQuantity"). */
  expression: string;
  message: string;
}

interface ObservationLike {
  resourceType?: unknown;
  code?: ConceptLike;
  valueQuantity?: QuantityLike;
  component?: { code?: ConceptLike; valueQuantity?: QuantityLike }[];
}

/** The impossible values of an Observation (its value and its components'); empty for anything else. */
export function impossibleValues(resource: unknown): Implausible[] {
  const obs = resource as ObservationLike | null;
  if (!obs || typeof obs !== 'object' || obs.resourceType !== 'Observation') return [];
  const found: Implausible[] = [];
  const check = (cc: ConceptLike | undefined, q: QuantityLike | undefined, expression: string) => {
    const v = comparable(cc, q);
    const judged = v && judgeValue(v.code, v.value);
    if (judged?.level === 'impossible') found.push({ expression, message: judged.message! });
    return v;
  };
  check(obs.code, obs.valueQuantity, 'Observation.valueQuantity');
  const parts = Array.isArray(obs.component) ? obs.component : [];
  const pressures = new Map<string, number>();
  parts.forEach((c, i) => {
    const v = check(c?.code, c?.valueQuantity, `Observation.component[${i}].valueQuantity`);
    if (v) pressures.set(v.code, v.value);
  });
  const [sys, dia] = [pressures.get(SYSTOLIC), pressures.get(DIASTOLIC)];
  if (found.length === 0 && sys !== undefined && dia !== undefined && sys <= dia) {
    found.push({ expression: 'Observation.component', message: judgeBloodPressure(sys, dia).message! });
  }
  return found;
}
