/**
 * The breast-cytology (WDBC) panel, computed where the data is: the served model document
 * (`GET /api/ml/models/breast-cytology`, trained by train.ts) and one patient's FHIR records as the
 * reader got them from a gatekeeper. A cytology report's Observations carry the 30 nuclear features
 * (codes.ts); the latest value per feature is used, a missing one filled with the training median and
 * said so. Same explanation as the heart panel: probability of malignancy with its 95 % interval,
 * contributions (intercept + Σ = logit), sources, operating point, a sentence for the patient.
 * Pure and browser-safe.
 */
import type { Resource } from '@medplum/fhirtypes';
import { latestReading, readingDate } from '../fhir-values.js';
import { inWords, percent, sentence } from '../plain-language.js';
import { explainEstimate, nearestCases, servedParameters, type ServedLogistic } from '../served-model.js';
import type { HeartInput, SimilarCase } from '../heart/types.js';
import { WDBC_LABELS, WDBC_UNIT, wdbcCoding } from './codes.js';
import type { BreastCytologyAssessment, BreastCytologyModelDocument } from './types.js';

const round = (v: number) => Math.round(v * 10000) / 10000;

/** The 30 inputs read from `resources`: raw row (NaN where missing) and each input's source or note. */
function readCytology(p: ServedLogistic, resources: readonly Resource[]) {
  const usable = (q: { value?: number; code?: string } | undefined) => typeof q?.value === 'number' && (q.code === undefined || q.code === WDBC_UNIT);
  const inputs = p.features.map((f, j): Omit<HeartInput, 'contribution'> & { raw: number } => {
    const coding = wdbcCoding(f.name);
    const base = { feature: f.name, label: WDBC_LABELS[f.name] ?? f.name, modifiable: false };
    const found = latestReading(resources, coding, (r) => usable(r.value.valueQuantity));
    if (found.usable) {
      const o = found.usable.observation;
      const date = readingDate(o);
      const raw = found.usable.value.valueQuantity!.value!;
      return { ...base, raw, value: round(raw), status: 'observed', source: { resourceType: 'Observation', ...(o.id ? { id: o.id } : {}), code: { system: coding.system!, code: coding.code! }, ...(date ? { date } : {}) } };
    }
    const fill = round(p.encoder.fill[j] ?? NaN);
    const what = `Observation ${coding.system} ${coding.code}`;
    const note = found.newest
      ? `${what}: Observation/${found.newest.observation.id ?? '?'} has no number in unit ${WDBC_UNIT}; the model used the training median, ${fill}`
      : `no ${what} among the records you may read; the model used the training median, ${fill}`;
    return { ...base, raw: NaN, value: fill, status: found.newest ? 'imputed' : 'missing', note };
  });
  return { row: inputs.map((i) => i.raw), observed: inputs.map((i) => i.status === 'observed'), inputs };
}

export function assessBreastCytology(doc: BreastCytologyModelDocument, resources: Resource[]): BreastCytologyAssessment {
  const p = servedParameters(doc);
  return explainEstimate(doc, p, readCytology(p, resources), (e, { enoughData, observed }) =>
    enoughData
      ? `${sentence(inWords(e.probability))} cell samples with measurements like yours came from a cancerous (malignant) lump (${percent(e.probability)}). This is an estimate from a model, not a diagnosis: your doctor will explain what the report means for you.`
      : `The cytology report does not carry enough of the measurements for an estimate: the model needs at least ${p.minObserved} of its ${p.features.length} and could read ${observed}.`,
  );
}

/** The nearest de-identified WDBC cases (all from one clinic; age was not published with the data). */
export function findSimilarCytology(doc: BreastCytologyModelDocument, resources: Resource[], k = 5): SimilarCase[] {
  const p = servedParameters(doc);
  const read = readCytology(p, resources);
  return nearestCases(p, read.row, read.observed, k).map((near, rank) => {
    const c = p.cases[near.index]!;
    return {
      rank: rank + 1,
      distance: near.distance,
      site: c.site,
      ageBand: c.ageBand,
      sex: c.sex,
      hasDisease: c.hasDisease,
      reasons: near.closest.slice(0, 3).map((j) => `similar ${(WDBC_LABELS[p.features[j]!.name] ?? p.features[j]!.name).toLowerCase()}: ${round(c.values[j]!)} vs ${round(read.row[j]!)}`),
    };
  });
}
