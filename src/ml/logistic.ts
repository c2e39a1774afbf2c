/**
 * Ridge (L2) logistic regression on standardised columns, fitted by Newton's method (IRLS):
 * deterministic, exact to tolerance, and fast for the tens of columns clinical tables have.
 *
 * Objective: Σᵢ [log(1 + e^{ηᵢ}) − yᵢ ηᵢ] + λ/2 · Σⱼ βⱼ², ηᵢ = β₀ + Σⱼ βⱼ zᵢⱼ, the intercept β₀ not
 * penalised. λ is on the summed (not averaged) log-loss, as scikit-learn's C = 1/λ.
 *
 * Because columns are standardised, a patient's per-column contribution βⱼ·zⱼ is the log-odds that
 * column adds relative to the average training patient (z = 0); the contributions and the intercept
 * sum to the patient's logit, which is what `explainPrediction` shows a doctor.
 */
import { keccak256, stringToBytes, type Hex } from 'viem';
import { canonicalJson } from '../records/hash.js';
import { auc, logLoss, stratifiedKFold } from './metrics.js';
import { takeLabels, takeRows, type Matrix } from './matrix.js';
import { encodeRow, encodeRows, fitEncoder, type EncodeOptions, type Encoder, type FeatureSpec } from './preprocess.js';

export interface Coefficients {
  intercept: number;
  coefficients: number[];
}

export interface FitOptions {
  /** Ridge penalty λ (≥ 0). */
  lambda: number;
  maxIterations?: number;
  /** Stop when the largest Newton step component is below this. */
  tolerance?: number;
  /** Start from these coefficients instead of zeros. */
  initial?: Coefficients;
}

export interface FitResult extends Coefficients {
  iterations: number;
  converged: boolean;
}

export const sigmoid = (t: number) => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));

/** log(1 + e^t) without overflow. */
const softplus = (t: number) => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));

/** Penalised negative log-likelihood (the objective above). */
export function ridgeObjective(z: Matrix, y: ArrayLike<number>, beta: Float64Array, lambda: number): number {
  const d = z.cols;
  let sum = 0;
  for (let i = 0; i < z.rows; i++) {
    let eta = beta[0]!;
    for (let j = 0; j < d; j++) eta += beta[j + 1]! * z.data[i * d + j]!;
    sum += softplus(eta) - (y[i] ? eta : 0);
  }
  let penalty = 0;
  for (let j = 1; j <= d; j++) penalty += beta[j]! * beta[j]!;
  return sum + (lambda / 2) * penalty;
}

/** Fits β on already standardised columns `z` (no intercept column: it is added here). */
export function fitRidgeLogistic(z: Matrix, y: ArrayLike<number>, options: FitOptions): FitResult {
  const { lambda, maxIterations = 100, tolerance = 1e-8 } = options;
  if (!(lambda >= 0)) throw new Error('fitRidgeLogistic: lambda must be ≥ 0');
  const n = z.rows;
  const d = z.cols;
  const k = d + 1;
  const beta = new Float64Array(k);
  if (options.initial) {
    beta[0] = options.initial.intercept;
    beta.set(options.initial.coefficients, 1);
  }
  const gradient = new Float64Array(k);
  const hessian = new Float64Array(k * k);
  const x = new Float64Array(k);
  x[0] = 1;
  let objective = ridgeObjective(z, y, beta, lambda);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    gradient.fill(0);
    hessian.fill(0);
    for (let i = 0; i < n; i++) {
      x.set(z.data.subarray(i * d, (i + 1) * d), 1);
      let eta = 0;
      for (let a = 0; a < k; a++) eta += beta[a]! * x[a]!;
      const p = sigmoid(eta);
      const residual = p - (y[i] ? 1 : 0);
      const w = p * (1 - p);
      for (let a = 0; a < k; a++) {
        const wa = w * x[a]!;
        gradient[a]! += residual * x[a]!;
        for (let b = 0; b <= a; b++) hessian[a * k + b]! += wa * x[b]!;
      }
    }
    for (let a = 1; a < k; a++) {
      gradient[a]! += lambda * beta[a]!;
      hessian[a * k + a]! += lambda;
    }
    // A tiny ridge on the whole diagonal keeps the system solvable when every p is 0 or 1.
    for (let a = 0; a < k; a++) hessian[a * k + a]! += 1e-10;
    const step = solveSymmetricPositive(hessian, gradient, k);
    // Damped Newton: halve the step until the objective does not rise (it always falls near the optimum).
    let t = 1;
    let candidate = beta.map((b, a) => b - step[a]!);
    let next = ridgeObjective(z, y, candidate, lambda);
    while (next > objective + 1e-12 * Math.abs(objective) && t > 1e-8) {
      t /= 2;
      candidate = beta.map((b, a) => b - t * step[a]!);
      next = ridgeObjective(z, y, candidate, lambda);
    }
    beta.set(candidate);
    objective = next;
    let largest = 0;
    for (let a = 0; a < k; a++) largest = Math.max(largest, Math.abs(t * step[a]!));
    if (largest < tolerance) return { intercept: beta[0]!, coefficients: Array.from(beta.subarray(1)), iterations: iteration, converged: true };
  }
  return { intercept: beta[0]!, coefficients: Array.from(beta.subarray(1)), iterations: maxIterations, converged: false };
}

