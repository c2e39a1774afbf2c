/**
 * A served ridge-logistic model as it travels to the reader (browser or CLI) inside its model
 * document: the encoder and coefficients, the Platt calibration fitted on held-out logits, bootstrap
 * refits for the 95 % interval of a probability, the operating point measured on held-out data, and
 * de-identified training cases for "similar cases". Everything a reader computes from it is here, pure
 * and browser-safe, so the estimate is made where the data is and nothing about the patient is sent.
 */
import type { Hex } from 'viem';
import { applyPlatt, explainPrediction, type Coefficients, type LogisticModel } from './logistic.js';
import { createKnnIndex, nearestNeighbours } from './knn.js';
import { encodeRow, type Encoder, type FeatureSpec } from './preprocess.js';

/** One de-identified training case: where it is from, coarse demographics, outcome, values (null = missing). */
export interface ServedCase {
  site: string;
  ageBand: string;
  sex: string;
  hasDisease: boolean;
  /** Raw values in feature order; an exact age is replaced by the middle of its band. */
  values: (number | null)[];
}

export interface ServedLogistic {
  features: FeatureSpec[];
  encoder: Encoder;
  lambda: number;
  intercept: number;
  coefficients: number[];
  /** p = σ(a·logit + b), fitted on out-of-fold logits of the training rows (Platt 1999). */
  calibration: { method: 'platt'; a: number; b: number; fittedOn: string };
  /** Coefficients refitted on bootstrap resamples of the training rows (same encoder and λ). */
  refits: Coefficients[];
  /** The threshold shown, with sensitivity and specificity there on held-out predictions. */
  operatingPoint: { threshold: number; sensitivity: number; specificity: number };
  /** Fewer observed inputs than this: not enough data for a meaningful estimate. */
  minObserved: number;
  cases: ServedCase[];
}

/** A model document's parameters, checked enough that a wrong document fails with a clear message. */
export function servedParameters(doc: { card?: { id?: string }; parameters?: unknown }): ServedLogistic {
  const p = doc?.parameters as ServedLogistic | undefined;
  if (!p || !Array.isArray(p.features) || !Array.isArray(p.coefficients) || !p.encoder || !p.calibration || !p.operatingPoint) {
    throw new Error(`model document ${doc?.card?.id ?? '?'} carries no ridge-logistic parameters`);
  }
  return p;
}

/** JSON turns NaN into null; an encoder back from JSON gets its NaN fill values again. */
function reviveEncoder(e: Encoder): Encoder {
  return { ...e, fill: e.fill.map((v) => (v === null || v === undefined ? NaN : v)) };
}

export function servedAsLogistic(p: ServedLogistic): LogisticModel {
  return { encoder: reviveEncoder(p.encoder), lambda: p.lambda, intercept: p.intercept, coefficients: p.coefficients, platt: { a: p.calibration.a, b: p.calibration.b } };
}

export interface ServedEstimate {
  logit: number;
  intercept: number;
  /** Calibrated probability. */
  probability: number;
  /** 2.5th and 97.5th percentiles of the calibrated probability over the bootstrap refits. */
  interval: { low: number; high: number };
  /** Log-odds each raw feature added (all its encoded columns together), in feature order. */
  contributions: number[];
}

/** The estimate for one raw row (NaN = missing: the encoder's fill stands in, as in training). */
export function estimate(p: ServedLogistic, row: ArrayLike<number>): ServedEstimate {
  const model = servedAsLogistic(p);
  const explained = explainPrediction(model, row);
  const byName = new Map(explained.features.map((f) => [f.feature, f.contribution]));
  const z = encodeRow(model.encoder, row);
  const draws = p.refits.map((refit) => {
    let logit = refit.intercept;
    for (let c = 0; c < z.length; c++) logit += refit.coefficients[c]! * z[c]!;
    return applyPlatt(model.platt!, logit);
  });
  draws.sort((a, b) => a - b);
  const at = (q: number) => draws[Math.min(draws.length - 1, Math.max(0, Math.round(q * (draws.length - 1))))] ?? explained.probability;
  return {
    logit: explained.logit,
    intercept: explained.intercept,
    probability: explained.probability,
    interval: { low: at(0.025), high: at(0.975) },
    contributions: p.features.map((f) => byName.get(f.name) ?? 0),
  };
}

