/**
 * Trains the served breast-cytology model from the vendored WDBC data (569 aspirates, 30 nuclear
 * features) and measures it for its card, the same way as the heart model (served-train.ts): nested
 * stratified 5-fold cross-validation for every reported number, the served model fitCalibrated on all
 * rows, bootstrap refits for each probability's interval.
 */
import { getAddress, keccak256, slice, stringToHex, type Address } from 'viem';
import { loadWdbc } from '../data.js';
import { heldOutMetrics, subgroupAuc } from '../card-metrics.js';
import { fitAndServe, hashServed, heldOutProbabilities, type TrainingProgress, type TrainOptions } from '../served-train.js';
import { breastCard, WDBC_SITE, type BreastEvaluation } from './card.js';
import { WDBC_FEATURE_NAMES } from './codes.js';
import type { BreastCytologyModelDocument } from './types.js';

export const BREAST_THRESHOLD = 0.5;
/** At least 24 of the 30 features read from the report. */
export const BREAST_MIN_OBSERVED = 24;

/** The stand-in address of WDBC row `row` (0-based): derived, nobody holds its key (as uci-fhir.ts does for UCI heart). */
export function wdbcPatientAddress(row: number): Address {
  return getAddress(slice(keccak256(stringToHex(`medledger:wdbc:${row + 1}`)), 12));
}

export function trainBreastModel(options: TrainOptions = {}): { document: BreastCytologyModelDocument; evaluation: BreastEvaluation } {
  const progress: TrainingProgress = options.onProgress ?? (() => undefined);
  const data = loadWdbc(options.root);
  const names = data.features.map((f) => f.name);
  if (names.join() !== WDBC_FEATURE_NAMES.join()) throw new Error(`wdbc.csv columns are not the ${WDBC_FEATURE_NAMES.length} features the cytology codes name`);
  const { probabilities } = heldOutProbabilities(data, { seed: 41 }, (done, total) => progress('held-out evaluation', done, total));
  const metrics = heldOutMetrics(probabilities, data.y, BREAST_THRESHOLD);
  // One clinic, women only: the groups are the whole data (the card says so).
  const subgroups = [...subgroupAuc('sex', Array.from(data.y, () => 'female'), probabilities, data.y), ...subgroupAuc('site', Array.from(data.y, () => WDBC_SITE), probabilities, data.y)];
  const d = data.x.cols;
  const parameters = fitAndServe(data, 51, options, {
    threshold: BREAST_THRESHOLD,
    heldOut: metrics,
    minObserved: BREAST_MIN_OBSERVED,
    cases: Array.from({ length: data.y.length }, (_, i) => ({ site: WDBC_SITE, ageBand: 'not recorded', sex: 'female', hasDisease: data.y[i] === 1, values: Array.from(data.x.data.subarray(i * d, (i + 1) * d)) })),
    calibrationFittedOn: `out-of-fold logits of a 5-fold cross-validation over all ${data.y.length} training rows`,
  });
  const evaluation: BreastEvaluation = { heldOut: probabilities, labels: data.y, metrics, subgroups };
  const addresses = Array.from({ length: data.y.length }, (_, i) => wdbcPatientAddress(i));
  return { document: { card: breastCard({ rows: data.y.length, positives: data.y.reduce((a, b) => a + b, 0), evaluation, modelHash: hashServed(parameters), lambda: parameters.lambda, addresses }), parameters }, evaluation };
}
