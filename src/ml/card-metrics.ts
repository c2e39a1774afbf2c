/**
 * The numbers on a model card, from held-out probabilities: discrimination (AUC), Brier score,
 * accuracy, sensitivity and specificity at the operating point, calibration (reliability bins and
 * expected calibration error), per-group AUC — each with a 95 % percentile-bootstrap interval over
 * the evaluation cases (bootstrap.ts; 1,000 seeded resamples).
 */
import { bootstrapInterval, pick } from './bootstrap.js';
import type { CalibrationBin, MetricEstimate, SubgroupMetric } from './card.js';
import { accuracy, auc, brierScore, reliability } from './metrics.js';

/** AUC, NaN where undefined (one class only). */
export function aucOrNaN(p: ArrayLike<number>, y: ArrayLike<number>): number {
  try {
    return auc(p, y);
  } catch {
    return NaN;
  }
}

/** Share of positives at or above the threshold (sensitivity), or of negatives below it (specificity). */
export function rateAt(p: ArrayLike<number>, y: ArrayLike<number>, threshold: number, positives: boolean): number {
  let hit = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    if (Boolean(y[i]) !== positives) continue;
    total++;
    if ((p[i]! >= threshold) === positives) hit++;
  }
  return total ? hit / total : NaN;
}

export interface HeldOutMetrics {
  metrics: Record<string, MetricEstimate>;
  calibration: { ece: MetricEstimate; bins: CalibrationBin[] };
  operatingPoint: { threshold: number; sensitivity: MetricEstimate; specificity: MetricEstimate };
}

export function heldOutMetrics(p: ArrayLike<number>, y: ArrayLike<number>, threshold: number, seed = 20261207): HeldOutMetrics {
  const n = y.length;
  const on = (f: (p: number[], y: number[]) => number) => bootstrapInterval(n, (idx) => f(pick(p, idx), pick(y, idx)), { seed });
  const sensitivity = on((pp, yy) => rateAt(pp, yy, threshold, true));
  const specificity = on((pp, yy) => rateAt(pp, yy, threshold, false));
  const ece = on((pp, yy) => reliability(pp, yy, 10).expectedCalibrationError);
  return {
    metrics: {
      auc: on(aucOrNaN),
      brier: on(brierScore),
      accuracy: on((pp, yy) => accuracy(pp, yy, threshold)),
      sensitivity,
      specificity,
    },
    calibration: { ece, bins: reliability(p, y, 10).bins },
    operatingPoint: { threshold, sensitivity, specificity },
  };
}

/** AUC per group (the cases of each group resampled on their own). */
export function subgroupAuc(by: SubgroupMetric['by'], groups: readonly string[], p: ArrayLike<number>, y: ArrayLike<number>, seed = 20261207): SubgroupMetric[] {
  return [...new Set(groups)].sort().map((group) => {
    const rows = groups.map((g, i) => (g === group ? i : -1)).filter((i) => i >= 0);
    const gp = rows.map((i) => p[i]!);
    const gy = rows.map((i) => y[i]!);
    const positives = gy.filter(Boolean).length;
    const estimate = positives > 0 && positives < rows.length ? bootstrapInterval(rows.length, (idx) => aucOrNaN(pick(gp, idx), pick(gy, idx)), { seed }) : undefined;
    return { by, group, n: rows.length, positives, ...(estimate ? { auc: estimate } : {}) };
  });
}
