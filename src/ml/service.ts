/**
 * The model service a running system starts (src/manager/system.ts): trains the served tabular
 * models from the vendored data (seconds), registers each with its card and document in a
 * ModelRegistry, and, when a chain and its governor are at hand, records each model's hash and
 * consent-set hash in the on-chain ModelRegistry (served-chain.ts), which the card then shows.
 */
import type { Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { trainBreastModel } from './breast/train.js';
import { HEART_HOSPITALS } from './heart-codes.js';
import { trainHeartModel } from './heart/train.js';
import { ModelRegistry } from './registry.js';
import { recordServedModel, type DataSource } from './served-chain.js';
import type { TrainingProgress } from './served-train.js';

export interface ModelServiceOptions {
  log?: (line: string) => void;
  /** Records the models on chain; must be the governor (it accredits the data sources). */
  recorder?: LedgerClient;
  /** The identity pepper of the deployment (for the data sources' identity hashes). */
  pepper?: Hex;
  /** The data folder (default: the repository's data/). */
  root?: string;
}

export const DATA_SOURCES: Record<string, DataSource[]> = {
  'heart-risk': HEART_HOSPITALS.map((h) => ({ identity: `urn:medledger:data-source|uci-heart-${h}` })),
  'breast-cytology': [{ identity: 'urn:medledger:data-source|wdbc-wisconsin' }],
};

export async function startModelService(options: ModelServiceOptions = {}): Promise<ModelRegistry> {
  const log = options.log ?? (() => undefined);
  const registry = new ModelRegistry();
  const progress = (model: string): TrainingProgress => (stage, done, total) => {
    if (done === total) log(`model ${model}: ${stage} done (${total})`);
  };
  for (const [id, train] of [
    ['heart-risk', () => trainHeartModel({ root: options.root, onProgress: progress('heart-risk') })],
    ['breast-cytology', () => trainBreastModel({ root: options.root, onProgress: progress('breast-cytology') })],
  ] as const) {
    const started = Date.now();
    let document;
    try {
      ({ document } = train());
    } catch (err) {
      // The rest of the system works without it; the API then says the model is not served.
      log(`model ${id}: not served: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    const auc = document.card.metrics.auc!;
    log(`model ${id}: trained in ${((Date.now() - started) / 1000).toFixed(1)} s, held-out AUC ${auc.value.toFixed(3)} (95 % ${auc.low.toFixed(3)}–${auc.high.toFixed(3)})`);
    if (options.recorder && options.pepper) {
      try {
        document.card.onChain = await recordServedModel(options.recorder, document.card, DATA_SOURCES[id]!, options.pepper);
        log(`model ${id}: recorded in the ModelRegistry (${document.card.onChain.transactionHash ?? 'recorded before'})`);
      } catch (err) {
        log(`model ${id}: not recorded on chain: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    registry.add({ card: document.card, document });
  }
  return registry;
}
