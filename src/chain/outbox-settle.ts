/**
 * One settle of the outbox (outbox.ts): per account, in nonce order, lost entries go out again and
 * entries buried deep enough on the canonical chain leave. An entry leaves only on evidence read so
 * that a node restart between two reads cannot fake it (outbox-node.ts).
 */
import type { Address } from 'viem';
import { redeliver, resign } from './outbox-deliver.js';
import { isUnreachable, knownToNode, nonceTakenByAnother, onCanonicalChain, receiptOfIntent } from './outbox-node.js';
import { dropEntry, type OutboxChain, type OutboxState } from './outbox-state.js';
import type { OutboxEntry } from './outbox-storage.js';

export interface SettleResult {
  /** Entries sent again because the chain had lost them (the same bytes, or signed again). */
  resubmitted: OutboxEntry[];
  /** Entries still kept (sent, not yet deep enough). */
  pending: number;
}

/** Re-sends what the chain lost (in nonce order) and drops what is deep enough or was replaced. */
export async function settleNow(state: OutboxState, chain: OutboxChain): Promise<SettleResult> {
  const resubmitted: OutboxEntry[] = [];
  const mine = state.entries.filter((e) => e.chainId === chain.chainId);
  if (mine.length === 0) return { resubmitted, pending: state.entries.length };
  const latest = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
  for (const from of new Set(mine.map((e) => e.from))) {
    const own = mine.filter((e) => e.from === from).sort((a, b) => a.nonce - b.nonce);
    await settleAccount(state, chain, from, own, latest, resubmitted);
  }
  return { resubmitted, pending: state.entries.length };
}

async function settleAccount(state: OutboxState, chain: OutboxChain, from: Address, own: OutboxEntry[], latest: bigint, resubmitted: OutboxEntry[]): Promise<void> {
  const pc = chain.publicClient;
  const young = BigInt(state.options.stuckAfterBlocks ?? 3);
  const next = await pc.getTransactionCount({ address: from, blockTag: 'pending' });
  for (const entry of own) {
    if (entry.nonce >= next) {
      // Every nonce below ours is taken, and ours is free again: the chain lost this transaction.
      try {
        const sent = await redeliver(state, chain, entry);
        if (sent) resubmitted.push(sent);
      } catch (err) {
        if (isUnreachable(err)) throw err;
        // Refused (reported by redeliver): it stays, and no later transaction of ours can pass it.
      }
      continue;
    }
    // Our nonce is used: by this transaction (mined, or waiting in the pool), or by another one.
    const seen = state.minedAt.get(entry.hash);
    if (seen !== undefined && latest - seen + 1n < state.confirmations) continue;
    // Signed by this process a block or two ago: the receipt tracker (outbox-wait.ts) watches it, and
    // judging it here would cost two calls per transaction in flight on every settle.
    const signed = state.signedAt.get(entry.hash);
    if (seen === undefined && signed !== undefined && latest - signed < young) continue;
    const receipt = await receiptOfIntent(pc, entry);
    if (receipt) {
      state.minedAt.set(entry.hash, receipt.blockNumber);
      if (await buried(chain, receipt.blockNumber, state.confirmations, () => onCanonicalChain(pc, receipt))) dropEntry(state, entry, 'confirmed');
      continue;
    }
    if (await knownToNode(pc, entry.hash)) continue;
    if (!(await nonceTakenByAnother(pc, entry))) continue; // the reads disagree (a restart in between): next round
    const again = await resign(state, chain, entry, 'nonce');
    if (again) resubmitted.push(again);
    else dropEntry(state, entry, 'replaced');
  }
}

/** Whether a receipt of block `mined` is `confirmations` deep now, on the canonical chain (checked first, the depth read after it). */
async function buried(chain: OutboxChain, mined: bigint, confirmations: bigint, canonical: () => Promise<boolean>): Promise<boolean> {
  if (!(await canonical())) return false;
  const latest = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
  return latest - mined + 1n >= confirmations;
}
