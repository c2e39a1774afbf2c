/**
 * The trained image models shipped in the repository (data/models/<set>/: model.json, weights.bin,
 * card.json; written by scripts/train-image-models.ts, described in data/models/README.md), loaded
 * for the product: the classifier for uploads and the card to show beside its answer. The weights
 * are checked twice on load: against the hash in model.json (loadImageCnn) and against the card's
 * modelHash, so a card can never describe other weights than the ones that run. Node only (reads files).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelCard } from './card.js';
import { dataDir } from './data-dir.js';
import { cnnClassifier, loadImageCnn, type ImageClassifier, type ImageCnn } from './image-model.js';
import type { ImageSetName } from './images.js';

export interface LoadedImageModel {
  set: ImageSetName;
  classifier: ImageClassifier;
  card: ModelCard;
  net: ImageCnn;
}

/** data/models/<set>: where the trained model of a set is kept. */
export function imageModelDir(set: ImageSetName, root = dataDir()): string {
  return join(root, 'models', set);
}

export function readImageModelCard(dir: string): ModelCard {
  try {
    return JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as ModelCard;
  } catch (error) {
    throw new Error(`${join(dir, 'card.json')}: ${(error as Error).message} (retrain with scripts/train-image-models.ts)`);
  }
}

/** The shipped model of `set` (or the one in `dir`), its weights checked against model.json and card.json. */
export async function loadImageModel(set: ImageSetName, dir = imageModelDir(set)): Promise<LoadedImageModel> {
  const card = readImageModelCard(dir);
  const { net, weightsHash } = await loadImageCnn(dir);
  if (weightsHash !== card.modelHash) {
    throw new Error(`${join(dir, 'card.json')}: modelHash ${card.modelHash} does not match the weights (${weightsHash}); the card describes other weights`);
  }
  return { set, classifier: await cnnClassifier(net), card, net };
}
