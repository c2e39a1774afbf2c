/**
 * Trains the served heart-disease model from the vendored UCI data (all four centres, 920 rows) in a
 * few seconds, measures it for its card, and returns the document the manager serves: the model as
 * served-model.ts reads it, the card (card.ts), and what the bench reports beside it.
 *
 * Evaluation (what the card's numbers are): nested stratified 5-fold cross-validation over the pooled
 * rows, folds stratified by centre and outcome, fitCalibrated (λ by inner CV, Platt on inner
 * out-of-fold logits) inside each fold; per-centre AUC by leave-one-site-out (a model fitted the same
 * way on the other three centres predicts every row of the fourth), which is what a new hospital
 * would see. The served model is fitCalibrated on all rows.
 */
import { HEART_HOSPITALS, type HeartHospital } from '../heart-codes.js';
import { bootstrapInterval, pick } from '../bootstrap.js';
import type { MetricEstimate } from '../card.js';
import { heldOutMetrics, subgroupAuc } from '../card-metrics.js';
import { accuracy } from '../metrics.js';
import { fitAndServe, hashServed, heldOutProbabilities, predictFrom, type TrainOptions } from '../served-train.js';
import type { ServedCase } from '../served-model.js';
import { ageBand } from './assess.js';
import { heartCard } from './card.js';
import { pooledHeartData, type HeartEvaluation, type PooledHeart } from './pooled.js';
import type { HeartRiskModelDocument } from './types.js';

export { pooledHeartData, type HeartEvaluation, type PooledHeart } from './pooled.js';

export const HEART_THRESHOLD = 0.5;
/** At least 8 of the 13 inputs read from records (the UCI rows outside Cleveland have 9–11). */
export const HEART_MIN_OBSERVED = 8;

export function trainHeartModel(options: TrainOptions = {}): { document: HeartRiskModelDocument; evaluation: HeartEvaluation } {
  const progress = options.onProgress ?? (() => undefined);
  const data = pooledHeartData(options.root);
  const n = data.y.length;
  const strata = data.y.map((y, i) => HEART_HOSPITALS.indexOf(data.site[i]!) * 2 + y);
  const { probabilities } = heldOutProbabilities(data, { strata, seed: 11 }, (done, total) => progress('held-out evaluation', done, total));
  const metrics = heldOutMetrics(probabilities, data.y, HEART_THRESHOLD);
  const bySex = subgroupAuc('sex', data.sex, probabilities, data.y);

  const leftOut = new Float64Array(n);
  HEART_HOSPITALS.forEach((h, k) => {
    const train = data.site.flatMap((s, i) => (s === h ? [] : [i]));
    const test = data.site.flatMap((s, i) => (s === h ? [i] : []));
    const p = predictFrom(data, train, test, { seed: 21 });
    test.forEach((i, t) => (leftOut[i] = p[t]!));
    progress('leave-one-site-out', k + 1, HEART_HOSPITALS.length);
  });
  const bySite = subgroupAuc('site', data.site, leftOut, data.y);
  const siteAccuracy = Object.fromEntries(
    HEART_HOSPITALS.map((h) => {
      const rows = data.site.flatMap((s, i) => (s === h ? [i] : []));
      const [p, y] = [rows.map((i) => leftOut[i]!), rows.map((i) => data.y[i]!)];
      return [h, bootstrapInterval(rows.length, (idx) => accuracy(pick(p, idx), pick(y, idx), HEART_THRESHOLD))];
    }),
  ) as Record<HeartHospital, MetricEstimate>;

  const parameters = fitAndServe(data, 31, options, {
    threshold: HEART_THRESHOLD,
    heldOut: metrics,
    minObserved: HEART_MIN_OBSERVED,
    cases: heartCases(data),
    calibrationFittedOn: 'out-of-fold logits of a 5-fold cross-validation over all 920 training rows',
  });
  const evaluation: HeartEvaluation = { heldOut: probabilities, labels: data.y, site: data.site, sex: data.sex, metrics, bySex, bySite, siteAccuracy };
  const card = heartCard({ data, evaluation, modelHash: hashServed(parameters), lambda: parameters.lambda });
  return { document: { card, parameters }, evaluation };
}

/** The training rows as de-identified cases: centre, five-year age band (its middle as the age), sex, outcome. */
function heartCases(data: PooledHeart): ServedCase[] {
  const d = data.x.cols;
  return Array.from({ length: data.y.length }, (_, i) => {
    const values = Array.from(data.x.data.subarray(i * d, (i + 1) * d), (v) => (Number.isNaN(v) ? null : v));
    const age = values[0]!;
    const band = ageBand(age);
    values[0] = Math.floor(age / 5) * 5 + 2;
    return { site: data.site[i]!, ageBand: band, sex: data.sex[i]!, hasDisease: data.y[i] === 1, values };
  });
}
