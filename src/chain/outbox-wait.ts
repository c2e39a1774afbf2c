/**
 * Waiting for the receipt of a transaction just sent through the outbox (outbox.ts), sending it
 * again — or its intent signed again — whenever the node lost it meanwhile.
 */
import type { TransactionReceipt } from 'viem';
import { redeliver, resign } from './outbox-deliver.js';
import { isUnreachable, knownToNode, nonceTakenByAnother, receiptOf } from './outbox-node.js';
import { dropEntry, type OutboxChain, type OutboxState } from './outbox-state.js';
import type { OutboxEntry } from './outbox-storage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the receipt of `entry` (or of what stands for its intent by then), up to `timeoutMs`. */
export async function awaitReceipt(state: OutboxState, chain: OutboxChain, entry: OutboxEntry, timeoutMs: number): Promise<TransactionReceipt> {
  const pc = chain.publicClient;
  const deadline = Date.now() + timeoutMs;
  let current = entry;
  let polls = 0;
  let suspect = false;
  for (;;) {
    try {
      const receipt = await receiptOf(pc, current.hash);
      if (receipt) {
        state.minedAt.set(current.hash, receipt.blockNumber);
        return receipt;
      }
      // Not mined yet. Now and then (and after the node was unreachable) make sure it still has it.
      if (suspect || ++polls % 10 === 0) {
        suspect = false;
        if (!(await knownToNode(pc, current.hash))) current = await recover(state, chain, current);
      }
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      suspect = true; // the node went away: it may come back without our transaction
    }
    if (Date.now() > deadline) throw new Error(`no receipt for ${current.hash} within ${timeoutMs / 1000} s (kept in the outbox)`);
    await sleep(chain.pollingIntervalMs);
  }
}

/** The node does not know `entry`: sends it again, or its intent signed again; resolves with what stands for it now. */
async function recover(state: OutboxState, chain: OutboxChain, entry: OutboxEntry): Promise<OutboxEntry> {
  const next = await chain.publicClient.getTransactionCount({ address: entry.from, blockTag: 'pending' });
  if (next <= entry.nonce) return (await redeliver(state, chain, entry)) ?? entry;
  if (!(await nonceTakenByAnother(chain.publicClient, entry))) return entry; // mined meanwhile, or the reads disagree: look again
  const again = await resign(state, chain, entry, 'nonce');
  if (again) return again;
  dropEntry(state, entry, 'replaced');
  throw new Error(`transaction ${entry.hash} was replaced: nonce ${entry.nonce} is used by another transaction`);
}
