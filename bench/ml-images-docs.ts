/**
 * Medical image classification and document classification, full runs.
 *
 * Images: both shipped image models retrained from scratch with their plans
 * (src/ml/image-training.ts, as scripts/train-image-models.ts does; epochs chosen on the validation
 * split), scored on the test split (`imageRetrainAuc`, `breastRetrainAuc`), and whether the retrained
 * weights hash to the shipped ones in data/models (training is seeded: same machine, same bytes).
 * The headline `ml.imageAuc` / `ml.breastImageAuc` with intervals are the shipped models' (the
 * `ml-image-eval` part, bench/ml-image-eval.ts). Also one training step timed on the `cpu` and the
 * `wasm` backend, the reason the model trains on wasm.
 *
 * Documents: Medical Abstracts, duplicates merged; macro-F1 of TF-IDF + softmax regression beside
 * the majority class and bag-of-words naive Bayes, as the mean of a stratified 5-fold
 * cross-validation (docMacroF1, …) and on one stratified 80/20 split, seed 1 (docSplit…). Then a
 * few held-out abstracts rendered as page images, read back by OCR and classified, to show what the
 * scan path costs.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyDocument } from '../src/ml/document-classifier.js';
import { renderTextImage } from '../src/ml/document-render.js';
import { DOCUMENT_LABELS, loadMedicalAbstracts, splitDocuments, type LabelledDocument } from '../src/ml/documents.js';
import { useImageBackend, type ImageBackend } from '../src/ml/image-backend.js';
import { imageModelDir, readImageModelCard } from '../src/ml/image-artefacts.js';
import { IMAGE_MODEL_INFO, imageTestMetrics } from '../src/ml/image-card.js';
import { createImageCnn, loadImageCnn, predictImageSet, saveImageCnn } from '../src/ml/image-model.js';
import { trainImagePlan } from '../src/ml/image-training.js';
import { encodeGrayPng } from '../src/ml/image-png.js';
import { loadImageSet, sampleImages, type ImageSetName } from '../src/ml/images.js';
import { stratifiedKFold } from '../src/ml/metrics.js';
import { openOcr } from '../src/ml/ocr.js';
import { macroF1, majorityLabel, predictNaiveBayes, tokenize, trainNaiveBayes, trainTextClassifier, type TextClassifier } from '../src/ml/text-model.js';

export interface MlImagesDocsOptions {
  /** Abstracts read back through OCR. */
  ocrDocuments?: number;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

export async function benchMlImagesDocs(log: (line: string) => void = console.log, options: MlImagesDocsOptions = {}): Promise<Record<string, number | string | boolean>> {
  const { ocrDocuments = 8 } = options;

  log('  one training step (16 images) on each tfjs backend…');
  const cpuStepMs = await timeTrainingStep('cpu');
  const wasmStepMs = await timeTrainingStep('wasm');
  log(`  cpu ${cpuStepMs.toFixed(0)} ms, wasm ${wasmStepMs.toFixed(0)} ms per step: training runs on wasm`);

  const pneumonia = await benchImageSet('pneumoniamnist', log);
  const breast = await benchImageSet('breastmnist', log);
  const docs = benchDocuments(log);
  const ocr = await benchOcr(docs.classifier, docs.test, ocrDocuments, log);

  return {
    imageRetrainAuc: pneumonia.auc,
    imageRetrainAccuracy: pneumonia.accuracy,
    imageRetrainValidationAuc: pneumonia.validationAuc,
    imageRetrainSeconds: pneumonia.trainSeconds,
    imageRetrainEpochs: pneumonia.epochs,
    imageRetrainMatchesShipped: pneumonia.matchesShipped,
    imageParams: pneumonia.params,
    imageBackend: 'wasm',
    imageCpuStepMs: Math.round(cpuStepMs),
    imageWasmStepMs: Math.round(wasmStepMs),
    breastRetrainAuc: breast.auc,
    breastRetrainAccuracy: breast.accuracy,
    breastRetrainValidationAuc: breast.validationAuc,
    breastRetrainSeconds: breast.trainSeconds,
    breastRetrainEpochs: breast.epochs,
    breastRetrainMatchesShipped: breast.matchesShipped,
    breastParams: breast.params,
    ...docs.metrics,
    ...ocr,
  };
}

