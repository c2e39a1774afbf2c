/**
 * From raw feature rows (NaN = missing) to the standardised columns a linear model sees.
 *
 * An Encoder is learned on training rows only (so a test fold never leaks into it):
 * - numeric and binary features: a missing value takes the fill value (the training median, or
 *   the mean where only sums are known, as in federated training); optionally a 0/1 column marks
 *   that it was missing, for features missing often enough to carry signal;
 * - categorical features: one 0/1 column per level (one-hot); a missing value is all zeros, so
 *   "unknown" is its own implicit level rather than a guessed one;
 * - every encoded column is then standardised, z = (x − mean) / scale, with the training mean and
 *   population standard deviation, so the ridge penalty treats all columns alike and a coefficient
 *   reads as "log-odds per standard deviation".
 *
 * Encoding is split into a layout (fill values and columns) and the standardisation, because a
 * federated coordinator learns each from summed statistics in its own step (src/ml/federated.ts).
 */
import type { Matrix } from './matrix.js';

export type FeatureKind = 'numeric' | 'binary' | 'categorical';

export interface FeatureSpec {
  name: string;
  kind: FeatureKind;
  /** Codes of a categorical feature, one column each. */
  levels?: readonly number[];
  unit?: string;
  /** Something a patient can change (blood pressure, cholesterol, smoking), for lifestyle advice. */
  modifiable?: boolean;
  description?: string;
}

export interface EncodeOptions {
  /** How a missing numeric/binary value is filled. Default 'median'. */
  impute?: 'median' | 'mean';
  /** One-hot categorical features (otherwise they are treated as numeric codes). Default true. */
  oneHot?: boolean;
  /** Add a "was missing" column for a numeric/binary feature missing in at least this share of training rows. Default: never. */
  missingIndicatorShare?: number;
}

export interface EncodedColumn {
  name: string;
  /** Index of the raw feature this column comes from. */
  feature: number;
  /** The level a one-hot column marks, or 'missing' for a missing-value indicator. */
  level?: number | 'missing';
}

export interface Layout {
  features: FeatureSpec[];
  /** Fill value per raw feature (NaN for one-hot categorical: they never fill). */
  fill: number[];
  columns: EncodedColumn[];
}

export interface Encoder extends Layout {
  mean: number[];
  /** Standard deviation per column; 1 where a column is constant in training. */
  scale: number[];
}

const isOneHot = (f: FeatureSpec, options: EncodeOptions) => f.kind === 'categorical' && options.oneHot !== false && !!f.levels?.length;

/** The columns for given fill values and the features that get a missing indicator. */
export function layoutFor(features: readonly FeatureSpec[], fill: readonly number[], withIndicator: readonly boolean[], options: EncodeOptions = {}): Layout {
  const columns: EncodedColumn[] = [];
  features.forEach((f, j) => {
    if (isOneHot(f, options)) {
      for (const level of f.levels!) columns.push({ name: `${f.name}=${level}`, feature: j, level });
      return;
    }
    columns.push({ name: f.name, feature: j });
    if (withIndicator[j]) columns.push({ name: `${f.name} missing`, feature: j, level: 'missing' });
  });
  return { features: [...features], fill: features.map((f, j) => (isOneHot(f, options) ? NaN : fill[j]!)), columns };
}

/** Writes the unstandardised encoded columns of one raw row into `out`. */
export function encodeRawRow(layout: Layout, row: ArrayLike<number>, out: Float64Array): Float64Array {
  const { columns, fill } = layout;
  for (let c = 0; c < columns.length; c++) {
    const col = columns[c]!;
    const v = row[col.feature]!;
    const missing = Number.isNaN(v);
    if (col.level === 'missing') out[c] = missing ? 1 : 0;
    else if (col.level !== undefined) out[c] = v === col.level ? 1 : 0;
    else out[c] = missing ? fill[col.feature]! : v;
  }
  return out;
}

/** Mean and standard deviation from count, sum and sum of squares (what a site may share). */
export function standardiseFromSums(n: number, sum: ArrayLike<number>, sumSquares: ArrayLike<number>): { mean: number[]; scale: number[] } {
  const mean: number[] = [];
  const scale: number[] = [];
  for (let c = 0; c < sum.length; c++) {
    const m = sum[c]! / n;
    const variance = Math.max(0, sumSquares[c]! / n - m * m);
    mean.push(m);
    // A (near-)constant column stays unscaled: dividing by ~0 would blow rounding noise up.
    scale.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
  }
  return { mean, scale };
}

/** n, Σx and Σx² of the unstandardised encoded columns of `x`. */
export function encodedSums(layout: Layout, x: Matrix): { n: number; sum: Float64Array; sumSquares: Float64Array } {
  const k = layout.columns.length;
  const sum = new Float64Array(k);
  const sumSquares = new Float64Array(k);
  const buf = new Float64Array(k);
  for (let i = 0; i < x.rows; i++) {
    encodeRawRow(layout, x.data.subarray(i * x.cols, (i + 1) * x.cols), buf);
    for (let c = 0; c < k; c++) {
      sum[c]! += buf[c]!;
      sumSquares[c]! += buf[c]! * buf[c]!;
    }
  }
  return { n: x.rows, sum, sumSquares };
}

/** Learns an encoder from training rows. */
export function fitEncoder(x: Matrix, features: readonly FeatureSpec[], options: EncodeOptions = {}): Encoder {
  if (features.length !== x.cols) throw new Error(`fitEncoder: ${features.length} features for ${x.cols} columns`);
  const fill: number[] = [];
  const withIndicator: boolean[] = [];
  for (let j = 0; j < x.cols; j++) {
    const present: number[] = [];
    for (let i = 0; i < x.rows; i++) {
      const v = x.data[i * x.cols + j]!;
      if (!Number.isNaN(v)) present.push(v);
    }
    // A feature never seen in training fills with 0 (its column is then constant and scale 1).
    fill.push(present.length === 0 ? 0 : options.impute === 'mean' ? present.reduce((a, b) => a + b, 0) / present.length : median(present));
    const missingShare = 1 - present.length / Math.max(1, x.rows);
    withIndicator.push(options.missingIndicatorShare !== undefined && missingShare > 0 && missingShare >= options.missingIndicatorShare);
  }
  const layout = layoutFor(features, fill, withIndicator, options);
  const { n, sum, sumSquares } = encodedSums(layout, x);
  return { ...layout, ...standardiseFromSums(n, sum, sumSquares) };
}

/** One raw row → standardised encoded columns. */
export function encodeRow(encoder: Encoder, row: ArrayLike<number>, out = new Float64Array(encoder.columns.length)): Float64Array {
  encodeRawRow(encoder, row, out);
  for (let c = 0; c < out.length; c++) out[c] = (out[c]! - encoder.mean[c]!) / encoder.scale[c]!;
  return out;
}

/** Every row of `x` → standardised encoded columns. */
export function encodeRows(encoder: Encoder, x: Matrix): Matrix {
  const k = encoder.columns.length;
  const data = new Float64Array(x.rows * k);
  for (let i = 0; i < x.rows; i++) encodeRow(encoder, x.data.subarray(i * x.cols, (i + 1) * x.cols), data.subarray(i * k, (i + 1) * k));
  return { data, rows: x.rows, cols: k };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
