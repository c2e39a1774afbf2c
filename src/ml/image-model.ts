/**
 * Medical image classification: a small CNN (three 3×3 conv blocks, ~42k parameters by default) for
 * the 28×28 grayscale MedMNIST sets, trained with Adam on seeded mini-batches and augmentation
 * (image-augment.ts), optionally with batch normalisation and early stopping on validation AUC,
 * behind a pluggable `ImageClassifier` so a larger model can replace it without touching callers.
 *
 * Models are saved as a directory of `model.json` (tfjs topology + weight specs + our metadata)
 * and `weights.bin`. The keccak256 of the weight bytes identifies the model, the value a provider
 * would anchor on chain, and is checked again on load, so a swapped weights file is refused.
 * tfjs's `file://` handler needs tfjs-node, so the files are written with `io.withSaveHandler`
 * and read back through `io.fromMemory`.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak256, type Hex } from 'viem';
import { augmentInto, DEFAULT_AUGMENT, type AugmentSpec } from './image-augment.js';
import { useImageBackend } from './image-backend.js';
import { decodePng, isPng } from './image-png.js';
import type { ImageSet } from './images.js';
import { auc } from './metrics.js';
import { seededRandom, shuffleInPlace } from '../random.js';

export interface ImagePrediction {
  /** Name of the most likely label (e.g. "pneumonia"). */
  label: string;
  /** Index of that label. */
  index: number;
  /** Probability of that label, in [0, 1]. */
  probability: number;
}

/**
 * Anything that can label one image. `pixels` is row-major: Uint8Array 0–255 or Float32Array in
 * [0, 1]; one value per pixel (gray) or 3/4 interleaved (RGB/RGBA, reduced to luma). Images of
 * another size are resized to the model's input.
 */
export interface ImageClassifier {
  /** Stable identifier; for the CNN it carries the weights hash. */
  id: string;
  labelNames: readonly string[];
  classify(pixels: Uint8Array | Float32Array, width: number, height: number): Promise<ImagePrediction>;
}

/** A binary CNN plus what is needed to use and identify it. */
export interface ImageCnn {
  model: tf.LayersModel;
  labelNames: string[];
  width: number;
  height: number;
  /**
   * Test-time augmentation: average the prediction on the image and on its left–right mirror.
   * Only for sets trained with flips (BreastMNIST); saved in model.json.
   */
  testTimeFlip?: boolean;
}

export interface CnnSpec {
  width?: number;
  height?: number;
  /** Filters of each conv block (3×3 conv, ReLU, 2×2 max-pool). */
  filters?: number[];
  /** Units of the hidden dense layer before the output. */
  dense?: number;
  dropout?: number;
  /** Batch normalisation after each convolution (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167). */
  batchNorm?: boolean;
  /** Seeds the weight initialisers and dropout, so training is reproducible. */
  seed?: number;
}

/** Builds an untrained CNN: [conv3×3 → (batch norm) → ReLU → maxpool2]×k → flatten → dense → dropout → sigmoid. */
export function createImageCnn(spec: CnnSpec = {}): tf.LayersModel {
  const { width = 28, height = 28, filters = [16, 32, 64], dense = 32, dropout = 0.3, batchNorm = false, seed = 1 } = spec;
  const model = tf.sequential();
  filters.forEach((f, i) => {
    model.add(tf.layers.conv2d({
      ...(i === 0 ? { inputShape: [height, width, 1] } : {}),
      filters: f, kernelSize: 3, padding: 'same', activation: batchNorm ? 'linear' : 'relu', useBias: !batchNorm,
      kernelInitializer: tf.initializers.heNormal({ seed: seed + i }),
    }));
    if (batchNorm) {
      model.add(tf.layers.batchNormalization());
      model.add(tf.layers.reLU());
    }
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  });
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: dense, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: seed + 100 }) }));
  if (dropout > 0) model.add(tf.layers.dropout({ rate: dropout, seed: seed + 200 }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 300 }) }));
  return model;
}

export interface TrainImageOptions extends CnnSpec {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Augmentation while training (default DEFAULT_AUGMENT: shifts of up to 2 pixels, ±10 % intensity); false turns it off. */
  augment?: Partial<AugmentSpec> | false;
  /** When given, the weights of the epoch with the best AUC here are kept (early-stopping choice). */
  validation?: ImageSet;
  /** With a validation set: stop after this many epochs without a better validation AUC. */
  patience?: number;
  log?: (line: string) => void;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  seconds: number;
  validationAuc?: number;
}

/**
 * Importing tfjs-backend-wasm makes wasm the preferred backend, and any op before it is set up
 * fails; so the entry points here start the faster backend (image-backend.ts) unless the caller
 * already chose one.
 */
async function backendReady(): Promise<void> {
  if (!tf.getBackend()) await useImageBackend();
}

