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
