/**
 * Batched pointer publishing (issue 19): the new data hashes of many pointers, across any of the
 * provider's relationships, in as few transactions as a block allows (MedLedger.updatePointers).
 */
import type { Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { LedgerError, writeLedger } from '../chain/write.js';
import { normalizePointerQuery } from '../protocol/pointer-query.js';
import { txResult, type TxResult } from './registrar.js';
import { hashQuery } from './relationships.js';

/** One pointer's new data hash: as updatePointer takes it. */
export interface PointerUpdate {
  relationshipId: bigint;
  query: string;
  dataHash: Hex;
}

/**
 * Entries per transaction. Measured (bench/gas.ts, batches of 100 pointers of 100 relationships): an
 * entry costs at most about 15,600 gas (a cold relationship and pointer, the pointer stored, the
 * status changed to Updated, two events, 96 bytes of calldata; `gas.updatePointersFirstAverage`),
 * about 11,000 when the status already is Updated (`gas.updatePointersPerPointer`). 500 entries are
 * at most about 7.8 M gas: about a quarter of a 30 M block, so a chunk never needs an empty block and
 * leaves room for other senders; under the 16.7 M per-transaction cap of EIP-7825; 48 KB of calldata,
 * well under the 128 KB transaction-pool limit of common clients. test/gas.test.ts holds it there.
 */
export const POINTER_BATCH_SIZE = 500;

/** A batch refused by the contract: the chunks before it are mined (`published` entries), none after. */
export class PointerBatchError extends LedgerError {
  constructor(
    cause: LedgerError,
    readonly published: number,
  ) {
    super(cause.errorName, cause.errorArgs, `${cause.message} (after ${published} pointer updates were published)`);
    this.name = 'PointerBatchError';
  }
}

/**
 * Records the new data hash of many pointers of the caller's relationships: one transaction per
 * `chunkSize` entries (POINTER_BATCH_SIZE), sent one after another, in the order given. Each
 * transaction is all or nothing: a refused entry (NotRelationshipProvider, UnknownPointer, …) fails its
 * chunk with that entry's error as a PointerBatchError saying how many entries the earlier chunks
 * published; later chunks are not sent. An empty list sends nothing.
 */
export async function updatePointers(
  client: LedgerClient,
  updates: readonly PointerUpdate[],
  { chunkSize = POINTER_BATCH_SIZE }: { chunkSize?: number } = {},
): Promise<TxResult[]> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, not ${chunkSize}`);
  const entries = updates.map(({ relationshipId, query, dataHash }) => ({ relationshipId, queryHash: hashQuery(normalizePointerQuery(query)), dataHash }));
  const results: TxResult[] = [];
  for (let start = 0; start < entries.length; start += chunkSize) {
    try {
      results.push(txResult(await writeLedger(client, 'updatePointers', [entries.slice(start, start + chunkSize)])));
    } catch (err) {
      if (err instanceof LedgerError) throw new PointerBatchError(err, start);
      throw err;
    }
  }
  return results;
}