export interface NearCase {
  index: number;
  distance: number;
  /** Features observed for both, closest first (by standardised difference). */
  closest: number[];
}

/**
 * The k training cases nearest to `row` in the model's standardised space, over the encoded columns
 * of the features observed for this patient only (an input the reader could not see says nothing
 * about likeness). Empty when nothing was observed.
 */
export function nearestCases(p: ServedLogistic, row: ArrayLike<number>, observed: readonly boolean[], k: number): NearCase[] {
  const encoder = reviveEncoder(p.encoder);
  const columns = encoder.columns.map((c, i) => ({ c, i })).filter(({ c }) => observed[c.feature]).map(({ i }) => i);
  if (columns.length === 0 || p.cases.length === 0) return [];
  const d = columns.length;
  const data = new Float64Array(p.cases.length * d);
  const caseRow = (values: (number | null)[]) => values.map((v) => (v === null ? NaN : v));
  p.cases.forEach((c, i) => {
    const z = encodeRow(encoder, caseRow(c.values));
    columns.forEach((col, j) => (data[i * d + j] = z[col]!));
  });
  const zq = encodeRow(encoder, row);
  const query = columns.map((col) => zq[col]!);
  const found = nearestNeighbours(createKnnIndex(data, d), query, k);
  return Array.from(found.indices, (index, rank) => {
    const values = caseRow(p.cases[index]!.values);
    const closest = p.features
      .map((_, j) => j)
      .filter((j) => observed[j] && !Number.isNaN(values[j]!))
      .map((j) => ({ j, gap: standardisedGap(encoder, j, values[j]!, row[j]!) }))
      .sort((a, b) => a.gap - b.gap)
      .map(({ j }) => j);
    return { index, distance: found.distances[rank]!, closest };
  });
}

/** |difference| of feature j between two raw values, in units of its standard deviation (0/1 for a level mismatch). */
function standardisedGap(encoder: Encoder, j: number, a: number, b: number): number {
  const col = encoder.columns.findIndex((c) => c.feature === j && c.level === undefined);
  if (col < 0) return a === b ? 0 : 1;
  return Math.abs(a - b) / encoder.scale[col]!;
}

/** What a read input becomes once weighed: everything but the raw value, plus its contribution. */
export type WeighedInput<I extends { raw: number }> = Omit<I, 'raw'> & { contribution: number };

/**
 * The explanation every served logistic model shows (heart risk, breast cytology): the estimate, each
 * input's contribution (contributions + intercept = logit), the operating point, and whether enough
 * inputs were read; `plainLanguage` words it for the model's own readers.
 */
export function explainEstimate<I extends { raw: number }>(
  doc: { card: { id: string; modelHash: Hex } },
  p: ServedLogistic,
  read: { row: readonly number[]; observed: readonly boolean[]; inputs: readonly I[] },
  plainLanguage: (e: ServedEstimate, enough: { enoughData: boolean; observed: number }) => string,
) {
  const e = estimate(p, read.row);
  const inputs = read.inputs.map(({ raw: _raw, ...input }, j) => ({ ...input, contribution: e.contributions[j]! }) as WeighedInput<I>);
  const observed = read.observed.filter(Boolean).length;
  const enoughData = observed >= p.minObserved;
  const { threshold, sensitivity, specificity } = p.operatingPoint;
  return {
    modelId: doc.card.id,
    modelHash: doc.card.modelHash,
    probability: e.probability,
    interval: e.interval,
    logit: e.logit,
    intercept: e.intercept,
    inputs,
    operatingPoint: { threshold, sensitivity, specificity },
    aboveThreshold: e.probability >= threshold,
    enoughData,
    plainLanguage: plainLanguage(e, { enoughData, observed }),
  };
}
