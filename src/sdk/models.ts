/**
 * Model provenance on chain: which consent set and which providers' data each trained model (or
 * each round of a federated run) came from. Anyone may record; a record is its recorder's claim, so
 * it is looked up by (recorder, model hash). The records live in the ModelRegistry contract deployed
 * beside MedLedger (contracts/ModelRegistry.sol; its address is `client.modelRegistry`).
 *
 * @example
 * const modelHash = hashModel(model);
 * await recordModelRound(researcher, { modelId: modelIdOf('cardio-risk-2025'), round: 1, modelHash, consentSetHash, providers });
 * const record = await modelRecordOf(anyone, { recorder: researcherAddress, modelHash });
 */
import {
  encodeFunctionData,
  getAbiItem,
  getAddress,
  keccak256,
  stringToHex,
  type Address,
  type ContractFunctionArgs,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { modelRegistryAbi } from '../chain/generated/contracts.js';
import { LedgerError, sendRaw, toLedgerError } from '../chain/write.js';
import { txResult, type TxResult } from './registrar.js';

/** The ModelRegistry of the client's deployment. */
function registryOf(client: LedgerClient): Address {
  if (!client.modelRegistry) throw new Error('this deployment has no ModelRegistry (deployed before it existed: redeploy, or set its address)');
  return client.modelRegistry;
}

/** A model id from a human-readable name (the contract takes any non-zero bytes32). */
export function modelIdOf(name: string): Hex {
  return keccak256(stringToHex(`medledger:model:${name}`));
}

/** Addresses in the order the contract requires: ascending as numbers, checksummed. */
export function sortAddresses(addresses: readonly string[]): Address[] {
  return addresses.map((a) => getAddress(a)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

/**
 * Records that the model with hash `modelHash` (round `round` of the caller's model `modelId`) was
 * trained on `consentSetHash` from the data of `providers` (any order; sent sorted). Throws
 * LedgerError InvalidModelRecord, ProvidersNotSorted (empty or duplicated), NotAccredited,
 * RoundNotAfter or ModelAlreadyRecorded.
 */
export async function recordModelRound(
  client: LedgerClient,
  params: { modelId: Hex; round: number; modelHash: Hex; consentSetHash: Hex; providers: readonly Address[] },
): Promise<TxResult & { providers: Address[] }> {
  const providers = sortAddresses(params.providers);
  const receipt = await writeModelRegistry(client, [params.modelId, params.round, params.modelHash, params.consentSetHash, providers]);
  return { ...txResult(receipt), providers };
}

/**
 * Sends recordModelRound with `args` as given (no sorting), as writeLedger (src/chain/write.ts) does
 * for MedLedger: the estimate surfaces the contract's custom error as a LedgerError.
 */
export async function writeModelRegistry(
  client: LedgerClient,
  args: ContractFunctionArgs<typeof modelRegistryAbi, 'nonpayable', 'recordModelRound'>,
): Promise<TransactionReceipt> {
  if (!client.account) throw new Error('recording a model round needs a signing account');
  const account = client.account;
  const address = registryOf(client);
  const call = { abi: modelRegistryAbi, functionName: 'recordModelRound', args } as const;
  const gas = await client.publicClient.estimateContractGas({ ...call, address, account }).catch(toLedgerError);
  const tx = { to: address, data: encodeFunctionData(call), gas: (gas * 12n) / 10n + 5_000n };
  const receipt = await sendRaw(client.publicClient, account, client.chainId, tx, client.pollingIntervalMs, client.outbox);
  if (receipt.status !== 'success') throw new LedgerError('Reverted', [], `transaction ${receipt.transactionHash} reverted`);
  return receipt;
}

/** What a recorder recorded for a model. */
export interface ModelRecord {
  consentSetHash: Hex;
  round: number;
  /** Block number of the recording. */
  recordedAt: bigint;
}

/** The record `recorder` made for `modelHash`, or undefined when they recorded none. */
export async function modelRecordOf(
  client: LedgerClient,
  { recorder, modelHash, blockNumber }: { recorder: Address; modelHash: Hex; blockNumber?: bigint },
): Promise<ModelRecord | undefined> {
  const r = await client.publicClient.readContract({
    abi: modelRegistryAbi,
    address: registryOf(client),
    functionName: 'modelRecordOf',
    args: [recorder, modelHash],
    blockNumber,
  });
  return BigInt(r.consentSetHash) === 0n ? undefined : { consentSetHash: r.consentSetHash, round: r.round, recordedAt: r.recordedAt };
}

/** The last round of `modelId` that `recorder` recorded (0 = none). */
export async function lastModelRound(client: LedgerClient, { recorder, modelId }: { recorder: Address; modelId: Hex }): Promise<number> {
  return client.publicClient.readContract({ abi: modelRegistryAbi, address: registryOf(client), functionName: 'lastModelRound', args: [recorder, modelId] });
}

/** One recorded round, as its event has it. */
export interface ModelRound {
  modelId: Hex;
  round: number;
  modelHash: Hex;
  consentSetHash: Hex;
  providers: Address[];
  recorder: Address;
  blockNumber: bigint;
  transactionHash: Hex;
}

const modelRoundRecorded = getAbiItem({ abi: modelRegistryAbi, name: 'ModelRoundRecorded' });

/**
 * Recorded rounds from the ModelRoundRecorded events, oldest first, filtered by any of model id,
 * model hash (who recorded this model file?) and recorder.
 */
export async function modelHistory(
  client: LedgerClient,
  filter: { modelId?: Hex; modelHash?: Hex; recorder?: Address; toBlock?: bigint },
): Promise<ModelRound[]> {
  const logs = await client.publicClient.getLogs({
    address: registryOf(client),
    event: modelRoundRecorded,
    args: { modelId: filter.modelId, modelHash: filter.modelHash, recorder: filter.recorder },
    fromBlock: client.deployBlock,
    toBlock: filter.toBlock ?? 'latest',
  });
  return logs.map((l) => ({
    modelId: l.args.modelId!,
    round: l.args.round!,
    modelHash: l.args.modelHash!,
    consentSetHash: l.args.consentSetHash!,
    providers: [...l.args.providers!],
    recorder: l.args.recorder!,
    blockNumber: l.blockNumber,
    transactionHash: l.transactionHash,
  }));
}
