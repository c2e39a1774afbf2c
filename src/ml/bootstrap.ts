/**
 * 95 % bootstrap intervals for evaluation metrics: resample the evaluation cases with replacement
 * (seeded, so a card is reproducible), recompute the metric, take the 2.5th and 97.5th percentiles
 * (Efron & Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13). Resamples where the metric
 * is undefined (e.g. AUC of a resample with one class) are skipped.
 */
import { seededRandom } from '../random.js';
import type { MetricEstimate } from './card.js';

export interface BootstrapOptions {
  /** Resamples (default 1,000). */
  resamples?: number;
  seed?: number;
  /** Interval level (default 0.95). */
  level?: number;
}

/**
 * `metric(indices)` computes the metric on the cases at `indices` (0…n−1, with repeats); it returns NaN
 * when undefined for that resample.
 */
export function bootstrapInterval(n: number, metric: (indices: readonly number[]) => number, options: BootstrapOptions = {}): MetricEstimate {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const random = seededRandom(options.seed ?? 20261207);
  const all = Array.from({ length: n }, (_, i) => i);
  const value = metric(all);
  const values: number[] = [];
  const indices = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = Math.floor(random() * n);
    const v = metric(indices);
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return { value, low: NaN, high: NaN, n };
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))]!;
  return { value, low: at((1 - level) / 2), high: at(1 - (1 - level) / 2), n };
}

/** The values of `xs` at `indices`. */
export function pick<T extends number>(xs: ArrayLike<T>, indices: readonly number[]): T[] {
  return indices.map((i) => xs[i]!);
}

/**
 * Wilson score 95 % interval of a share observed over n independent trials (Wilson 1927; better than
 * the normal approximation near 0 and 1 and for small n). Bounds rounded to 3 decimals.
 */
export function wilsonInterval(share: number, n: number): MetricEstimate {
  const z = 1.96;
  const centre = (share + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((share * (1 - share)) / n + (z * z) / (4 * n * n));
  const r = (v: number) => Number(v.toFixed(3));
  return { value: share, low: r(centre - half), high: r(centre + half), n };
}
