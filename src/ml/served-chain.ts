/**
 * Records a served model in the ModelRegistry (contracts/ModelRegistry.sol, through src/sdk/models.ts):
 * its parameters' hash and the consent-set hash of its training patients, with the data sources it
 * came from. The contract takes accredited providers as sources; the vendored data sets' centres
 * (the UCI heart hospitals, the Wisconsin clinic) are not MedLedger providers, so each gets a
 * stand-in address derived from its name (nobody holds its key) that the system's governor accredits
 * under the centre's identity, the way heartPatientAddress stands in for the 1988 patients.
 * Idempotent: a model already recorded by the same recorder is looked up, not recorded twice.
 */
import { getAddress, keccak256, slice, stringToHex, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { accreditProvider, getAccount } from '../sdk/registrar.js';
import { hashIdentity } from '../sdk/identity.js';
import { lastModelRound, modelHistory, modelIdOf, modelRecordOf, recordModelRound } from '../sdk/models.js';
import type { ModelCard } from './card.js';

/** A centre a data set came from: its identity string, e.g. `urn:medledger:data-source|uci-heart-cleveland`. */
export interface DataSource {
  identity: string;
}

/** The stand-in address of a data source (derived from its identity; no key exists for it). */
export function dataSourceAddress(source: DataSource): Address {
  return getAddress(slice(keccak256(stringToHex(`medledger:data-source:${source.identity}`)), 12));
}

/**
 * Records `card`'s model (hash and consent set) as `recorder` (who must be the governor, to accredit
 * the sources), unless it already did; returns the card's `onChain` field.
 */
export async function recordServedModel(recorder: LedgerClient, card: ModelCard, sources: readonly DataSource[], pepper: Hex): Promise<NonNullable<ModelCard['onChain']>> {
  if (!recorder.account) throw new Error('recording a model needs a signing account');
  if (!recorder.modelRegistry) throw new Error('this deployment has no ModelRegistry');
  const me = recorder.account.address;
  const providers: Address[] = [];
  for (const source of sources) {
    const provider = dataSourceAddress(source);
    if (!(await getAccount(recorder, provider)).accredited) await accreditProvider(recorder, { provider, identityHash: hashIdentity(source.identity, pepper) });
    providers.push(provider);
  }
  const base = { registry: recorder.modelRegistry, modelHash: card.modelHash, consentSetHash: card.consentSetHash };
  if (await modelRecordOf(recorder, { recorder: me, modelHash: card.modelHash })) {
    const [round] = await modelHistory(recorder, { modelHash: card.modelHash, recorder: me });
    return { ...base, ...(round ? { transactionHash: round.transactionHash, blockNumber: round.blockNumber.toString() } : {}) };
  }
  const modelId = modelIdOf(card.id);
  const round = (await lastModelRound(recorder, { recorder: me, modelId })) + 1;
  const r = await recordModelRound(recorder, { modelId, round, modelHash: card.modelHash, consentSetHash: card.consentSetHash, providers });
  return { ...base, transactionHash: r.transactionHash, blockNumber: r.blockNumber.toString() };
}

/** Who recorded a model with this hash, as the chain has it (first recording), or null. */
export async function onChainRecordOf(client: LedgerClient, card: ModelCard): Promise<ModelCard['onChain']> {
  if (!client.modelRegistry) return null;
  const [round] = await modelHistory(client, { modelHash: card.modelHash });
  if (!round) return null;
  return { registry: client.modelRegistry, modelHash: round.modelHash, consentSetHash: round.consentSetHash, transactionHash: round.transactionHash, blockNumber: round.blockNumber.toString() };
}
