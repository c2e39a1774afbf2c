/**
 * How the shipped image models are trained (scripts/train-image-models.ts, and the `ml-images`
 * bench when it retrains): one plan per set, chosen on the validation split only (the choices and
 * their validation AUCs are in data/models/README.md). A plan with several seeds trains one CNN per
 * seed, each early-stopped on validation AUC, and joins them into one model that averages their
 * probabilities (a seed ensemble, Lakshminarayanan et al. 2017, https://arxiv.org/abs/1612.01474),
 * saved and hashed like a single CNN.
 */
import * as tf from '@tensorflow/tfjs';
import { evaluateImageAuc, trainImageCnn, type EpochReport, type ImageCnn, type TrainImageOptions } from './image-model.js';
import { loadImageSet, type ImageSet, type ImageSetName } from './images.js';

export interface ImageTrainingPlan {
  /** Everything but the seed, the validation set and the log. */
  options: Omit<TrainImageOptions, 'seed' | 'validation' | 'log'>;
  /** One CNN per seed; more than one makes an ensemble. */
  seeds: number[];
  /** Mirror at prediction time too (set on the final model; each member's epoch is chosen without it). */
  testTimeFlip: boolean;
  /** In words, for the model card. */
  description: string;
}

export const IMAGE_TRAINING_PLANS: Record<ImageSetName, ImageTrainingPlan> = {
  pneumoniamnist: {
    options: { epochs: 6 },
    seeds: [1],
    testTimeFlip: false,
    description: 'One CNN (3 conv blocks 16/32/64, dense 32, dropout 0.3), Adam 1e-3, batch 64, up to 6 epochs, shifts of up to 2 pixels and ±10 % intensity, the epoch with the best validation AUC kept.',
  },
  breastmnist: {
    options: { epochs: 60, patience: 20, batchNorm: true, augment: { flip: true, rotate: 10 } },
    seeds: [1, 2, 3],
    testTimeFlip: true,
    description: 'Mean of 3 CNNs (seeds 1–3; each 3 conv blocks 16/32/64 with batch normalisation, dense 32, dropout 0.3), Adam 1e-3, batch 64, up to 60 epochs, each stopped early on validation AUC (patience 20, best epoch kept); augmentation: left–right flips, rotations up to ±10°, shifts up to 2 pixels, ±10 % intensity; at prediction the image and its mirror are averaged.',
  },
};

export interface TrainedImageModel {
  net: ImageCnn;
  /** One history per seed. */
  histories: EpochReport[][];
  validationAuc: number;
  trainSeconds: number;
  train: ImageSet;
}

/** Trains the plan of `set` on its train split, choosing epochs on its validation split. */
export async function trainImagePlan(set: ImageSetName, log: (line: string) => void = () => {}, plan = IMAGE_TRAINING_PLANS[set]): Promise<TrainedImageModel> {
  const train = loadImageSet(set, 'train');
  const validation = loadImageSet(set, 'val');
  const started = performance.now();
  const members: ImageCnn[] = [];
  const histories: EpochReport[][] = [];
  for (const seed of plan.seeds) {
    log(`${set}: seed ${seed} of ${plan.seeds.join(', ')}, ${train.count} training images`);
    const { net, history } = await trainImageCnn(train, { ...plan.options, seed, validation, log });
    members.push(net);
    histories.push(history);
  }
  const net = { ...(members.length === 1 ? members[0]! : averageImageCnns(members)), testTimeFlip: plan.testTimeFlip };
  const validationAuc = await evaluateImageAuc(net, validation);
  return { net, histories, validationAuc, trainSeconds: (performance.now() - started) / 1000, train };
}

/** One model whose output is the mean of the members' probabilities (same input size, labels and test-time flip). */
export function averageImageCnns(members: ImageCnn[]): ImageCnn {
  const first = members[0];
  if (!first) throw new Error('averageImageCnns: no members');
  const input = tf.input({ shape: [first.height, first.width, 1] });
  const outputs = members.map((m) => m.model.apply(input) as tf.SymbolicTensor);
  const model = tf.model({ inputs: input, outputs: tf.layers.average().apply(outputs) as tf.SymbolicTensor });
  return { ...first, model };
}