/** Solves A x = b for symmetric positive definite A (lower triangle used) by Cholesky. */
export function solveSymmetricPositive(a: Float64Array, b: Float64Array, k: number): Float64Array {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * k + j]!;
      for (let m = 0; m < j; m++) s -= l[i * k + m]! * l[j * k + m]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('solveSymmetricPositive: matrix is not positive definite');
        l[i * k + i] = Math.sqrt(s);
      } else l[i * k + j] = s / l[j * k + j]!;
    }
  }
  const x = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = b[i]!;
    for (let m = 0; m < i; m++) s -= l[i * k + m]! * x[m]!;
    x[i] = s / l[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let m = i + 1; m < k; m++) s -= l[m * k + i]! * x[m]!;
    x[i] = s / l[i * k + i]!;
  }
  return x;
}

/** A trained model: the encoder learned on its training rows and the coefficients over its columns. */
export interface LogisticModel extends Coefficients {
  encoder: Encoder;
  lambda: number;
  /** Optional Platt recalibration of the logit (see fitPlattScaling). */
  platt?: PlattScaling;
}

export interface TrainOptions extends EncodeOptions {
  /** Ridge penalty; default 3 (a sensible middle on the UCI and WDBC tables; tune with selectLambda). */
  lambda?: number;
}

export interface TrainingData {
  features: readonly FeatureSpec[];
  x: Matrix;
  y: Uint8Array;
}

/** Learns the encoder on `data` and fits the ridge logistic model on its standardised columns. */
export function trainLogistic(data: TrainingData, options: TrainOptions = {}): LogisticModel {
  const lambda = options.lambda ?? 3;
  const encoder = fitEncoder(data.x, data.features, options);
  const fit = fitRidgeLogistic(encodeRows(encoder, data.x), data.y, { lambda });
  return { encoder, lambda, intercept: fit.intercept, coefficients: fit.coefficients };
}

/** The logit (log-odds) for each row of raw values, before any Platt recalibration. */
export function predictLogit(model: LogisticModel, x: Matrix): Float64Array {
  const z = encodeRows(model.encoder, x);
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let eta = model.intercept;
    for (let j = 0; j < z.cols; j++) eta += model.coefficients[j]! * z.data[i * z.cols + j]!;
    out[i] = eta;
  }
  return out;
}

/** Probability of the positive class for each row of raw values (NaN = missing). */
export function predictProba(model: LogisticModel, x: Matrix): Float64Array {
  return predictLogit(model, x).map((eta) => (model.platt ? applyPlatt(model.platt, eta) : sigmoid(eta)));
}

export interface ColumnContribution {
  column: string;
  /** The standardised value z the coefficient multiplies. */
  standardised: number;
  coefficient: number;
  /** coefficient × standardised: log-odds added relative to the average training patient. */
  contribution: number;
}

export interface FeatureContribution {
  feature: string;
  /** The raw value given (NaN when missing, then the fill value was used). */
  value: number;
  missing: boolean;
  modifiable: boolean;
  /** Sum over the feature's columns (all one-hot levels of a categorical feature together). */
  contribution: number;
  columns: ColumnContribution[];
}

