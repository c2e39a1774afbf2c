/**
 * The image models the product ships (data/models/<set>/, scripts/train-image-models.ts) and the
 * parts they are made of: augmentation geometry, test-time mirroring, seed ensembles, the model
 * card, and the loader that refuses a card describing other weights. No training here: the
 * shipped weights are scored on a fixed sample of test images instead.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { consentSetHash } from '../src/ml/consent-set.js';
import { augmentInto } from '../src/ml/image-augment.js';
import { imageModelDir, loadImageModel } from '../src/ml/image-artefacts.js';
import { useImageBackend } from '../src/ml/image-backend.js';
import { IMAGE_MODEL_INFO, imageTestMetrics } from '../src/ml/image-card.js';
import { createImageCnn, hashImageWeights, loadImageCnn, predictImageSet, saveImageCnn, type ImageCnn } from '../src/ml/image-model.js';
import { averageImageCnns } from '../src/ml/image-training.js';
import { IMAGE_SETS, imageAt, loadImageSet, sampleImages } from '../src/ml/images.js';
import { auc } from '../src/ml/metrics.js';

const scratch = mkdtempSync(join(tmpdir(), 'medledger-image-models-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ramp = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7 + Math.floor(i / 28) * 13) % 256);
const at = (pixels: ArrayLike<number>, r: number, c: number) => pixels[r * 28 + c]!;

test('augmentation: a shift moves pixels, a 90° turn turns them about the centre, a flip mirrors, intensity 0 keeps values', () => {
  const out = new Float32Array(28 * 28);
  // random() = 0.75 puts every draw at half its range: shift +1 pixel, rotation = rotate/2, no mirror (0.75 ≥ 0.5).
  augmentInto(out, ramp, 28, 28, { shift: 2, rotate: 0, flip: false, intensity: 0 }, () => 0.75);
  for (const [r, c] of [[1, 1], [5, 20], [27, 27]] as const) assert.ok(Math.abs(at(out, r, c) - at(ramp, r - 1, c - 1) / 255) < 1e-6, `shift at ${r},${c}`);
  assert.ok(Math.abs(at(out, 0, 0) - at(ramp, 0, 0) / 255) < 1e-6, 'edges repeat');

  augmentInto(out, ramp, 28, 28, { shift: 0, rotate: 180, flip: false, intensity: 0 }, () => 0.75);
  for (const [r, c] of [[0, 0], [3, 17], [27, 9]] as const) assert.ok(Math.abs(at(out, r, c) - at(ramp, 27 - c, r) / 255) < 1e-4, `90° at ${r},${c}`);

  augmentInto(out, ramp, 28, 28, { shift: 0, rotate: 0, flip: true, intensity: 0 }, () => 0.25);
  for (const [r, c] of [[0, 0], [10, 3]] as const) assert.ok(Math.abs(at(out, r, c) - at(ramp, r, 27 - c) / 255) < 1e-6, `mirror at ${r},${c}`);
});

/** Two untrained CNNs (different seeds give different outputs), enough to test what wraps them. */
async function twoNets(): Promise<[ImageCnn, ImageCnn]> {
  await useImageBackend('wasm');
  const net = (seed: number): ImageCnn => ({ model: createImageCnn({ seed }), labelNames: ['malignant', 'normal, benign'], width: 28, height: 28 });
  return [net(1), net(2)];
}

test('test-time flip averages the image and its mirror; a seed ensemble averages its members and survives save → load', async () => {
  const [a, b] = await twoNets();
  const sample = sampleImages(loadImageSet('breastmnist', 'val'), 3, 1);
  const mirrored = { ...sample, pixels: sample.pixels.slice() };
  for (let i = 0; i < sample.count; i++) {
    for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) mirrored.pixels[i * 784 + r * 28 + c] = sample.pixels[i * 784 + r * 28 + 27 - c]!;
  }
  const plain = await predictImageSet(a, sample);
  const flipped = await predictImageSet(a, mirrored);
  const both = await predictImageSet({ ...a, testTimeFlip: true }, sample);
  both.forEach((p, i) => assert.ok(Math.abs(p - (plain[i]! + flipped[i]!) / 2) < 1e-6, `image ${i}`));

  const pb = await predictImageSet(b, sample);
  assert.ok(pb.some((p, i) => Math.abs(p - plain[i]!) > 1e-4), 'the members differ');
  const ensemble = averageImageCnns([a, b]);
  const pe = await predictImageSet(ensemble, sample);
  pe.forEach((p, i) => assert.ok(Math.abs(p - (plain[i]! + pb[i]!) / 2) < 1e-6, `ensemble image ${i}`));
  assert.equal(ensemble.model.countParams(), a.model.countParams() * 2);

  const dir = join(scratch, 'ensemble');
  const { weightsHash } = await saveImageCnn({ ...ensemble, testTimeFlip: true }, dir);
  assert.equal(await hashImageWeights(ensemble.model), weightsHash);
  const loaded = await loadImageCnn(dir, weightsHash);
  assert.equal(loaded.net.testTimeFlip, true);
  const pl = await predictImageSet({ ...loaded.net, testTimeFlip: false }, sample);
  assert.deepEqual(pl, pe);
});