/** Milliseconds for one 16-image Adam step of the CNN on `backend` (after a warm-up step). */
async function timeTrainingStep(backend: ImageBackend): Promise<number> {
  await useImageBackend(backend);
  const set = sampleImages(loadImageSet('pneumoniamnist', 'train'), 8, 1);
  const model = createImageCnn({ seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  const x = tf.tensor4d(Float32Array.from(set.pixels, (v) => v / 255), [set.count, 28, 28, 1]);
  const y = tf.tensor2d(Float32Array.from(set.labels), [set.count, 1]);
  await model.trainOnBatch(x.slice(0, 2), y.slice(0, 2));
  const started = performance.now();
  await model.trainOnBatch(x, y);
  const ms = performance.now() - started;
  tf.dispose([x, y]);
  model.dispose();
  return ms;
}

/** Retrains the set's shipped plan, scores it on the test split, and compares its weights hash with the shipped card's. */
async function benchImageSet(name: ImageSetName, log: (line: string) => void) {
  await useImageBackend('wasm');
  log(`  ${name}: retraining the shipped plan (src/ml/image-training.ts), epochs chosen on the validation split…`);
  const trained = await trainImagePlan(name, log);
  // Score the model as saved and reloaded, so the number belongs to the hashed weights.
  const dir = mkdtempSync(join(tmpdir(), 'medledger-bench-cnn-'));
  try {
    const { weightsHash } = await saveImageCnn(trained.net, dir);
    const loaded = await loadImageCnn(dir, weightsHash);
    const test = loadImageSet(name, 'test');
    const m = imageTestMetrics(IMAGE_MODEL_INFO[name], { probabilities: await predictImageSet(loaded.net, test), labels: test.labels }).metrics;
    let shippedHash: string | undefined;
    try {
      shippedHash = readImageModelCard(imageModelDir(name)).modelHash;
    } catch {
      shippedHash = undefined;
    }
    const result = {
      auc: round(m.auc!.value),
      accuracy: round(m.accuracy!.value),
      validationAuc: round(trained.validationAuc),
      epochs: trained.histories.map((h) => h.length).join('+'),
      trainSeconds: round(trained.trainSeconds, 1),
      params: trained.net.model.countParams(),
      matchesShipped: weightsHash === shippedHash,
    };
    log(`  ${name}: test AUC ${result.auc} (accuracy ${result.accuracy}), ${result.trainSeconds} s training; weights ${result.matchesShipped ? 'identical to' : 'differ from'} data/models/${name}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function scoreDocuments(train: LabelledDocument[], test: LabelledDocument[]) {
  const truth = test.map((d) => d.label);
  const majority = majorityLabel(train.map((d) => d.label));
  const nb = trainNaiveBayes(train.map((d) => d.text), train.map((d) => d.label), DOCUMENT_LABELS.length);
  const started = performance.now();
  const classifier = trainTextClassifier(train, DOCUMENT_LABELS);
  const trainSeconds = (performance.now() - started) / 1000;
  const predicted = test.map((d) => classifier.classify(d.text).index);
  return {
    model: macroF1(truth, predicted),
    accuracy: predicted.filter((p, i) => p === truth[i]).length / truth.length,
    majority: macroF1(truth, truth.map(() => majority)),
    bow: macroF1(truth, test.map((d) => predictNaiveBayes(nb, d.text))),
    trainSeconds,
    classifier,
  };
}

function benchDocuments(log: (line: string) => void): { metrics: Record<string, number>; classifier: TextClassifier; test: LabelledDocument[] } {
  const docs = loadMedicalAbstracts();
  const { train, test } = splitDocuments(docs, 0.2, 1);
  const split = scoreDocuments(train, test);
  log(`  documents (${train.length} train / ${test.length} test): macro-F1 ${split.model.toFixed(4)}, majority ${split.majority.toFixed(4)}, bag-of-words NB ${split.bow.toFixed(4)}`);
  const folds = stratifiedKFold(docs.map((d) => d.label), 5, 1).map((f) => scoreDocuments(f.train.map((i) => docs[i]!), f.test.map((i) => docs[i]!)));
  const mean = (k: 'model' | 'majority' | 'bow') => folds.reduce((s, f) => s + f[k], 0) / folds.length;
  log(`  documents, 5-fold mean: macro-F1 ${mean('model').toFixed(4)}, majority ${mean('majority').toFixed(4)}, NB ${mean('bow').toFixed(4)}`);
  // The headline is the 5-fold mean: one 554-document test set moves macro-F1 by about ±0.02.
  const metrics = {
    docMacroF1: round(mean('model')),
    docMajorityF1: round(mean('majority')),
    docBowF1: round(mean('bow')),
    docSplitMacroF1: round(split.model),
    docSplitMajorityF1: round(split.majority),
    docSplitBowF1: round(split.bow),
    docSplitAccuracy: round(split.accuracy),
    docTrainSeconds: round(split.trainSeconds, 1),
    docSplitTrainCount: train.length,
    docSplitTestCount: test.length,
  };
  return { metrics, classifier: split.classifier, test };
}

/** Renders held-out abstracts as page images, reads them back by OCR and classifies what was read. */
async function benchOcr(classifier: TextClassifier, test: LabelledDocument[], count: number, log: (line: string) => void) {
  const pages = test.slice(0, count);
  log(`  OCR: ${pages.length} held-out abstracts rendered as page images, read back and classified…`);
  const ocr = await openOcr();
  let recalled = 0, tokens = 0, agree = 0, seconds = 0;
  try {
    for (const doc of pages) {
      const png = encodeGrayPng(renderTextImage(doc.text, { lineLength: 80 }));
      const started = performance.now();
      const scanned = await classifyDocument(png, classifier, ocr);
      seconds += (performance.now() - started) / 1000;
      const read = new Set(tokenize(scanned.text));
      const truth = tokenize(doc.text);
      recalled += truth.filter((t) => read.has(t)).length;
      tokens += truth.length;
      if (scanned.index === classifier.classify(doc.text).index) agree++;
    }
  } finally {
    await ocr.close();
  }
  const result = { docOcrTokenRecall: round(recalled / tokens), docOcrLabelAgreement: round(agree / pages.length), docOcrSecondsPerPage: round(seconds / pages.length, 2), docOcrPages: pages.length };
  log(`  OCR: ${(100 * result.docOcrTokenRecall).toFixed(1)} % of words recovered, same label as the clean text for ${agree}/${pages.length}, ${result.docOcrSecondsPerPage} s per page`);
  return result;
}