/** Trains a fresh CNN on a binary image set. Deterministic for a given seed and backend. */
export async function trainImageCnn(train: ImageSet, options: TrainImageOptions = {}): Promise<{ net: ImageCnn; history: EpochReport[] }> {
  await backendReady();
  const { epochs = 6, batchSize = 64, learningRate = 1e-3, validation, patience = Infinity, log = () => {} } = options;
  const augment = options.augment === false ? undefined : { ...DEFAULT_AUGMENT, ...options.augment };
  const seed = options.seed ?? 1;
  const model = createImageCnn({ ...options, width: train.width, height: train.height, seed });
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'binaryCrossentropy' });
  const net: ImageCnn = { model, labelNames: train.labelNames, width: train.width, height: train.height };
  const random = seededRandom(seed);
  const history: EpochReport[] = [];
  let best: { auc: number; epoch: number; weights: tf.Tensor[] } | undefined;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const order = shuffleInPlace(Array.from({ length: train.count }, (_, i) => i), random);
    let lossSum = 0;
    for (let at = 0; at < order.length; at += batchSize) {
      const batch = order.slice(at, at + batchSize);
      const { x, y } = trainingBatch(train, batch, augment, random);
      const loss = (await model.trainOnBatch(x, y)) as number;
      tf.dispose([x, y]);
      lossSum += loss * batch.length;
    }
    const report: EpochReport = { epoch, loss: lossSum / train.count, seconds: (performance.now() - started) / 1000 };
    if (validation) {
      report.validationAuc = auc(await predictImageSet(net, validation), validation.labels);
      if (!best || report.validationAuc > best.auc) {
        best?.weights.forEach((w) => w.dispose());
        best = { auc: report.validationAuc, epoch, weights: model.getWeights().map((w) => w.clone()) };
      }
    }
    history.push(report);
    log(`  epoch ${epoch}: loss ${report.loss.toFixed(4)}${report.validationAuc === undefined ? '' : `, validation AUC ${report.validationAuc.toFixed(4)}`} (${report.seconds.toFixed(1)} s)`);
    if (best && epoch - best.epoch >= patience) {
      log(`  no better validation AUC for ${patience} epochs: stopping, keeping epoch ${best.epoch}`);
      break;
    }
  }
  if (best) {
    model.setWeights(best.weights);
    best.weights.forEach((w) => w.dispose());
  }
  return { net, history };
}

/** One mini-batch as tensors: the images at `batch` (augmented when a spec is given) and their labels. */
function trainingBatch(train: ImageSet, batch: number[], augment: AugmentSpec | undefined, random: () => number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const size = train.width * train.height;
  const xs = new Float32Array(batch.length * size);
  const ys = new Float32Array(batch.length);
  batch.forEach((i, k) => {
    const src = train.pixels.subarray(i * size, (i + 1) * size);
    const dst = xs.subarray(k * size, (k + 1) * size);
    if (augment) augmentInto(dst, src, train.width, train.height, augment, random);
    else for (let p = 0; p < size; p++) dst[p] = src[p]! / 255;
    ys[k] = train.labels[i]!;
  });
  return { x: tf.tensor4d(xs, [batch.length, train.height, train.width, 1]), y: tf.tensor2d(ys, [batch.length, 1]) };
}

/** Probability of label 1 for every image of a set (batched, no augmentation). */
export async function predictImageSet(net: ImageCnn, set: ImageSet, batchSize = 256): Promise<Float32Array> {
  await backendReady();
  const size = set.width * set.height;
  const out = new Float32Array(set.count);
  for (let at = 0; at < set.count; at += batchSize) {
    const n = Math.min(batchSize, set.count - at);
    const p = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(set.pixels.subarray(at * size, (at + n) * size), (v) => v / 255), [n, set.height, set.width, 1]);
      return predictTensor(net, x);
    });
    out.set(await p.data(), at);
    p.dispose();
  }
  return out;
}

/** The model's probabilities for a batch [n, height, width, 1]; with testTimeFlip, the mean over the image and its mirror. */
function predictTensor(net: ImageCnn, x: tf.Tensor4D): tf.Tensor {
  const p = net.model.predict(x) as tf.Tensor;
  return net.testTimeFlip ? p.add(net.model.predict(tf.reverse(x, 2)) as tf.Tensor).div(2) : p;
}

/** Rank AUC of the CNN on a labelled set (metrics.ts `auc`: Mann–Whitney, ties counted half). */
export async function evaluateImageAuc(net: ImageCnn, set: ImageSet): Promise<number> {
  return auc(await predictImageSet(net, set), set.labels);
}

/** keccak256 over the weight bytes in model order (float32, little-endian), the bytes saved in weights.bin. */
export async function hashImageWeights(model: tf.LayersModel): Promise<Hex> {
  return keccak256(await weightBytes(model));
}

async function weightBytes(model: tf.LayersModel): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    bytes = joinWeightData(artifacts.weightData);
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  return bytes!;
}

function joinWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) throw new Error('model has no weights');
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

