/**
 * The trained tabular models shipped in the repository: data/models/<id>/model.json holds the
 * document the manager serves (card + parameters), written by `medledger ml train` (which
 * scripts/train-models.ts runs; see data/models/README.md). Training takes 3–8 s per model on
 * two cores (nested cross-validation, bootstrap intervals, bootstrap refits), so a system start and
 * every `medledger ml` command load the artefact instead, and check it: the card's modelHash must be
 * the hash of the parameters beside it (hashServed, as training computes it), so a card can never
 * describe other parameters than the ones that run. Training is deterministic (seeded), so a re-run
 * writes the same bytes. Node only (reads files).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { trainBreastModel } from './breast/train.js';
import { dataDir } from './data-dir.js';
import { trainHeartModel } from './heart/train.js';
import type { HeartRiskModelDocument } from './heart/types.js';
import { servedParameters } from './served-model.js';
import { hashServed, type TrainOptions } from './served-train.js';

/** The tabular models trained from the vendored data, by id. */
export const SERVED_TRAINERS = {
  'heart-risk': (options: TrainOptions) => trainHeartModel(options).document,
  'breast-cytology': (options: TrainOptions) => trainBreastModel(options).document,
} as const satisfies Record<string, (options: TrainOptions) => HeartRiskModelDocument>;

export type ServedModelId = keyof typeof SERVED_TRAINERS;
export const SERVED_MODEL_IDS = Object.keys(SERVED_TRAINERS) as ServedModelId[];

export const isServedModelId = (id: string): id is ServedModelId => Object.hasOwn(SERVED_TRAINERS, id);

/** data/models/<id>/model.json. */
export function servedArtefactPath(id: ServedModelId, root = dataDir()): string {
  return join(root, 'models', id, 'model.json');
}

/** The document as stored: JSON with a final newline, the same bytes for the same document. */
export function serialiseServed(document: HeartRiskModelDocument): string {
  return `${JSON.stringify(document)}\n`;
}

/** Trains `id` from the vendored data in `options.root` (the data folder). */
export function trainServed(id: ServedModelId, options: TrainOptions = {}): HeartRiskModelDocument {
  return SERVED_TRAINERS[id](options);
}

/** Writes a model document to `path` (default: its place in data/models); returns the path written. */
export function writeServedArtefact(document: HeartRiskModelDocument, path = servedArtefactPath(document.card.id as ServedModelId)): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, serialiseServed(document));
  return path;
}

/** The artefact of `id` if there is one (undefined if not), its card's hash checked against its parameters. */
export function loadServedArtefact(id: ServedModelId, root = dataDir()): HeartRiskModelDocument | undefined {
  const path = servedArtefactPath(id, root);
  if (!existsSync(path)) return undefined;
  let document: HeartRiskModelDocument;
  try {
    document = JSON.parse(readFileSync(path, 'utf8')) as HeartRiskModelDocument;
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message} (retrain with \`medledger ml train ${id}\`)`);
  }
  if (document?.card?.id !== id) throw new Error(`${path}: holds the model ${JSON.stringify(document?.card?.id)}, not ${id}`);
  const hash = hashServed(servedParameters(document));
  if (hash !== document.card.modelHash) {
    throw new Error(`${path}: the card's modelHash ${document.card.modelHash} is not the hash of the parameters beside it (${hash}); retrain with \`medledger ml train ${id}\``);
  }
  return document;
}

/** The shipped artefact of `id`, or (when there is none) the model trained here; `trained` says which. */
export function loadOrTrainServed(id: ServedModelId, options: TrainOptions = {}): { document: HeartRiskModelDocument; trained: boolean } {
  const loaded = loadServedArtefact(id, options.root);
  return loaded ? { document: loaded, trained: false } : { document: trainServed(id, options), trained: true };
}
