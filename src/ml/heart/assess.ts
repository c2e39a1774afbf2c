/**
 * The heart-disease risk panel, computed where the data is: from the model document the manager
 * serves (`GET /api/ml/models/heart-risk`, trained by train.ts) and the FHIR records of one patient as
 * the reader got them from a gatekeeper. Nothing here sends or stores anything; it runs in the EHR
 * Manager's page, in the CLI and in the manager's stateless JSON API alike. Pure and browser-safe.
 *
 * - assessHeartRisk: calibrated probability of angiographic coronary disease with its 95 % interval,
 *   each input's log-odds contribution (intercept + Σ contributions = logit), where each input came
 *   from or why it is missing, the operating point, and a sentence for the patient.
 * - findSimilarCases: the nearest de-identified training cases, with their outcomes and why.
 * - adviseHeart: lifestyle suggestions (src/ml/lifestyle.ts), those on the largest modifiable
 *   contributions first, each citing its guideline rule.
 */
import type { Resource } from '@medplum/fhirtypes';
import { HEART_FHIR, HEART_HOSPITAL_NAMES, type HeartHospital } from '../heart-codes.js';
import { latestReading } from '../fhir-values.js';
import { normaliseRecord, suggestLifestyle, type LifestyleRecord, type Suggestion } from '../lifestyle.js';
import { inWords, percent, sentence } from '../plain-language.js';
import { explainEstimate, nearestCases, servedParameters as heartParameters, type ServedLogistic } from '../served-model.js';
import { readHeartInputs, shownValue } from './inputs.js';
import type { HeartAssessment, HeartRiskModelDocument, SimilarCase } from './types.js';

export function assessHeartRisk(doc: HeartRiskModelDocument, resources: Resource[]): HeartAssessment {
  const p = heartParameters(doc);
  return explainEstimate(doc, p, readHeartInputs(p, resources), (e, { enoughData, observed }) =>
    enoughData
      ? `${sentence(inWords(e.probability))} people with results like yours had narrowed heart arteries (more than half blocked) when their arteries were examined (${percent(e.probability)}). This is an estimate from a model, not a diagnosis: talk it over with your doctor.`
      : `There are not enough of your results to estimate this: the model needs at least ${p.minObserved} of its ${p.features.length} inputs and could read ${observed}. Your doctor can tell you which tests would help.`,
  );
}

/** 57 → "55–59". */
export const ageBand = (age: number) => `${Math.floor(age / 5) * 5}–${Math.floor(age / 5) * 5 + 4}`;

/**
 * The k nearest de-identified training cases, matched on sex first, as a clinician comparing cases
 * would: coronary disease is far rarer in women at the same age and risk factors (in this data 26 % of
 * women had it against 63 % of men), so a man's outcome says less about a woman than his nearness on
 * the other inputs suggests. Plain distance does not do this: the data are 79 % men, and Alice, a
 * woman, got five men. Other-sex cases fill in only when fewer than k of the patient's sex exist, and
 * then say so. The first reason is always sex (when it was read), then the two closest other inputs.
 */
export function findSimilarCases(doc: HeartRiskModelDocument, resources: Resource[], k = 5): SimilarCase[] {
  const p = heartParameters(doc);
  const read = readHeartInputs(p, resources);
  const sex = p.features.findIndex((f) => f.name === 'sex');
  const sexKnown = sex >= 0 && read.observed[sex] === true;
  const sameSex = (index: number) => p.cases[index]!.values[sex] === read.row[sex];
  // Every case ranked by distance (920 rows: cheap), then a stable partition: same sex first.
  const ranked = nearestCases(p, read.row, read.observed, sexKnown ? p.cases.length : k);
  const chosen = sexKnown ? [...ranked.filter((n) => sameSex(n.index)), ...ranked.filter((n) => !sameSex(n.index))].slice(0, k) : ranked;
  return chosen.map((near, rank) => {
    const c = p.cases[near.index]!;
    const others = near.closest.filter((j) => j !== sex).slice(0, sexKnown ? 2 : 3);
    const sexReason = sexKnown ? [sameSex(near.index) ? `same sex: ${c.sex}` : `different sex: ${c.sex} vs ${String(read.inputs[sex]!.value)} (too few cases of the patient's sex)`] : [];
    return {
      rank: rank + 1,
      distance: near.distance,
      site: HEART_HOSPITAL_NAMES[c.site as HeartHospital] ?? c.site,
      ageBand: c.ageBand,
      sex: c.sex,
      hasDisease: c.hasDisease,
      reasons: [...sexReason, ...others.map((j) => reason(p, j, c.values[j]!, read.row[j]!, c.ageBand, read.inputs[j]!.label))],
    };
  });
}