const FORMAT = 'medledger-image-cnn/1';

interface SavedManifest {
  format: typeof FORMAT;
  labelNames: string[];
  width: number;
  height: number;
  testTimeFlip?: boolean;
  weightsHash: Hex;
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
}

/** Saves to `dir` (created if missing) as model.json + weights.bin; returns the weights hash. */
export async function saveImageCnn(net: ImageCnn, dir: string): Promise<{ weightsHash: Hex }> {
  let manifest: SavedManifest | undefined;
  let bytes: Uint8Array | undefined;
  await net.model.save(tf.io.withSaveHandler(async (artifacts) => {
    bytes = joinWeightData(artifacts.weightData);
    manifest = {
      format: FORMAT, labelNames: net.labelNames, width: net.width, height: net.height,
      ...(net.testTimeFlip ? { testTimeFlip: true } : {}), weightsHash: keccak256(bytes),
      modelTopology: artifacts.modelTopology as object, weightSpecs: artifacts.weightSpecs ?? [],
    };
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'weights.bin'), bytes!);
  writeFileSync(join(dir, 'model.json'), `${JSON.stringify(manifest)}\n`);
  return { weightsHash: manifest!.weightsHash };
}

/** Loads a directory written by saveImageCnn; refuses weights whose hash differs from the manifest's. */
export async function loadImageCnn(dir: string, expectedHash?: Hex): Promise<{ net: ImageCnn; weightsHash: Hex }> {
  await backendReady();
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as SavedManifest;
  if (manifest.format !== FORMAT) throw new Error(`${dir}/model.json: format ${String(manifest.format)}, expected ${FORMAT}`);
  const bytes = new Uint8Array(readFileSync(join(dir, 'weights.bin')));
  const weightsHash = keccak256(bytes);
  if (weightsHash !== manifest.weightsHash) throw new Error(`${dir}/weights.bin: keccak256 ${weightsHash} does not match the manifest's ${manifest.weightsHash}`);
  if (expectedHash && weightsHash !== expectedHash) throw new Error(`${dir}: weights hash ${weightsHash}, expected ${expectedHash}`);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: manifest.modelTopology, weightSpecs: manifest.weightSpecs, weightData: bytes.slice().buffer,
  }));
  const net: ImageCnn = { model, labelNames: manifest.labelNames, width: manifest.width, height: manifest.height, ...(manifest.testTimeFlip ? { testTimeFlip: true } : {}) };
  return { net, weightsHash };
}

/** Wraps a CNN as an ImageClassifier whose id is `cnn:<weights hash>`. */
export async function cnnClassifier(net: ImageCnn): Promise<ImageClassifier> {
  const id = `cnn:${await hashImageWeights(net.model)}`;
  return {
    id,
    labelNames: net.labelNames,
    async classify(pixels, width, height) {
      const gray = toGrayFloats(pixels, width, height);
      const p = tf.tidy(() => {
        let x: tf.Tensor4D = tf.tensor4d(gray, [1, height, width, 1]);
        if (width !== net.width || height !== net.height) x = tf.image.resizeBilinear(x, [net.height, net.width]);
        return predictTensor(net, x);
      });
      const positive = (await p.data())[0]!;
      p.dispose();
      const index = positive >= 0.5 ? 1 : 0;
      return { label: net.labelNames[index] ?? String(index), index, probability: index === 1 ? positive : 1 - positive };
    },
  };
}

/** One value per pixel in [0, 1]; RGB(A) reduced to BT.601 luma. */
function toGrayFloats(pixels: Uint8Array | Float32Array, width: number, height: number): Float32Array {
  const n = width * height;
  const channels = pixels.length / n;
  if (![1, 3, 4].includes(channels)) throw new Error(`classify: ${pixels.length} values for a ${width}×${height} image (expected 1, 3 or 4 per pixel)`);
  const scale = pixels instanceof Uint8Array ? 1 / 255 : 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * channels;
    out[i] = (channels === 1 ? pixels[at]! : 0.299 * pixels[at]! + 0.587 * pixels[at + 1]! + 0.114 * pixels[at + 2]!) * scale;
  }
  return out;
}

/**
 * Classifies an attachment: a PNG (decoded with image-png.ts) or raw 8-bit grayscale bytes of
 * exactly width×height (28×28 unless told otherwise).
 */
export function classifyImageFile(classifier: ImageClassifier, bytes: Uint8Array, rawSize = { width: 28, height: 28 }): Promise<ImagePrediction> {
  if (isPng(bytes)) {
    const image = decodePng(bytes);
    return classifier.classify(image.pixels, image.width, image.height);
  }
  if (bytes.length !== rawSize.width * rawSize.height) throw new Error(`classifyImageFile: not a PNG and not ${rawSize.width}×${rawSize.height} raw grayscale bytes`);
  return classifier.classify(bytes, rawSize.width, rawSize.height);
}
