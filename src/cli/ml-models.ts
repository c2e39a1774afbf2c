/**
 * Where the `medledger ml` commands get their models: the tabular models (heart-risk,
 * breast-cytology) from their hash-checked artefacts in data/models (src/ml/served-artefacts.ts),
 * trained here with a progress bar on stderr only when an artefact is missing or by `ml train`; the
 * cards of every model a running system serves (`ml card`), read from the same places the system
 * reads them: image models from data/models/<set> (checked against their weights), the outbreak
 * forecast's card from data/models/outbreak-forecast/card.json, and the document classifier trained
 * here as the system trains it at start (about a second; it has no artefact).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelCard } from '../ml/card.js';
import { dataDir } from '../ml/data-dir.js';
import { DOCUMENT_MODEL_ID, trainServedDocumentModel } from '../ml/document-model.js';
import type { HeartRiskModelDocument } from '../ml/heart/types.js';
import type { ImageSetName } from '../ml/images.js';
import { IMAGE_MODEL_INFO } from '../ml/image-card.js';
import { OUTBREAK_CARD_ID, readOutbreakCard } from '../ml/outbreak-card.js';
import { isServedModelId, loadServedArtefact, SERVED_MODEL_IDS, trainServed, type ServedModelId } from '../ml/served-artefacts.js';
import type { TrainingProgress } from '../ml/served-train.js';

const IMAGE_MODEL_IDS: readonly ImageSetName[] = ['breastmnist', 'pneumoniamnist'];

/** Every model `ml card` knows: those a running system serves (an image model by its card's id or its data set's name). */
export const CARD_MODEL_IDS = [...SERVED_MODEL_IDS, DOCUMENT_MODEL_ID, ...IMAGE_MODEL_IDS.map((set) => IMAGE_MODEL_INFO[set].id), OUTBREAK_CARD_ID];

const imageSetOf = (id: string) => IMAGE_MODEL_IDS.find((set) => set === id || IMAGE_MODEL_INFO[set].id === id);

export const servedIds = () => SERVED_MODEL_IDS.join(', ');

/** A progress bar on stderr (one line per stage when stderr is not a terminal). */
function progressBar(id: string): TrainingProgress {
  const tty = process.stderr.isTTY;
  return (stage, done, total) => {
    const width = 20;
    const filled = Math.round((width * done) / Math.max(1, total));
    const line = `training ${id}: [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${stage} ${done}/${total}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (done === total) process.stderr.write(`${line}\n`);
  };
}

/** Trains `id` here from the vendored data, drawing a progress bar on stderr. */
export function trainWithProgress(id: ServedModelId): HeartRiskModelDocument {
  const started = Date.now();
  const doc = trainServed(id, { onProgress: progressBar(id) });
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}trained ${id} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return doc;
}

/** The served document of `id`: its artefact (hash-checked), or trained here when there is none. */
export function servedDocument(id: string): HeartRiskModelDocument {
  if (!isServedModelId(id)) throw new Error(`unknown model "${id}": the models are ${servedIds()}`);
  const loaded = loadServedArtefact(id);
  if (loaded) return loaded;
  process.stderr.write(`note: no artefact in data/models/${id} (run \`medledger ml train ${id}\`); training here\n`);
  return trainWithProgress(id);
}

/** The card of any model a running system serves, from where the system gets it. */
export async function modelCard(id: string): Promise<ModelCard> {
  if (isServedModelId(id)) return servedDocument(id).card;
  if (id === DOCUMENT_MODEL_ID) {
    process.stderr.write('training the document classifier on the medical abstracts, as the system does at start…\n');
    return trainServedDocumentModel().card;
  }
  if (id === OUTBREAK_CARD_ID) return readOutbreakCard();
  const set = imageSetOf(id);
  if (!set) throw new Error(`unknown model "${id}": the models are ${CARD_MODEL_IDS.join(', ')}`);
  const dir = join(dataDir(), 'models', set);
  if (!existsSync(join(dir, 'card.json'))) throw new Error(`the ${set} model is not trained: data/models/${set} has no card.json (see scripts/train-image-models.ts)`);
  // Checks the card against the weights (tfjs loads only here), as the upload service does.
  const { loadImageModel } = await import('../ml/image-artefacts.js');
  return (await loadImageModel(set, dir)).card;
}