/** Why a case is close on input j, in words: "similar serum cholesterol: 241 vs 236 mg/dL". */
function reason(p: ServedLogistic, j: number, theirs: number, yours: number, band: string, label: string): string {
  const f = p.features[j]!;
  const what = label.charAt(0).toLowerCase() + label.slice(1);
  if (f.name === 'age') return band === ageBand(yours) ? `same age band: ${band}` : `similar age: ${band} vs ${yours}`;
  const a = HEART_FHIR[f.name]!;
  const [t, y] = [shownValue(f.name, a, theirs), shownValue(f.name, a, yours)];
  if (f.kind !== 'numeric') return t === y ? `same ${what}: ${t}` : `${what}: ${t} vs ${y}`;
  return `similar ${what}: ${t} vs ${y}${f.unit && f.unit !== 'a' ? ` ${f.unit}` : ''}`;
}

/** Codes of the measurements the guideline rules read beside the model's inputs. */
const LIFESTYLE_CODES = {
  diastolicBp: ['8462-4'],
  bmi: ['39156-5'],
  ldlCholesterol: ['18262-6', '13457-7', '2089-1'],
  hba1c: ['4548-4'],
  fastingGlucose: ['1558-6'],
} as const;
const LOINC = 'http://loinc.org';
/** SNOMED CT smoking findings (LOINC 72166-2 answers): current smokers, and non-smokers. */
const SMOKES = new Set(['77176002', '449868002', '428041000124106', '65568007', '428061000124105', '428071000124103']);
const DOES_NOT_SMOKE = new Set(['8517006', '266919005', '8392000']);

/** The latest quantity of any of `codes`, or undefined. */
function latestQuantity(resources: readonly Resource[], codes: readonly string[]): { value: number; unit: string } | undefined {
  let best: { value: number; unit: string; time: number } | undefined;
  for (const code of codes) {
    const { usable } = latestReading(resources, { system: LOINC, code }, (r) => typeof r.value.valueQuantity?.value === 'number' && !r.value.valueQuantity.comparator);
    if (!usable) continue;
    const time = usable.date ? Date.parse(usable.date) : -Infinity;
    const q = usable.value.valueQuantity!;
    if (!best || time >= best.time) best = { value: q.value!, unit: q.code ?? q.unit ?? '', time };
  }
  return best && { value: best.value, unit: best.unit };
}

/** The measurements the guideline rules need, from the assessment's inputs and the other records. */
function lifestyleRecord(resources: readonly Resource[], assessment: HeartAssessment): LifestyleRecord {
  const record: LifestyleRecord = {};
  const input = (feature: string) => assessment.inputs.find((i) => i.feature === feature && i.status === 'observed' && typeof i.value === 'number');
  const bp = input('trestbps');
  if (bp) record.systolicBp = { value: bp.value as number, unit: 'mm[Hg]' };
  const chol = input('chol');
  if (chol) record.totalCholesterol = { value: chol.value as number, unit: 'mg/dL' };
  for (const [field, codes] of Object.entries(LIFESTYLE_CODES) as [keyof typeof LIFESTYLE_CODES, readonly string[]][]) {
    const q = latestQuantity(resources, codes);
    // A unit the rules cannot convert leaves that measure out rather than failing the whole advice.
    if (q && tryNormalise({ [field]: q })) record[field] = q;
  }
  const smoking = latestReading(resources, { system: LOINC, code: '72166-2' }).usable;
  const answer = smoking?.value.valueCodeableConcept?.coding?.find((c) => c.system === 'http://snomed.info/sct')?.code;
  if (answer && SMOKES.has(answer)) record.smoker = true;
  else if (answer && DOES_NOT_SMOKE.has(answer)) record.smoker = false;
  return record;
}

function tryNormalise(record: LifestyleRecord): boolean {
  try {
    normaliseRecord(record);
    return true;
  } catch {
    return false;
  }
}

/** How a suggestion names a model input ("your … raised your estimated risk"). */
const ADVICE_WORDS: Record<string, string> = { trestbps: 'blood pressure', chol: 'cholesterol', fbs: 'fasting blood sugar' };

export function adviseHeart(doc: HeartRiskModelDocument, resources: Resource[], assessment: HeartAssessment): Suggestion[] {
  heartParameters(doc);
  // Only what was read counts as a driver: a filled-in value is the training median, not this patient.
  const contributions = assessment.inputs
    .filter((i) => i.status === 'observed')
    .map((i) => ({ feature: i.feature, contribution: i.contribution, modifiable: i.modifiable, description: ADVICE_WORDS[i.feature] ?? i.label.toLowerCase() }));
  return suggestLifestyle(lifestyleRecord(resources, assessment), { contributions });
}
