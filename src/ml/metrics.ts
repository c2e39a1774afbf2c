/**
 * Evaluation: discrimination (AUC), accuracy, calibration (Brier score, reliability bins) and
 * stratified k-fold splits with a seeded shuffle.
 */
import { seededRandom, shuffleInPlace } from '../random.js';

/**
 * Area under the ROC curve by ranks (the Mann–Whitney U statistic over n₊·n₋): the chance that a
 * random positive scores above a random negative, a tie counting one half. Tied scores share
 * their average rank, which is exactly that half. Throws when a class is absent (AUC undefined).
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new Error('auc: scores and labels differ in length');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1; // ranks i+1 … j+1
    for (let t = i; t <= j; t++) {
      if (labels[order[t]!]) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new Error('auc: needs at least one positive and one negative');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Share of cases where (probability ≥ threshold) equals the label. */
export function accuracy(probabilities: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if ((probabilities[i]! >= threshold ? 1 : 0) === (labels[i] ? 1 : 0)) right++;
  return right / labels.length;
}

/** Brier score: mean squared error of the probabilities (0 perfect; 0.25 for always saying 0.5). */
export function brierScore(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probabilities[i]! - (labels[i] ? 1 : 0)) ** 2;
  return sum / labels.length;
}

/** Mean negative log-likelihood, probabilities clipped away from 0 and 1. */
export function logLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, probabilities[i]!));
    sum -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

export interface ReliabilityBin {
  /** [lower, upper) of predicted probability ([lower, 1] for the last bin). */
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/**
 * Reliability diagram in equal-width bins (empty bins left out), and the expected calibration error:
 * the count-weighted mean |observed − predicted| over the bins.
 */
export function reliability(probabilities: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): { bins: ReliabilityBin[]; expectedCalibrationError: number } {
  const count = new Array<number>(bins).fill(0);
  const predicted = new Array<number>(bins).fill(0);
  const observed = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(bins - 1, Math.floor(probabilities[i]! * bins));
    count[b]!++;
    predicted[b]! += probabilities[i]!;
    observed[b]! += labels[i] ? 1 : 0;
  }
  const out: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    if (c === 0) continue;
    const bin = { lower: b / bins, upper: (b + 1) / bins, count: c, meanPredicted: predicted[b]! / c, observedRate: observed[b]! / c };
    ece += (c / labels.length) * Math.abs(bin.observedRate - bin.meanPredicted);
    out.push(bin);
  }
  return { bins: out, expectedCalibrationError: ece };
}

export interface Fold {
  train: number[];
  test: number[];
}

/**
 * Stratified k-fold: each class is shuffled with the seed and dealt round-robin over the folds (the
 * deal continues across classes), so every fold holds each class in about its overall share and
 * fold sizes differ by at most one. Indices in each part are ascending.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new Error('stratifiedKFold: k must be an integer ≥ 2');
  if (k > labels.length) throw new Error(`stratifiedKFold: ${k} folds for ${labels.length} rows`);
  const random = seededRandom(seed);
  const foldOf = new Int32Array(labels.length);
  const classes = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!classes.has(c)) classes.set(c, []);
    classes.get(c)!.push(i);
  }
  let next = 0;
  for (const c of [...classes.keys()].sort((a, b) => a - b)) {
    for (const i of shuffleInPlace(classes.get(c)!, random)) foldOf[i] = next++ % k;
  }
  return Array.from({ length: k }, (_, f) => {
    const fold: Fold = { train: [], test: [] };
    for (let i = 0; i < labels.length; i++) (foldOf[i] === f ? fold.test : fold.train).push(i);
    return fold;
  });
}

/** One stratified train/test split with about `testShare` of each class held out. */
export function stratifiedSplit(labels: ArrayLike<number>, testShare: number, seed: number): Fold {
  if (!(testShare > 0 && testShare < 1)) throw new Error('stratifiedSplit: testShare must be in (0, 1)');
  const random = seededRandom(seed);
  const classes = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!classes.has(c)) classes.set(c, []);
    classes.get(c)!.push(i);
  }
  const isTest = new Uint8Array(labels.length);
  for (const c of [...classes.keys()].sort((a, b) => a - b)) {
    const members = shuffleInPlace(classes.get(c)!, random);
    const take = Math.round(members.length * testShare);
    for (let t = 0; t < take; t++) isTest[members[t]!] = 1;
  }
  const split: Fold = { train: [], test: [] };
  for (let i = 0; i < labels.length; i++) (isTest[i] ? split.test : split.train).push(i);
  return split;
}
