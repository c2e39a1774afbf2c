/**
 * Medical image classification (src/ml/image*.ts) and document OCR/classification
 * (src/ml/document*.ts, text-model.ts, ocr.ts) on small subsets of the real data; the full runs
 * are in bench/ml-images-docs.ts.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dataDir } from '../src/ml/data-dir.js';
import { classifyDocument } from '../src/ml/document-classifier.js';
import { renderTextImage } from '../src/ml/document-render.js';
import { DOCUMENT_LABELS, loadMedicalAbstracts, parseCsv, splitDocuments } from '../src/ml/documents.js';
import { useImageBackend } from '../src/ml/image-backend.js';
import { cnnClassifier, classifyImageFile, evaluateImageAuc, hashImageWeights, loadImageCnn, predictImageSet, saveImageCnn, trainImageCnn } from '../src/ml/image-model.js';
import { decodePng, encodeGrayPng } from '../src/ml/image-png.js';
import { imageAt, loadImageSet, sampleImages } from '../src/ml/images.js';
import { openOcr } from '../src/ml/ocr.js';
import { fitTfidf, macroF1, majorityLabel, predictNaiveBayes, tokenize, trainNaiveBayes, trainTextClassifier, vectorizeTfidf } from '../src/ml/text-model.js';

const scratch = mkdtempSync(join(tmpdir(), 'medledger-ml-images-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const countLabels = (labels: ArrayLike<number>) => Array.from(labels).reduce<Record<number, number>>((c, y) => ({ ...c, [y]: (c[y] ?? 0) + 1 }), {});

test('images: the MedMNIST splits load with the README counts and pixel means', () => {
  const train = loadImageSet('pneumoniamnist', 'train');
  assert.equal(train.count, 4708);
  assert.equal(train.pixels.length, 4708 * 28 * 28);
  assert.deepEqual(countLabels(train.labels), { 0: 1214, 1: 3494 });
  assert.deepEqual(train.labelNames, ['normal', 'pneumonia']);
  const mean = train.pixels.reduce((s, v) => s + v, 0) / train.pixels.length;
  assert.ok(Math.abs(mean - 145.84) < 0.01, `train mean ${mean}`);
  assert.equal(imageAt(train, 3).length, 784);

  const breast = loadImageSet('breastmnist', 'test');
  assert.deepEqual([breast.count, breast.width, breast.height], [156, 28, 28]);
  assert.deepEqual(countLabels(breast.labels), { 0: 42, 1: 114 });
  assert.deepEqual(breast.labelNames, ['malignant', 'normal, benign']);

  const sample = sampleImages(train, 5, 7);
  assert.deepEqual(countLabels(sample.labels), { 0: 5, 1: 5 });
  assert.deepEqual(sampleImages(train, 5, 7).pixels, sample.pixels, 'same seed, same sample');
});

test('PNG: the demo samples decode to the bytes of their test images; encode → decode round-trips', () => {
  const test = loadImageSet('pneumoniamnist', 'test');
  const samples = join(dataDir(), 'images', 'samples');
  for (const [file, index, label] of [['pneumoniamnist-test-000-label1.png', 0, 1], ['pneumoniamnist-test-003-label0.png', 3, 0]] as const) {
    const image = decodePng(readFileSync(join(samples, file)));
    assert.deepEqual([image.width, image.height], [28, 28]);
    assert.deepEqual(image.pixels, imageAt(test, index), file);
    assert.equal(test.labels[index], label);
  }
  const pixels = Uint8Array.from({ length: 13 * 7 }, (_, i) => (i * 37) % 256);
  assert.deepEqual(decodePng(encodeGrayPng({ width: 13, height: 7, pixels })), { width: 13, height: 7, pixels });
  assert.throws(() => decodePng(new Uint8Array(20)), /not a PNG/);
});

test('wasm backend: the registered Conv2DBackpropFilter kernel gives the cpu backend gradient', async () => {
  await useImageBackend('cpu');
  const x = tf.tidy(() => tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 11).relu());
  const xs = await x.data();
  const w = await tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 12).data();
  const filterGradient = async (stride: number, pad: 'same' | 'valid') => {
    const xt = tf.tensor4d(xs, [2, 7, 6, 3]);
    const wt = tf.tensor4d(w, [3, 3, 3, 4]);
    const g = tf.grad((f) => tf.conv2d(xt, f as tf.Tensor4D, stride, pad).square().sum())(wt);
    const out = await g.data();
    tf.dispose([xt, wt, g]);
    return out;
  };
  for (const [stride, pad] of [[1, 'same'], [2, 'valid'], [2, 'same']] as const) {
    await useImageBackend('cpu');
    const expected = await filterGradient(stride, pad);
    await useImageBackend('wasm');
    const actual = await filterGradient(stride, pad);
    assert.equal(actual.length, expected.length);
    const worst = Math.max(...expected.map((e, i) => Math.abs(e - actual[i]!) / (1 + Math.abs(e))));
    assert.ok(worst < 1e-4, `stride ${stride} ${pad}: relative error ${worst}`);
  }
  x.dispose();
});

test('image CNN: a short run on a small subset gives probabilities in [0, 1], learns, and survives save → load', async () => {
  await useImageBackend('wasm');
  const train = sampleImages(loadImageSet('pneumoniamnist', 'train'), 64, 1);
  const { net, history } = await trainImageCnn(train, { epochs: 3, seed: 3 });
  assert.equal(history.length, 3);
  assert.ok(history[2]!.loss < history[0]!.loss, `loss ${history.map((h) => h.loss.toFixed(3)).join(' → ')}`);
  const p = await predictImageSet(net, train);
  assert.ok(p.every((v) => v >= 0 && v <= 1));
  const trainAuc = await evaluateImageAuc(net, train);
  assert.ok(trainAuc > 0.7, `train-subset AUC ${trainAuc} should beat chance (0.5)`);

  const dir = join(scratch, 'cnn');
  const { weightsHash } = await saveImageCnn(net, dir);
  assert.match(weightsHash, /^0x[0-9a-f]{64}$/);
  assert.equal(await hashImageWeights(net.model), weightsHash);
  const loaded = await loadImageCnn(dir, weightsHash);
  assert.equal(loaded.weightsHash, weightsHash);
  assert.deepEqual(await predictImageSet(loaded.net, train), p, 'identical predictions after reload');
  assert.deepEqual(loaded.net.labelNames, ['normal', 'pneumonia']);

  const classifier = await cnnClassifier(loaded.net);
  assert.equal(classifier.id, `cnn:${weightsHash}`);
  const first = await classifier.classify(imageAt(train, 0), 28, 28);
  const p0 = p[0]!;
  assert.deepEqual(first, { label: p0 >= 0.5 ? 'pneumonia' : 'normal', index: p0 >= 0.5 ? 1 : 0, probability: p0 >= 0.5 ? p0 : 1 - p0 });
  // The same picture as 0–1 floats, as RGB, or as a PNG attachment gives the same answer.
  const asFloats = await classifier.classify(Float32Array.from(imageAt(train, 0), (v) => v / 255), 28, 28);
  assert.ok(Math.abs(asFloats.probability - first.probability) < 1e-5);
  const rgb = Uint8Array.from({ length: 784 * 3 }, (_, i) => imageAt(train, 0)[Math.floor(i / 3)]!);
  assert.ok(Math.abs((await classifier.classify(rgb, 28, 28)).probability - first.probability) < 1e-3);
  const png = encodeGrayPng({ width: 28, height: 28, pixels: imageAt(train, 0).slice() });
  assert.deepEqual(await classifyImageFile(classifier, png), first);
  assert.deepEqual(await classifyImageFile(classifier, imageAt(train, 0)), first, 'raw 28×28 bytes');
  await assert.rejects(classifier.classify(new Uint8Array(100), 28, 28), /expected 1, 3 or 4 per pixel/);

  // A weights file that no longer matches the manifest's hash is refused.
  const weights = readFileSync(join(dir, 'weights.bin'));
  weights[0] = weights[0]! ^ 1;
  writeFileSync(join(dir, 'weights.bin'), weights);
  await assert.rejects(loadImageCnn(dir), /does not match the manifest/);
});

test('documents: the abstracts load with duplicates merged, and split stratified without leaks', () => {
  const docs = loadMedicalAbstracts();
  assert.equal(docs.length, 2770);
  assert.equal(new Set(docs.map((d) => d.text)).size, docs.length);
  const multi = docs.filter((d) => d.labels.length > 1);
  assert.equal(multi.length, 113);
  // The catch-all class never wins over a specific condition.
  const general = DOCUMENT_LABELS.indexOf('general pathological conditions');
  assert.ok(multi.every((d) => d.label !== general && d.labels.includes(general) === d.labels.slice(1).includes(general)));
  const { train, test } = splitDocuments(docs, 0.2, 1);
  assert.equal(train.length + test.length, docs.length);
  const trainTexts = new Set(train.map((d) => d.text));
  assert.ok(test.every((d) => !trainTexts.has(d.text)));
  const all = countLabels(docs.map((d) => d.label));
  const held = countLabels(test.map((d) => d.label));
  for (const k of Object.keys(all)) assert.ok(Math.abs(held[Number(k)]! - 0.2 * all[Number(k)]!) <= 1, `class ${k}`);
});

test('parseCsv handles RFC 4180 quoting', () => {
  assert.deepEqual(parseCsv('text,label\n"a, b ""c""",x\nplain,y\n"two\nlines",z'), [['text', 'label'], ['a, b "c"', 'x'], ['plain', 'y'], ['two\nlines', 'z']]);
  assert.throws(() => parseCsv('"open'), /unterminated/);
});

test('macroF1 against a hand-computed example', () => {
  // truth 0 0 0 1 1 2, predicted 0 0 1 1 2 2:
  // class 0: TP 2, FP 0, FN 1 → 4/5; class 1: TP 1, FP 1, FN 1 → 2/4; class 2: TP 1, FP 1, FN 0 → 2/3.
  assert.ok(Math.abs(macroF1([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]) - (4 / 5 + 1 / 2 + 2 / 3) / 3) < 1e-12);
  assert.equal(macroF1([1, 1, 0], [1, 1, 0]), 1);
  // Always predicting class 1 when truth is 1 1 0 0: F1(1) = 2·2/(4+2) = 2/3, F1(0) = 0.
  assert.ok(Math.abs(macroF1([1, 1, 0, 0], [1, 1, 1, 1]) - 1 / 3) < 1e-12);
});

test('tokenizer and TF-IDF: lower case, stopwords out, bigrams in, rows of unit length', () => {
  assert.deepEqual(tokenize('The Blood-Pressure of a 54-year-old was 140/90 mmHg.'), ['blood-pressure', 'year-old', 'mmhg']);
  const v = fitTfidf(['chest pain', 'chest pain again', 'liver'], { minDf: 2 });
  assert.deepEqual([...v.vocabulary.keys()], ['chest', 'chest pain', 'pain']);
  const row = vectorizeTfidf(v, 'Chest pain, chest!');
  assert.ok(Math.abs(row.values.reduce((s, x) => s + x * x, 0) - 1) < 1e-6);
  assert.equal(vectorizeTfidf(v, 'unknown words').indices.length, 0);
});

test('TF-IDF + logistic regression beats the majority class on a small split, deterministically', () => {
  const docs = loadMedicalAbstracts();
  const small = splitDocuments(docs, 0.15, 5).test; // ~415 documents, stratified
  const { train, test } = splitDocuments(small, 0.3, 2);
  const truth = test.map((d) => d.label);
  const majority = majorityLabel(train.map((d) => d.label));
  const majorityF1 = macroF1(truth, truth.map(() => majority));
  const classifier = trainTextClassifier(train, DOCUMENT_LABELS, { epochs: 15 });
  const predicted = test.map((d) => classifier.classify(d.text).index);
  const f1 = macroF1(truth, predicted);
  assert.ok(f1 > majorityF1 + 0.2, `macro-F1 ${f1} vs majority ${majorityF1}`);
  const again = trainTextClassifier(train, DOCUMENT_LABELS, { epochs: 15 });
  assert.deepEqual(test.map((d) => again.classify(d.text).index), predicted, 'same data and seed, same model');
  const one = classifier.classify(test[0]!.text);
  assert.ok(Math.abs(one.probabilities.reduce((a, b) => a + b) - 1) < 1e-9);
  assert.equal(one.label, DOCUMENT_LABELS[one.index]);

  const nb = trainNaiveBayes(train.map((d) => d.text), train.map((d) => d.label), DOCUMENT_LABELS.length);
  const nbF1 = macroF1(truth, test.map((d) => predictNaiveBayes(nb, d.text)));
  assert.ok(nbF1 > majorityF1, `naive Bayes ${nbF1} vs majority ${majorityF1}`);
});

test('OCR reads a word from a rendered image, and classifyDocument goes image → OCR → label', async () => {
  const ocr = await openOcr();
  try {
    const png = encodeGrayPng(renderTextImage('Pneumonia'));
    const read = await ocr.recognize(png);
    assert.equal(read.text.trim(), 'PNEUMONIA');
    const classifier = trainTextClassifier(
      [{ text: 'tumour carcinoma chemotherapy', label: 0 }, { text: 'stroke seizure neuropathy', label: 2 }],
      DOCUMENT_LABELS, { minDf: 1 },
    );
    const page = encodeGrayPng(renderTextImage('Metastatic carcinoma treated with chemotherapy.'));
    const fromImage = await classifyDocument(page, classifier, ocr);
    assert.equal(fromImage.source, 'ocr');
    assert.match(fromImage.text, /CARCINOMA/);
    assert.equal(fromImage.label, 'neoplasms');
    assert.ok(fromImage.ocrConfidence! > 50);
    const fromText = await classifyDocument('new seizure after a stroke', classifier);
    assert.deepEqual([fromText.source, fromText.label], ['text', 'nervous system diseases']);
  } finally {
    await ocr.close();
  }
});
