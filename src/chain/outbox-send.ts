/**
 * New sends of the outbox (outbox.ts), a batch at a time: the sends of one account that queued up
 * while the outbox was busy get consecutive nonces, are signed with the fees of one block, stored
 * with one durable write (a write of the whole list with fsync costs tens of milliseconds once
 * hundreds of entries are kept, so one per send would cap an account far below a block's worth)
 * and then sent in nonce order.
 */
import type { Address, Hex, LocalAccount } from 'viem';
import { resign, signAt } from './outbox-deliver.js';
import { feesFor } from './fees.js';
import { alreadyKnown, feeTooLow, isUnreachable } from './outbox-node.js';
import { settleNow } from './outbox-settle.js';
import { accountKey, dropEntry, nextNonce, noteSent, putEntries, unstore, type OutboxChain, type OutboxState } from './outbox-state.js';
import type { OutboxEntry, OutboxIntent } from './outbox-storage.js';

/** A transaction to send: `gas` may be a function, estimated only after the outbox re-sent what the chain lost (those change the state). */
export interface OutboxTx {
  to?: Address;
  data: Hex;
  value?: bigint;
  gas: bigint | (() => Promise<bigint>);
}

/** One send waiting for its turn: resolved with its entry once the node has it. */
export interface QueuedSend {
  readonly signing: OutboxChain & { account: LocalAccount };
  readonly tx: OutboxTx;
  resolve(entry: OutboxEntry): void;
  reject(err: unknown): void;
}

/**
 * The nonce of a new send: the one expected next, when the node's pending count agrees; otherwise
 * (the first send of this process, or the node lost something) after a full settle.
 */
async function nonceFor(state: OutboxState, chain: OutboxChain, from: Address): Promise<number> {
  const expected = state.expected.get(accountKey(chain.chainId, from));
  const pending = expected === undefined ? undefined : await chain.publicClient.getTransactionCount({ address: from, blockTag: 'pending' });
  if (expected !== undefined && pending === expected) return expected;
  await settleNow(state, chain);
  return nextNonce(state, chain, from);
}

const intentOf = (tx: OutboxTx, gas: bigint): OutboxIntent => ({
  ...(tx.to ? { to: tx.to } : {}),
  data: tx.data,
  gas: gas.toString(),
  ...(tx.value ? { value: tx.value.toString() } : {}),
});

/**
 * Signs, stores and sends `batch` (sends of one account, in the order they came). Runs under the
 * outbox's lock. A send whose gas estimate fails (the contract would revert) is rejected and takes no
 * nonce. When the node refuses one (for another reason than its fee), it is dropped and rejected; the
 * ones after it in the batch were not sent (they would wait behind a nonce gap for ever) and are
 * returned, removed from the outbox, to be sent again with fresh nonces.
 */
export async function sendBatch(state: OutboxState, batch: readonly QueuedSend[]): Promise<QueuedSend[]> {
  const { signing } = batch[0]!;
  const pc = signing.publicClient;
  const first = await nonceFor(state, signing, signing.account.address.toLowerCase() as Address);
  // The gas is estimated after the re-sends of what the chain lost (nonceFor): those change the state.
  const gases = await Promise.allSettled(batch.map(async (s) => (typeof s.tx.gas === 'function' ? s.tx.gas() : s.tx.gas)));
  const ready = batch.flatMap((s, i) => {
    const gas = gases[i]!;
    if (gas.status === 'fulfilled') return [{ send: s, gas: gas.value }];
    s.reject(gas.reason);
    return [];
  });
  if (ready.length === 0) return [];
  const block = await pc.getBlock({ blockTag: 'latest' });
  const at = { number: block.number, fees: await feesFor(pc, block.baseFeePerGas) };
  const entries = await Promise.all(ready.map((r, k) => signAt(state, signing, signing.account, intentOf(r.send.tx, r.gas), first + k, at)));
  putEntries(state, entries); // durable before any leaves: a crash from here on is repaired by the next settle
  for (let k = 0; k < entries.length; k++) {
    const { entry, refusal } = await deliver(state, signing, entries[k]!);
    if (refusal !== undefined) {
      unstore(state, entries.slice(k + 1));
      dropEntry(state, entry, 'refused', refusal); // never acknowledged: the caller hears the refusal
      ready[k]!.send.reject(refusal);
      return ready.slice(k + 1).map((r) => r.send);
    }
    noteSent(state, entry);
    ready[k]!.send.resolve(entry);
  }
  return [];
}

/**
 * Sends a new entry. Refused for its fee — signed against a block the node no longer has, as when
 * the node restarts from an older state with a higher base fee between the two calls — it is signed
 * again at its nonce with fresh fees (outbox-deliver.ts). Resolves with the entry that stands for the
 * send, and the node's refusal when it would take neither.
 */
async function deliver(state: OutboxState, signing: OutboxChain, entry: OutboxEntry): Promise<{ entry: OutboxEntry; refusal?: unknown }> {
  try {
    await signing.publicClient.sendRawTransaction({ serializedTransaction: entry.raw });
    return { entry };
  } catch (err) {
    if (alreadyKnown(err) || isUnreachable(err)) return { entry };
    if (!feeTooLow(err)) return { entry, refusal: err };
  }
  try {
    return { entry: (await resign(state, signing, entry, 'fee')) ?? entry };
  } catch (err) {
    const stored = state.entries.find((e) => e.replaces?.includes(entry.hash)) ?? entry;
    return isUnreachable(err) ? { entry: stored } : { entry: stored, refusal: err };
  }
}
