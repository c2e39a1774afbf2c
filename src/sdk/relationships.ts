/**
 * Provider and patient actions on relationships: pointers (query + data hash) and Summary status.
 * Queries are validated against the on-chain-safe grammar and normalised before they are hashed.
 */
import { decodeEventLog, encodeAbiParameters, keccak256, stringToHex, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { LedgerError, writeLedger } from '../chain/write.js';
import { normalizePointerQuery } from '../protocol/pointer-query.js';
import { txResult, type TxResult } from './registrar.js';

export const STATUSES = ['none', 'new', 'updated', 'awaiting-approval', 'accepted', 'rejected'] as const;
export type Status = (typeof STATUSES)[number];

/** keccak256 of a query or scope string, as the contract computes it. */
export function hashQuery(query: string): Hex {
  return keccak256(stringToHex(query));
}

/** The patient of a relationship id (its upper 160 bits). */
export function patientOf(relationshipId: bigint): Address {
  return `0x${(relationshipId >> 96n).toString(16).padStart(40, '0')}` as Address;
}

/**
 * The id the relationship between `patient` and `provider` has (or would have), as the contract
 * derives it: the patient in the upper 160 bits, 96 bits of keccak256(abi.encode(patient, provider)).
 */
export function relationshipIdFor(patient: Address, provider: Address): bigint {
  const tag = BigInt(keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'address' }], [patient, provider]))) & ((1n << 96n) - 1n);
  return (BigInt(patient) << 96n) | tag;
}

/** The relationship between `patient` and `provider`, or undefined. */
export async function findRelationship(
  client: LedgerClient,
  { patient, provider }: { patient: Address; provider: Address },
): Promise<bigint | undefined> {
  const id = await client.publicClient.readContract({
    abi: medLedgerAbi,
    address: client.contract,
    functionName: 'relationshipIdOf',
    args: [patient, provider],
  });
  return id === 0n ? undefined : id;
}

/** Opens a relationship with `patient` holding its first pointer. Accredited providers only. */
export async function addRelationship(
  client: LedgerClient,
  { patient, query, dataHash }: { patient: Address; query: string; dataHash: Hex },
): Promise<TxResult & { relationshipId: bigint }> {
  const receipt = await writeLedger(client, 'addRelationship', [patient, normalizePointerQuery(query), dataHash]);
  for (const log of receipt.logs) {
    try {
      const event = decodeEventLog({ abi: medLedgerAbi, data: log.data, topics: log.topics });
      if (event.eventName === 'RelationshipAdded') return { ...txResult(receipt), relationshipId: event.args.relationshipId };
    } catch {
      // not one of ours
    }
  }
  throw new Error('RelationshipAdded event missing from receipt');
}

/** Adds another pointer to the caller's relationship. */
export async function addPointer(
  client: LedgerClient,
  { relationshipId, query, dataHash }: { relationshipId: bigint; query: string; dataHash: Hex },
): Promise<TxResult> {
  return txResult(await writeLedger(client, 'addPointer', [relationshipId, normalizePointerQuery(query), dataHash]));
}

/** Records the new data hash of an existing pointer (the seed's "update PPR"). */
export async function updatePointer(
  client: LedgerClient,
  { relationshipId, query, dataHash }: { relationshipId: bigint; query: string; dataHash: Hex },
): Promise<TxResult> {
  const queryHash = hashQuery(normalizePointerQuery(query));
  return txResult(await writeLedger(client, 'updatePointer', [relationshipId, queryHash, dataHash]));
}

/** Removes a pointer from the caller's relationship. */
export async function removePointer(
  client: LedgerClient,
  { relationshipId, query }: { relationshipId: bigint; query: string },
): Promise<TxResult> {
  const queryHash = hashQuery(normalizePointerQuery(query));
  return txResult(await writeLedger(client, 'removePointer', [relationshipId, queryHash]));
}

/** The data hash currently stored for `query` on a relationship, or undefined. */
export async function getPointer(
  client: LedgerClient,
  { relationshipId, query }: { relationshipId: bigint; query: string },
): Promise<Hex | undefined> {
  const hash = await client.publicClient.readContract({
    abi: medLedgerAbi,
    address: client.contract,
    functionName: 'pointerOf',
    args: [relationshipId, hashQuery(normalizePointerQuery(query))],
  });
  return /^0x0{64}$/.test(hash) ? undefined : hash;
}

/**
 * The provider's one step for a new or changed record: opens the relationship if there is none, adds
 * the pointer if the query is new, else updates its hash.
 */
export async function addRecordPointer(
  client: LedgerClient,
  { patient, query, dataHash }: { patient: Address; query: string; dataHash: Hex },
): Promise<TxResult & { relationshipId: bigint; action: 'addRelationship' | 'addPointer' | 'updatePointer' }> {
  if (!client.account) throw new Error('adding a record pointer needs the provider account');
  const relationshipId = await findRelationship(client, { patient, provider: client.account.address });
  if (relationshipId === undefined) {
    return { ...(await addRelationship(client, { patient, query, dataHash })), action: 'addRelationship' };
  }
  const existing = await getPointer(client, { relationshipId, query });
  if (existing === undefined) {
    return { ...(await addPointer(client, { relationshipId, query, dataHash })), relationshipId, action: 'addPointer' };
  }
  return { ...(await updatePointer(client, { relationshipId, query, dataHash })), relationshipId, action: 'updatePointer' };
}

/** Sets the Summary status to new, updated or awaiting-approval. The relationship's provider only. */
export async function setStatus(
  client: LedgerClient,
  { relationshipId, status }: { relationshipId: bigint; status: 'new' | 'updated' | 'awaiting-approval' },
): Promise<TxResult> {
  const index = STATUSES.indexOf(status);
  if (index < 1 || index > 3) throw new LedgerError('InvalidStatus', [status], `a provider cannot set status "${status}"`);
  return txResult(await writeLedger(client, 'setStatus', [relationshipId, index]));
}

/** Accepts or rejects a relationship in the patient's Summary. The patient only. */
export async function respond(
  client: LedgerClient,
  { relationshipId, accept }: { relationshipId: bigint; accept: boolean },
): Promise<TxResult> {
  return txResult(await writeLedger(client, 'respond', [relationshipId, accept]));
}
