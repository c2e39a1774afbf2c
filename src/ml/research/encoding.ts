/**
 * How a study turns a patient's raw heart values into the columns its model sees — fixed in
 * advance, from public clinical ranges, never from the data. A data-driven encoding (fill with the
 * pooled mean, standardise with pooled sums, as src/ml/federated.ts does) would need the sites to
 * release sums outside the privacy accounting; this one costs no privacy and bounds every patient's
 * row, which makes clipping nearly lossless.
 *
 * - numeric: clamped to its public range [lo, hi] and mapped to [−1, 1];
 * - binary: ±1;
 * - categorical: one 0/1 column per level (missing: all zeros);
 * - numeric and binary: a "missing" 0/1 column beside the value (a missing value reads 0).
 * Each raw feature adds at most 1 to the row's squared norm, so ‖row‖² ≤ number of features.
 */
import { HEART_FEATURES } from '../heart-codes.js';
import type { FeatureSpec } from '../preprocess.js';

/** Public ranges (clinical plausibility, not the data): values outside are clamped. */
const RANGES: Record<string, [number, number]> = {
  age: [20, 90],
  trestbps: [80, 200],
  chol: [100, 600],
  thalach: [60, 210],
  oldpeak: [-3, 7],
  ca: [0, 3],
};

export interface StudyColumn {
  name: string;
  /** Index of the raw feature (in the study's feature order). */
  feature: number;
  kind: 'value' | 'missing' | 'level';
  level?: number;
}

export interface StudyEncoding {
  features: FeatureSpec[];
  /** Index of each study feature in HEART_FEATURES (the order heartRowsFromFhir reads them in). */
  source: number[];
  columns: StudyColumn[];
}

/** The encoding of a study's features (names from src/ml/heart-codes.ts HEART_FEATURES). */
export function studyEncoding(featureNames: readonly string[]): StudyEncoding {
  const source = featureNames.map((name) => {
    const j = HEART_FEATURES.findIndex((f) => f.name === name);
    if (j < 0) throw new Error(`study feature "${name}" is not a heart feature (${HEART_FEATURES.map((f) => f.name).join(', ')})`);
    return j;
  });
  const features = source.map((j) => HEART_FEATURES[j]!);
  const columns: StudyColumn[] = [];
  features.forEach((f, i) => {
    if (f.kind === 'categorical') {
      for (const level of f.levels ?? []) columns.push({ name: `${f.name}=${level}`, feature: i, kind: 'level', level });
      return;
    }
    if (f.kind === 'numeric' && !RANGES[f.name]) throw new Error(`study feature "${f.name}" has no public range`);
    columns.push({ name: f.name, feature: i, kind: 'value' });
    columns.push({ name: `${f.name} missing`, feature: i, kind: 'missing' });
  });
  return { features, source, columns };
}

/** One raw row in HEART_FEATURES order (NaN = missing) → the study's columns. */
export function encodeStudyRow(encoding: StudyEncoding, heartRow: ArrayLike<number>, out = new Float64Array(encoding.columns.length)): Float64Array {
  encoding.columns.forEach((col, c) => {
    const f = encoding.features[col.feature]!;
    const v = heartRow[encoding.source[col.feature]!]!;
    const missing = Number.isNaN(v);
    if (col.kind === 'level') out[c] = v === col.level ? 1 : 0;
    else if (col.kind === 'missing') out[c] = missing ? 1 : 0;
    else if (missing) out[c] = 0;
    else if (f.kind === 'binary') out[c] = v ? 1 : -1;
    else {
      const [lo, hi] = RANGES[f.name]!;
      out[c] = (2 * (Math.min(hi, Math.max(lo, v)) - lo)) / (hi - lo) - 1;
    }
  });
  return out;
}