test('image metrics count the finding as positive: malignant (label 0) for BreastMNIST', () => {
  // P(label 1 = benign) for 3 malignant and 3 benign images; one malignant image is missed (0.7).
  const probabilities = [0.1, 0.2, 0.7, 0.6, 0.8, 0.9];
  const labels = [0, 0, 0, 1, 1, 1];
  const m = imageTestMetrics(IMAGE_MODEL_INFO.breastmnist, { probabilities, labels });
  assert.ok(Math.abs(m.operatingPoint.sensitivity.value - 2 / 3) < 1e-12);
  assert.equal(m.operatingPoint.specificity.value, 1);
  assert.equal(m.metrics.auc!.value, auc(probabilities, labels));
  assert.ok(Math.abs(m.metrics.accuracy!.value - 5 / 6) < 1e-12);
  assert.ok(m.metrics.auc!.low <= m.metrics.auc!.value && m.metrics.auc!.value <= m.metrics.auc!.high);
});

for (const set of IMAGE_SETS) {
  test(`shipped ${set} model: weights match its card, the card is complete, and a fixed test sample is ranked well above chance`, async () => {
    await useImageBackend('wasm');
    const { card, classifier, net } = await loadImageModel(set);
    assert.equal(classifier.id, `cnn:${card.modelHash}`);
    assert.equal(card.id, IMAGE_MODEL_INFO[set].id);
    assert.match(card.intendedUse, /not for diagnosis/i);
    assert.match(card.trainingData.licence, /CC BY 4\.0/);
    assert.ok(card.trainingData.rows > 0 && card.trainingData.population.length > 0 && card.trainingData.citation.includes('10.1038/s41597-022-01721-8'));
    for (const m of [card.metrics.auc!, card.metrics.accuracy!, card.calibration!.ece, card.operatingPoint!.sensitivity, card.operatingPoint!.specificity]) {
      assert.ok(m.low <= m.value && m.value <= m.high && m.n === loadImageSet(set, 'test').count, JSON.stringify(m));
    }
    assert.ok(card.published.some((p) => p.metric === 'auc' && p.source.includes('ResNet-18')));
    assert.ok(card.limitations.length >= 3);
    assert.equal(card.consentSetHash, consentSetHash([]));

    // 20 test images of each class, fixed by the seed: the ranking must beat chance by a wide margin
    // (the card's test AUC less 0.2 leaves room for a small sample; chance is 0.5).
    const sample = sampleImages(loadImageSet(set, 'test'), 20, 5);
    const p = await predictImageSet(net, sample);
    const sampleAuc = auc(p, sample.labels);
    assert.ok(sampleAuc > Math.max(0.6, card.metrics.auc!.value - 0.2), `sample AUC ${sampleAuc}, card ${card.metrics.auc!.value}`);
    const first = await classifier.classify(imageAt(sample, 0), 28, 28);
    const p0 = p[0]!;
    assert.equal(first.index, p0 >= 0.5 ? 1 : 0);
    assert.ok(Math.abs(first.probability - (p0 >= 0.5 ? p0 : 1 - p0)) < 1e-6);
  });
}

test('a card whose modelHash is not its weights is refused', async () => {
  const dir = join(scratch, 'tampered');
  cpSync(imageModelDir('breastmnist'), dir, { recursive: true });
  const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as { modelHash: string };
  card.modelHash = `0x${'ab'.repeat(32)}`;
  writeFileSync(join(dir, 'card.json'), JSON.stringify(card));
  await assert.rejects(loadImageModel('breastmnist', dir), /describes other weights/);
  rmSync(join(dir, 'card.json'));
  await assert.rejects(loadImageModel('breastmnist', dir), /card\.json.*retrain with scripts\/train-image-models\.ts/);
});