export interface Explanation {
  probability: number;
  logit: number;
  intercept: number;
  /** Largest |contribution| first. intercept + Σ contribution = logit. */
  features: FeatureContribution[];
}

/** What drove one patient's risk: per-feature log-odds contributions. */
export function explainPrediction(model: LogisticModel, row: ArrayLike<number>): Explanation {
  const { encoder } = model;
  if (row.length !== encoder.features.length) throw new Error(`explainPrediction: ${row.length} values for ${encoder.features.length} features`);
  const z = encodeRow(encoder, row);
  const features: FeatureContribution[] = encoder.features.map((f, j) => ({
    feature: f.name,
    value: row[j]!,
    missing: Number.isNaN(row[j]!),
    modifiable: f.modifiable === true,
    contribution: 0,
    columns: [],
  }));
  let logit = model.intercept;
  encoder.columns.forEach((col, c) => {
    const contribution = model.coefficients[c]! * z[c]!;
    const target = features[col.feature]!;
    target.columns.push({ column: col.name, standardised: z[c]!, coefficient: model.coefficients[c]!, contribution });
    target.contribution += contribution;
    logit += contribution;
  });
  features.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const probability = model.platt ? applyPlatt(model.platt, logit) : sigmoid(logit);
  return { probability, logit, intercept: model.intercept, features };
}

/**
 * keccak256 of the model's canonical JSON: columns, fill values, standardisation and coefficients.
 * The standardisation is part of the model (the same coefficients on other means predict
 * differently), so it is hashed with them. Numbers are JSON numbers (shortest round-trip form).
 */
export function hashModel(model: Pick<LogisticModel, 'encoder' | 'intercept' | 'coefficients'>): Hex {
  const { encoder } = model;
  return keccak256(
    stringToBytes(
      canonicalJson({
        columns: encoder.columns.map((c) => c.name),
        fill: encoder.fill.map((v) => (Number.isNaN(v) ? null : v)),
        mean: encoder.mean,
        scale: encoder.scale,
        intercept: model.intercept,
        coefficients: model.coefficients,
      }),
    ),
  );
}

/** p = σ(a·logit + b), fitted on held-out logits (Platt 1999). */
export interface PlattScaling {
  a: number;
  b: number;
}

/** Fits Platt scaling on logits and labels the model did not train on. */
export function fitPlattScaling(logits: ArrayLike<number>, labels: ArrayLike<number>): PlattScaling {
  const fit = fitRidgeLogistic({ data: Float64Array.from(logits), rows: logits.length, cols: 1 }, labels, { lambda: 1e-6 });
  return { a: fit.coefficients[0]!, b: fit.intercept };
}

export function applyPlatt(platt: PlattScaling, logit: number): number {
  return sigmoid(platt.a * logit + platt.b);
}

/**
 * Picks λ from `grid` by stratified k-fold cross-validation on `data` (use training rows only:
 * nested inside an outer split, this is inner CV). Lowest pooled out-of-fold log-loss wins; AUC is
 * reported beside it. Ties go to the larger λ (the simpler model).
 */
export function selectLambda(
  data: TrainingData,
  grid: readonly number[],
  options: EncodeOptions & { folds?: number; seed?: number } = {},
): { lambda: number; results: { lambda: number; logLoss: number; auc: number }[] } {
  const folds = stratifiedKFold(data.y, options.folds ?? 5, options.seed ?? 1);
  const results = grid.map((lambda) => {
    const p = new Float64Array(data.y.length);
    for (const fold of folds) {
      const model = trainLogistic({ features: data.features, x: takeRows(data.x, fold.train), y: takeLabels(data.y, fold.train) }, { ...options, lambda });
      const probs = predictProba(model, takeRows(data.x, fold.test));
      fold.test.forEach((i, t) => (p[i] = probs[t]!));
    }
    return { lambda, logLoss: logLoss(p, data.y), auc: auc(p, data.y) };
  });
  let best = results[0]!;
  for (const r of results) if (r.logLoss < best.logLoss || (r.logLoss === best.logLoss && r.lambda > best.lambda)) best = r;
  return { lambda: best.lambda, results };
}
