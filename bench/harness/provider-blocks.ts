/**
 * What one account put in each block of a range (the scale bench): its transactions per block, and
 * for those that publish pointer hashes (updatePointer, updatePointers) how many pointers each carried
 * and the gas each pointer cost. Read from blocks and receipts, as any RPC node serves them.
 */
import { decodeFunctionData, type Address, type PublicClient } from 'viem';
import { medLedgerAbi } from '../../src/chain/generated/contracts.js';

export interface ProviderBlocks {
  /** The account's transactions in each block of the range, in block order. */
  perBlock: number[];
  txs: number;
  /** Pointer-publishing transactions and the pointers they carried. */
  pointerTxs: number;
  pointers: number;
  /** Gas used by the pointer-publishing transactions ÷ their pointers. */
  gasPerPointer: number;
  /** The most pointers one transaction carried. */
  maxPointersPerTx: number;
}

/** Pointers a transaction's input publishes: 1 for updatePointer, its entries for updatePointers, 0 for anything else. */
function pointersIn(input: `0x${string}`): number {
  try {
    const call = decodeFunctionData({ abi: medLedgerAbi, data: input });
    if (call.functionName === 'updatePointer') return 1;
    if (call.functionName === 'updatePointers') return (call.args[0] as readonly unknown[]).length;
  } catch {
    // not a MedLedger call
  }
  return 0;
}

export async function providerBlocks(publicClient: PublicClient, account: Address, fromBlock: bigint, toBlock: bigint): Promise<ProviderBlocks> {
  const from = account.toLowerCase();
  const result: ProviderBlocks = { perBlock: [], txs: 0, pointerTxs: 0, pointers: 0, gasPerPointer: NaN, maxPointersPerTx: 0 };
  let gas = 0n;
  for (let start = fromBlock; start <= toBlock; start += 10n) {
    const numbers = Array.from({ length: Number(toBlock - start + 1n < 10n ? toBlock - start + 1n : 10n) }, (_, i) => start + BigInt(i));
    const blocks = await Promise.all(numbers.map((blockNumber) => publicClient.getBlock({ blockNumber, includeTransactions: true })));
    for (const block of blocks) {
      const mine = block.transactions.filter((tx) => tx.from.toLowerCase() === from);
      result.perBlock.push(mine.length);
      result.txs += mine.length;
      const publishing = mine.map((tx) => ({ tx, pointers: pointersIn(tx.input) })).filter((p) => p.pointers > 0);
      const receipts = await Promise.all(publishing.map((p) => publicClient.getTransactionReceipt({ hash: p.tx.hash })));
      publishing.forEach((p, i) => {
        result.pointerTxs++;
        result.pointers += p.pointers;
        result.maxPointersPerTx = Math.max(result.maxPointersPerTx, p.pointers);
        gas += receipts[i]!.gasUsed;
      });
    }
  }
  if (result.pointers) result.gasPerPointer = Math.round(Number(gas) / result.pointers);
  return result;
}

/** The blocks from the first to the last that hold one of the account's transactions ("while the load needs it"). */
export function busyBlocks(perBlock: readonly number[]): number[] {
  const first = perBlock.findIndex((n) => n > 0);
  if (first < 0) return [];
  const last = perBlock.length - 1 - [...perBlock].reverse().findIndex((n) => n > 0);
  return perBlock.slice(first, last + 1);
}
