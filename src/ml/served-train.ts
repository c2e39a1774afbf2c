/**
 * Training a served ridge-logistic model and measuring it for its card, the same way for every
 * tabular model the system serves (heart/train.ts, breast/train.ts):
 *
 * - fitCalibrated: λ by stratified 5-fold cross-validation on the rows given (selectLambda), Platt
 *   scaling fitted on the 5-fold out-of-fold logits with that λ (so calibration never sees a row's
 *   own fit), then the model refitted on all the rows.
 * - heldOutProbabilities: nested cross-validation — each outer fold's rows are predicted by
 *   fitCalibrated run on the other folds only, so every reported metric is on data its model (λ,
 *   coefficients and calibration) never saw.
 * - serveLogistic: the served parameters (served-model.ts), with bootstrap refits of the coefficients
 *   (rows resampled, encoder and λ fixed) for the 95 % interval of each patient's probability.
 */
import { keccak256, stringToBytes, type Hex } from 'viem';
import { canonicalJson } from '../records/hash.js';
import { seededRandom } from '../random.js';
import { applyPlatt, fitPlattScaling, fitRidgeLogistic, predictLogit, selectLambda, trainLogistic, type LogisticModel, type TrainingData } from './logistic.js';
import { takeLabels, takeRows } from './matrix.js';
import { stratifiedKFold, type Fold } from './metrics.js';
import { encodeRows, type EncodeOptions } from './preprocess.js';
import type { ServedCase, ServedLogistic } from './served-model.js';

/** Stage, done, total: for a progress bar or log lines. */
export type TrainingProgress = (stage: string, done: number, total: number) => void;

export interface TrainOptions {
  /** The data folder (default: the repository's data/). */
  root?: string;
  onProgress?: TrainingProgress;
  /** Bootstrap refits for the probability interval (default 200). */
  refits?: number;
}

export const LAMBDA_GRID = [0.3, 1, 3, 10, 30, 100] as const;

export interface CalibratedOptions extends EncodeOptions {
  grid?: readonly number[];
  seed?: number;
}

/** λ by 5-fold CV, Platt on the 5-fold out-of-fold logits, then the fit on every row. */
export function fitCalibrated(data: TrainingData, options: CalibratedOptions = {}): LogisticModel {
  const seed = options.seed ?? 1;
  const { lambda } = selectLambda(data, options.grid ?? LAMBDA_GRID, { ...options, folds: 5, seed });
  const logits = new Float64Array(data.y.length);
  for (const fold of stratifiedKFold(data.y, 5, seed + 1)) {
    const model = trainLogistic({ features: data.features, x: takeRows(data.x, fold.train), y: takeLabels(data.y, fold.train) }, { ...options, lambda });
    const out = predictLogit(model, takeRows(data.x, fold.test));
    fold.test.forEach((i, t) => (logits[i] = out[t]!));
  }
  const model = trainLogistic(data, { ...options, lambda });
  return { ...model, platt: fitPlattScaling(logits, data.y) };
}

/** Calibrated probabilities of `rows` of `data` from a model fitted on `train` rows of it. */
export function predictFrom(data: TrainingData, train: readonly number[], test: readonly number[], options: CalibratedOptions = {}): Float64Array {
  const model = fitCalibrated({ features: data.features, x: takeRows(data.x, train), y: takeLabels(data.y, train) }, options);
  return predictLogit(model, takeRows(data.x, test)).map((t) => applyPlatt(model.platt!, t));
}

/**
 * Every row's probability from a model that never saw it: `folds` outer folds (stratified on
 * `strata`, default the labels), fitCalibrated inside each.
 */
export function heldOutProbabilities(data: TrainingData, options: CalibratedOptions & { folds?: number; strata?: ArrayLike<number> } = {}, onFold?: (done: number, total: number) => void): { probabilities: Float64Array; folds: Fold[] } {
  const folds = stratifiedKFold(options.strata ?? data.y, options.folds ?? 5, (options.seed ?? 1) + 100);
  const probabilities = new Float64Array(data.y.length);
  folds.forEach((fold, f) => {
    const p = predictFrom(data, fold.train, fold.test, options);
    fold.test.forEach((i, t) => (probabilities[i] = p[t]!));
    onFold?.(f + 1, folds.length);
  });
  return { probabilities, folds };
}

export interface ServeOptions {
  /** The served model (fitCalibrated on every row). */
  model: LogisticModel;
  data: TrainingData;
  /** Bootstrap refits for the probability interval (default 200). */
  refits?: number;
  seed?: number;
  operatingPoint: ServedLogistic['operatingPoint'];
  minObserved: number;
  cases: ServedCase[];
  /** Where the calibration was fitted, in words. */
  calibrationFittedOn: string;
}

/** The served parameters: the model, its calibration, bootstrap refits, operating point, cases; JSON-clean. */
export function serveLogistic(o: ServeOptions, onRefit?: (done: number, total: number) => void): ServedLogistic {
  const { model, data } = o;
  const z = encodeRows(model.encoder, data.x);
  const random = seededRandom(o.seed ?? 7);
  const n = data.y.length;
  const total = o.refits ?? 200;
  const refits = Array.from({ length: total }, (_, b) => {
    const rows = Array.from({ length: n }, () => Math.floor(random() * n));
    // Warm-started from the served fit, a resample converges in a few Newton steps.
    const fit = fitRidgeLogistic(takeRows(z, rows), takeLabels(data.y, rows), { lambda: model.lambda, initial: model, tolerance: 1e-6 });
    onRefit?.(b + 1, total);
    return { intercept: fit.intercept, coefficients: fit.coefficients };
  });
  const parameters: ServedLogistic = {
    features: [...data.features],
    encoder: model.encoder,
    lambda: model.lambda,
    intercept: model.intercept,
    coefficients: model.coefficients,
    calibration: { method: 'platt', a: model.platt!.a, b: model.platt!.b, fittedOn: o.calibrationFittedOn },
    refits,
    operatingPoint: o.operatingPoint,
    minObserved: o.minObserved,
    cases: o.cases,
  };
  // JSON has no NaN (the encoder's fill for one-hot features): what is served is what JSON carries.
  return JSON.parse(JSON.stringify(parameters)) as ServedLogistic;
}

/** keccak256 of the served parameters' canonical JSON: the hash on the card and on chain. */
export function hashServed(parameters: ServedLogistic): Hex {
  return keccak256(stringToBytes(canonicalJson(JSON.parse(JSON.stringify(parameters)))));
}

/** The served model of a card's training run: fitCalibrated on every row, then serveLogistic with its refits, progress reported. */
export function fitAndServe(
  data: TrainingData,
  fitSeed: number,
  options: TrainOptions,
  serve: Omit<ServeOptions, 'model' | 'data' | 'refits' | 'operatingPoint'> & { threshold: number; heldOut: { operatingPoint: { sensitivity: { value: number }; specificity: { value: number } } } },
): ServedLogistic {
  const progress = options.onProgress ?? (() => undefined);
  progress('served model', 0, 1);
  const model = fitCalibrated(data, { seed: fitSeed });
  progress('served model', 1, 1);
  const { threshold, heldOut, ...rest } = serve;
  const operatingPoint = { threshold, sensitivity: heldOut.operatingPoint.sensitivity.value, specificity: heldOut.operatingPoint.specificity.value };
  return serveLogistic({ ...rest, model, data, refits: options.refits, operatingPoint }, (done, total) => progress('bootstrap refits', done, total));
}
