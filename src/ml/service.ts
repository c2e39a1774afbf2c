/**
 * The model service a running system starts (src/manager/system.ts): loads the served tabular
 * models from their artefacts in data/models (served-artefacts.ts, hash-checked; trained here from the
 * vendored data only when an artefact is missing), registers each with its card and document in a
 * ModelRegistry, and, when a chain and its governor are at hand, records each model's hash and
 * consent-set hash in the on-chain ModelRegistry (served-chain.ts), which the card then shows. It
 * also registers the outbreak forecast's and the image classifiers' cards, read from their artefacts,
 * and records those too (recordServedModels; the system records the document classifier's once it
 * has trained it).
 */
import type { Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { HEART_HOSPITALS } from './heart-codes.js';
import { readOutbreakCard } from './outbreak-card.js';
import { imageModelDir, readImageModelCard } from './image-artefacts.js';
import { IMAGE_SETS } from './images.js';
import { ModelRegistry } from './registry.js';
import { loadOrTrainServed, SERVED_MODEL_IDS } from './served-artefacts.js';
import { recordServedModel, type DataSource } from './served-chain.js';
import type { TrainingProgress } from './served-train.js';

export interface ModelServiceOptions {
  log?: (line: string) => void;
  /** Records the models on chain; must be the governor (it accredits the data sources). */
  recorder?: LedgerClient;
  /** The identity pepper of the deployment (for the data sources' identity hashes). */
  pepper?: Hex;
  /** The data folder with the vendored data and data/models (default: the repository's data/). */
  root?: string;
}

const source = (name: string): DataSource => ({ identity: `urn:medledger:data-source|${name}` });

/** Where each served model's training data came from: the centres (or public collections) named on chain. */
export const DATA_SOURCES: Record<string, DataSource[]> = {
  'heart-risk': HEART_HOSPITALS.map((h) => source(`uci-heart-${h}`)),
  'breast-cytology': [source('wdbc-wisconsin')],
  'outbreak-forecast': [source('r-surveillance-influenza-de'), source('r-surveillance-salmonella-agona-uk'), source('r-surveillance-campylobacter-de')],
  'pneumonia-xray-cnn': [source('medmnist-pneumoniamnist')],
  'breast-ultrasound-cnn': [source('medmnist-breastmnist')],
  'document-classifier': [source('medical-abstracts-tc')],
};

/**
 * Records every served model whose card is not on chain yet in the ModelRegistry (hash, consent-set
 * hash, data sources), so each card shows its on-chain record. A failure leaves that card unrecorded
 * (the card says so); the system runs on.
 */
export async function recordServedModels(registry: ModelRegistry, recorder: LedgerClient, pepper: Hex, log: (line: string) => void = () => undefined): Promise<void> {
  for (const card of registry.list()) {
    const sources = DATA_SOURCES[card.id];
    if (card.onChain || !sources) continue;
    try {
      card.onChain = await recordServedModel(recorder, card, sources, pepper);
      log(`model ${card.id}: recorded in the ModelRegistry (${card.onChain.transactionHash ?? 'recorded before'})`);
    } catch (err) {
      log(`model ${card.id}: not recorded on chain: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

export async function startModelService(options: ModelServiceOptions = {}): Promise<ModelRegistry> {
  const log = options.log ?? (() => undefined);
  const registry = new ModelRegistry();
  const progress = (model: string): TrainingProgress => (stage, done, total) => {
    if (done === total) log(`model ${model}: ${stage} done (${total})`);
  };
  for (const id of SERVED_MODEL_IDS) {
    const started = Date.now();
    let document, trained;
    try {
      ({ document, trained } = loadOrTrainServed(id, { root: options.root, onProgress: progress(id) }));
    } catch (err) {
      // The rest of the system works without it; the API then says the model is not served.
      log(`model ${id}: not served: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    const how = trained ? `no artefact in data/models/${id}: trained in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'loaded from its artefact';
    const auc = document.card.metrics.auc!;
    log(`model ${id}: ${how}, held-out AUC ${auc.value.toFixed(3)} (95 % ${auc.low.toFixed(3)}–${auc.high.toFixed(3)})`);
    registry.add({ card: document.card, document });
  }
  try {
    // The outbreak forecast runs on the server (the public-health view); its card is the benchmark's figures.
    registry.add({ card: readOutbreakCard(options.root) });
  } catch (err) {
    log(`model outbreak-forecast: no card: ${(err as Error).message.split('\n')[0]}`);
  }
  // The image classifiers run in the provider's process on uploads (document-service.ts); their cards
  // are read from the shipped artefacts, which loadImageModel checks against the weights when used.
  for (const set of IMAGE_SETS) {
    try {
      registry.add({ card: readImageModelCard(imageModelDir(set, options.root)) });
    } catch (err) {
      log(`image model ${set}: no card: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (options.recorder && options.pepper) await recordServedModels(registry, options.recorder, options.pepper, log);
  return registry;
}
