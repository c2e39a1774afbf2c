/**
 * The served tabular models as their cards report them (src/ml/heart, src/ml/breast; issue 15 §8):
 * held-out AUC, Brier score, accuracy, sensitivity and specificity at the operating point, each with
 * its 95 % bootstrap interval; the heart model's AUC per centre (leave-one-site-out) and per sex, its
 * expected calibration error with interval, and a reliability diagram written to
 * bench/heart-reliability.png; training time. Published figures beside them are in bench/run.ts.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricEstimate } from '../src/ml/card.js';
import { trainBreastModel } from '../src/ml/breast/train.js';
import { trainHeartModel } from '../src/ml/heart/train.js';
import { reliabilityPng } from './calibration-plot.js';

const here = dirname(fileURLToPath(import.meta.url));
export const HEART_RELIABILITY_PNG = join(here, 'heart-reliability.png');

const round = (m: MetricEstimate) => ({ value: +m.value.toFixed(4), low: +m.low.toFixed(4), high: +m.high.toFixed(4), n: m.n });
const rounded = (metrics: Record<string, MetricEstimate>) => Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, round(m)]));

export async function benchMlHeart(log: (line: string) => void = console.log) {
  let started = performance.now();
  const heart = trainHeartModel();
  const heartTrainSeconds = (performance.now() - started) / 1000;
  const card = heart.document.card;
  log(`  heart: held-out AUC ${card.metrics.auc!.value.toFixed(3)} (${card.metrics.auc!.low.toFixed(3)}–${card.metrics.auc!.high.toFixed(3)}), trained and measured in ${heartTrainSeconds.toFixed(1)} s`);
  started = performance.now();
  const breast = trainBreastModel();
  const wdbcTrainSeconds = (performance.now() - started) / 1000;
  log(`  WDBC: held-out AUC ${breast.document.card.metrics.auc!.value.toFixed(4)}, ${wdbcTrainSeconds.toFixed(1)} s`);
  writeFileSync(HEART_RELIABILITY_PNG, reliabilityPng(card.calibration!.bins));
  log(`  reliability diagram: ${HEART_RELIABILITY_PNG}`);
  const group = (by: 'sex' | 'site') => Object.fromEntries(card.subgroups.filter((g) => g.by === by && g.auc).map((g) => [g.group, { ...round(g.auc!), positives: g.positives }]));
  return {
    heartHeldOut: rounded(card.metrics),
    heartAucBySite: group('site'),
    heartAucBySex: group('sex'),
    heartEce: round(card.calibration!.ece),
    heartCalibrationBins: card.calibration!.bins.map((b) => ({ ...b, meanPredicted: +b.meanPredicted.toFixed(4), observedRate: +b.observedRate.toFixed(4) })),
    heartTrainSeconds: +heartTrainSeconds.toFixed(1),
    heartModelHash: card.modelHash,
    wdbcHeldOut: rounded(breast.document.card.metrics),
    wdbcEce: round(breast.document.card.calibration!.ece),
    wdbcTrainSeconds: +wdbcTrainSeconds.toFixed(1),
  };
}
