/**
 * Results a consortium needs (issue 16, point 6), as aggregates only: each site scores its own
 * held-out patients (rows.ts split) with the final model (its own intercept when the study has site
 * intercepts) and returns AUC, calibration (ECE, 10 bins) and a histogram of the scores per class.
 * The coordinator combines the histograms into pooled-test AUC and ECE without seeing a score:
 * 100 bins of width 0.01, ties within a bin counted one half (the pooled AUC is then within the
 * share of same-bin positive–negative pairs of the exact one).
 *
 * These results are not noised (privacy.ts): they describe the held-out quarter of each site, and
 * a site with fewer than 5 held-out patients reports counts only.
 */
import type { StudyDefinition } from '../../protocol/research/study.js';
import { aucOrNaN } from '../card-metrics.js';
import type { Matrix } from '../matrix.js';
import { reliability } from '../metrics.js';
import { studyEncoding } from './encoding.js';
import { predictStudy, type StudyModel } from './model.js';
import type { SiteRows } from './rows.js';

export const SCORE_BINS = 100;
/** Fewest held-out patients a site reports metrics for. */
export const MIN_REPORTED_ROWS = 5;

export interface SiteEvaluation {
  site: string;
  trainRows: number;
  testRows: number;
  testPositives: number;
  /** Held-out AUC (null: too few rows or one class only). */
  auc: number | null;
  /** Expected calibration error, 10 equal-width bins (null: too few rows). */
  ece: number | null;
  /** Held-out patients per score bin [k/100, (k+1)/100), by label. */
  histogram: { positives: number[]; negatives: number[] };
}

const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Scores and labels → the evaluation a site returns. */
export function evaluationOf(site: string, trainRows: number, p: ArrayLike<number>, y: ArrayLike<number>): SiteEvaluation {
  const positives = new Array<number>(SCORE_BINS).fill(0);
  const negatives = new Array<number>(SCORE_BINS).fill(0);
  let testPositives = 0;
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(p[i]! * SCORE_BINS)));
    if (y[i]) {
      positives[b]!++;
      testPositives++;
    } else negatives[b]!++;
  }
  const enough = y.length >= MIN_REPORTED_ROWS;
  return {
    site,
    trainRows,
    testRows: y.length,
    testPositives,
    auc: enough ? orNull(aucOrNaN(p, y)) : null,
    ece: enough ? reliability(p, y, 10).expectedCalibrationError : null,
    histogram: enough ? { positives, negatives } : { positives: [], negatives: [] },
  };
}

/** A site's evaluation of a final model on its held-out rows. */
export function evaluateSite(study: StudyDefinition, model: StudyModel, rows: SiteRows, site: string): SiteEvaluation {
  const p = predictStudy(model, studyEncoding(study.data.features), rows.test.x as Matrix, site);
  return evaluationOf(site, rows.train.y.length, p, rows.test.y);
}

/**
 * Pooled-test AUC and ECE from the sites' histograms: AUC as the Mann–Whitney statistic over bins
 * (same-bin pairs count one half), ECE over 10 bins of 0.1 with each histogram bin at its midpoint.
 */
export function combineEvaluations(evaluations: readonly SiteEvaluation[]): { testRows: number; auc: number | null; ece: number | null } {
  const pos = new Array<number>(SCORE_BINS).fill(0);
  const neg = new Array<number>(SCORE_BINS).fill(0);
  for (const e of evaluations) {
    e.histogram.positives.forEach((c, b) => (pos[b]! += c));
    e.histogram.negatives.forEach((c, b) => (neg[b]! += c));
  }
  const nPos = pos.reduce((a, b) => a + b, 0);
  const nNeg = neg.reduce((a, b) => a + b, 0);
  let below = 0;
  let wins = 0;
  for (let b = 0; b < SCORE_BINS; b++) {
    wins += pos[b]! * (below + neg[b]! / 2);
    below += neg[b]!;
  }
  let ece = 0;
  for (let k = 0; k < 10; k++) {
    let count = 0;
    let predicted = 0;
    let observed = 0;
    for (let b = k * 10; b < (k + 1) * 10; b++) {
      count += pos[b]! + neg[b]!;
      predicted += (pos[b]! + neg[b]!) * ((b + 0.5) / SCORE_BINS);
      observed += pos[b]!;
    }
    if (count > 0) ece += Math.abs(observed - predicted) / (nPos + nNeg);
  }
  const testRows = nPos + nNeg;
  return { testRows, auc: nPos > 0 && nNeg > 0 ? wins / (nPos * nNeg) : null, ece: testRows > 0 ? ece : null };
}
