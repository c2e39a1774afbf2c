/**
 * The shipped image models (data/models/<set>/, trained by scripts/train-image-models.ts), scored on
 * their MedMNIST v2 test splits: AUC, accuracy, sensitivity/specificity for the finding (pneumonia;
 * malignant) at probability 0.5 and expected calibration error, each with a 95 % bootstrap interval
 * (1,000 resamples of the test images), beside the published ResNet-18 (28) figures (Yang et al.,
 * Scientific Data 10:41, 2023). Evaluation only, no training: seconds, not minutes. The numbers must
 * equal the ones in each card.json (`…MatchesCard`); a difference means the weights or the backend's
 * arithmetic changed since the card was written.
 */
import type { MetricEstimate } from '../src/ml/card.js';
import { loadImageModel } from '../src/ml/image-artefacts.js';
import { useImageBackend } from '../src/ml/image-backend.js';
import { IMAGE_MODEL_INFO, imageTestMetrics } from '../src/ml/image-card.js';
import { predictImageSet } from '../src/ml/image-model.js';
import { loadImageSet, type ImageSetName } from '../src/ml/images.js';

type Interval = { value: number; low: number; high: number };
const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const interval = (m: MetricEstimate): Interval => ({ value: round(m.value), low: round(m.low), high: round(m.high) });

async function scoreShipped(set: ImageSetName, log: (line: string) => void) {
  const started = performance.now();
  const { card, net } = await loadImageModel(set);
  const test = loadImageSet(set, 'test');
  const probabilities = await predictImageSet(net, test);
  const m = imageTestMetrics(IMAGE_MODEL_INFO[set], { probabilities, labels: test.labels });
  const seconds = (performance.now() - started) / 1000;
  const matchesCard = round(m.metrics.auc!.value, 6) === round(card.metrics.auc!.value, 6) && round(m.metrics.accuracy!.value, 6) === round(card.metrics.accuracy!.value, 6);
  const published = (metric: string) => card.published.find((p) => p.metric === metric)?.value ?? NaN;
  const { auc, accuracy, sensitivity, specificity } = m.metrics as Record<'auc' | 'accuracy' | 'sensitivity' | 'specificity', MetricEstimate>;
  log(`  ${set}: test AUC ${auc.value.toFixed(4)} (95 % ${auc.low.toFixed(3)}–${auc.high.toFixed(3)}), accuracy ${accuracy.value.toFixed(4)}, published ResNet-18 (28) ${published('auc')} / ${published('accuracy')}; card ${matchesCard ? 'matches' : 'DIFFERS'} (${seconds.toFixed(1)} s)`);
  return {
    auc: interval(auc),
    accuracy: interval(accuracy),
    sensitivity: interval(sensitivity),
    specificity: interval(specificity),
    ece: interval(m.calibration.ece),
    baselineAuc: published('auc'),
    baselineAccuracy: published('accuracy'),
    modelHash: card.modelHash,
    matchesCard,
    testCount: test.count,
    seconds: round(seconds, 1),
  };
}

/** Keys merged into results.ml: `imageAuc` (PneumoniaMNIST) and `breastImageAuc` as {value, low, high}, and their companions. */
export async function benchMlImageEval(log: (line: string) => void = console.log): Promise<Record<string, unknown>> {
  await useImageBackend('wasm');
  const pneumonia = await scoreShipped('pneumoniamnist', log);
  const breast = await scoreShipped('breastmnist', log);
  return {
    imageAuc: pneumonia.auc,
    imageAccuracy: pneumonia.accuracy,
    imageSensitivity: pneumonia.sensitivity,
    imageSpecificity: pneumonia.specificity,
    imageEce: pneumonia.ece,
    imageBaselineAuc: pneumonia.baselineAuc,
    imageBaselineAccuracy: pneumonia.baselineAccuracy,
    imageModelHash: pneumonia.modelHash,
    imageMatchesCard: pneumonia.matchesCard,
    imageTestCount: pneumonia.testCount,
    breastImageAuc: breast.auc,
    breastImageAccuracy: breast.accuracy,
    breastImageSensitivity: breast.sensitivity,
    breastImageSpecificity: breast.specificity,
    breastImageEce: breast.ece,
    breastImageBaselineAuc: breast.baselineAuc,
    breastImageBaselineAccuracy: breast.baselineAccuracy,
    breastImageModelHash: breast.modelHash,
    breastImageMatchesCard: breast.matchesCard,
    breastImageTestCount: breast.testCount,
    imageEvalBackend: 'wasm',
  };
}
