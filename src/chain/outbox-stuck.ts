/**
 * A transaction the node holds but does not mine (outbox.ts): its fee cap fell below the base fee, or
 * it is the account's lowest waiting nonce and the blocks pass it by. It is signed again at the SAME
 * nonce with bumped fees, so that one of the two — never both — is mined. A node takes a transaction
 * in place of a pooled one of the same nonce only when it pays clearly more: geth's pool wants both
 * the tip and the fee cap at least 10 % above the old ones (`--txpool.pricebump`, default 10; EIP-1559
 * https://eips.ethereum.org/EIPS/eip-1559 left replacement to the pools), and anvil and Besu the same.
 */
import { parseTransaction, type TransactionReceipt } from 'viem';
import { sendBytes, signerFor, signIntent, type Fees } from './outbox-deliver.js';
import { knownToNode, receiptOfIntent } from './outbox-node.js';
import { firstLine, noteSent, putEntry, type OutboxChain, type OutboxState } from './outbox-state.js';
import type { OutboxEntry } from './outbox-storage.js';

/** What became of a stuck entry: mined after all (with its receipt), lost (not known to the node: settle), replaced, or kept as it is. */
export type Unstuck = { kind: 'mined'; receipt: TransactionReceipt } | { kind: 'lost' } | { kind: 'replaced'; next: OutboxEntry } | { kind: 'kept' };

/** Raises `v` by the replacement bump (10 %, rounded up, at least 1 wei). */
const bump = (v: bigint) => v + (v + 9n) / 10n + (v === 0n ? 1n : 0n);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** The fees of a replacement: the latest block's, but at least the old fees bumped. */
export function bumpedFees(old: OutboxEntry, latest: Fees): Fees {
  const tx = parseTransaction(old.raw);
  if (latest.type === 'legacy') return { type: 'legacy', gasPrice: max(latest.gasPrice, bump(tx.gasPrice ?? 0n)) };
  const cap = tx.maxFeePerGas ?? tx.gasPrice ?? 0n;
  const tip = tx.maxPriorityFeePerGas ?? tx.gasPrice ?? 0n;
  return { type: 'eip1559', maxFeePerGas: max(latest.maxFeePerGas, bump(cap)), maxPriorityFeePerGas: max(latest.maxPriorityFeePerGas, bump(tip)) };
}

/** The most `entry` pays per gas (its fee cap, or its gas price). */
export function feeCap(entry: OutboxEntry): bigint {
  const tx = parseTransaction(entry.raw);
  return tx.maxFeePerGas ?? tx.gasPrice ?? 0n;
}

/**
 * Signs a stuck `entry` again at its nonce with bumped fees, stores the new entry in its place, then
 * sends it. When the node refuses the replacement the old entry is put back (it is still the one
 * pooled). An entry that pays nothing (a free-gas network) is kept: a bump cannot help it.
 */
export async function unstick(state: OutboxState, chain: OutboxChain, entry: OutboxEntry): Promise<Unstuck> {
  const pc = chain.publicClient;
  const receipt = await receiptOfIntent(pc, entry);
  if (receipt) return { kind: 'mined', receipt };
  if (!(await knownToNode(pc, entry.hash))) return { kind: 'lost' };
  const account = signerFor(chain, entry);
  if (!account || feeCap(entry) === 0n) return { kind: 'kept' };
  const next = await signIntent(state, chain, account, entry.intent!, entry.nonce, [...(entry.replaces ?? []), entry.hash], (latest) => bumpedFees(entry, latest));
  putEntry(state, next, entry); // durable before it leaves, as every entry
  try {
    await sendBytes(chain, next); // unreachable: the next settle finds which of the two the node has
  } catch (err) {
    putEntry(state, entry, next);
    state.replacedBy.delete(entry.hash);
    state.replacedBy.delete(next.hash);
    state.options.onRefused?.(next, firstLine(err));
    return { kind: 'kept' };
  }
  noteSent(state, next);
  state.stats.resigned++;
  state.options.onResign?.(entry, next, 'stuck');
  return { kind: 'replaced', next };
}
