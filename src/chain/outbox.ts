/**
 * A durable outbox for the transactions this process signs. Each signed raw transaction is written to
 * storage *before* it is sent and kept until its receipt is `confirmations` blocks deep on the
 * canonical chain. When the chain loses it — the embedded node saves its state once a second, so a
 * `kill -9` of the node rolls the last second back; a reorg does the same on a real network — the
 * very same signed bytes (same hash, same nonce) are sent again, in nonce order, before any new
 * transaction of the account can take that nonce. If the node refuses those bytes for their fee (a
 * rollback brings back the higher base fee of older blocks), the same intent is signed again at the
 * same nonce with fresh fees (outbox-deliver.ts): an acknowledged transaction is never given up.
 *
 * Many transactions in flight per account (issue 19). One account that waits for each receipt before
 * it signs the next sends one transaction per block: 0.5 a second on a 2 s network. So the outbox
 * hands out nonces itself and holds its lock only while it signs, stores and sends (eth_sendRawTransaction)
 * — the sends that queued up meanwhile as one batch, stored with one durable write (outbox-send.ts);
 * the receipts are waited for outside it, all of them by one tracker (outbox-wait.ts) that reads each
 * new block's transaction hashes, so N writes of one account sent together land in one block. What
 * keeps this cheap with many in flight: the outbox remembers the account's next nonce and compares it
 * with the node's pending count (one call) before each send, settling fully (a call or two per entry)
 * only when they differ — the node lost something — while `watch` keeps settling fully in the
 * background. A transaction the node holds but does not mine for `stuckAfterBlocks` blocks (its fee cap
 * under the base fee, or the lowest nonce holding the others back) is signed again at the same nonce
 * with fees at least 10 % higher, as pools require of a replacement (outbox-stuck.ts). `maxInFlight`
 * bounds the sends waiting for receipts; 1 is the one-at-a-time outbox of before.
 *
 * How a loss shows: the account's pending nonce on chain is below the next nonce the outbox expects,
 * or at or below an entry's nonce (one process signs for an account, so only our own transactions
 * move it); a gap (nonce n lost, n+1… still pooled) shows the same way, since a node counts pending
 * nonces only up to the first missing one. An entry whose nonce the chain passed with another
 * transaction (signed elsewhere with the same key; judged at one block, outbox-node.ts) has its intent
 * signed again at a fresh nonce, or, when it has no intent or key to sign with, is dropped as `replaced`.
 * A waiter follows what stands for its intent: after a re-signing (`replaces` lists the old hashes)
 * it resolves with the receipt of whichever signing was mined.
 *
 * Use: `withOutbox(client, createOutbox(fileOutboxStorage(path)))`; every `writeLedger` through that
 * client then goes through the outbox, and `outbox.watch(client)` re-sends lost transactions while the
 * process is otherwise idle (after a restart of this process, or of the node). One process per
 * account: two processes sending for one key would take each other's nonces. Entries of another
 * chain id are left alone.
 */
import type { LocalAccount, TransactionReceipt } from 'viem';
import { sendBatch, type OutboxTx, type QueuedSend } from './outbox-send.js';
import { settleNow, type SettleResult } from './outbox-settle.js';
import { createSlots } from './outbox-slots.js';
import { accountKey, createState, type OutboxChain, type OutboxOptions, type OutboxStats } from './outbox-state.js';
import type { OutboxEntry, OutboxStorage } from './outbox-storage.js';
import { createReceiptTracker } from './outbox-wait.js';

export { fileOutboxStorage, memoryOutboxStorage, type OutboxEntry, type OutboxIntent, type OutboxStorage } from './outbox-storage.js';
export { isUnreachable } from './outbox-node.js';
export type { DropReason, OutboxChain, OutboxOptions, OutboxStats, ResignReason } from './outbox-state.js';
export type { SettleResult } from './outbox-settle.js';
export type { OutboxTx } from './outbox-send.js';

export interface Outbox {
  /**
   * Takes an in-flight slot; settles first when the node lost something (lost transactions of the
   * account go out again, in nonce order); signs with the next nonce, stores the signed bytes and their
   * intent, sends them; then, with the outbox free for the next send, waits for the receipt.
   */
  send(chain: OutboxChain, account: LocalAccount, tx: OutboxTx): Promise<TransactionReceipt>;
  /** Re-sends what the chain lost and drops what is settled; safe to call at any time. */
  settle(chain: OutboxChain): Promise<SettleResult>;
  /** Settles every `intervalMs` (errors, e.g. the node down, wait for the next round); returns stop(). */
  watch(chain: OutboxChain, intervalMs?: number): () => void;
  /** The entries kept now (sent, not yet confirmed). */
  entries(): readonly OutboxEntry[];
  /** Counts since this outbox was created. */
  readonly stats: OutboxStats;
}

export function createOutbox(storage: OutboxStorage, options: OutboxOptions = {}): Outbox {
  const state = createState(storage, options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const slots = createSlots(options.maxInFlight ?? 64);
  const queue: QueuedSend[] = [];
  let lock: Promise<unknown> = Promise.resolve();

  /** One settle or send at a time, so a re-send and a new nonce never race. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = lock.catch(() => undefined).then(fn);
    lock = next;
    return next;
  }
  const tracker = createReceiptTracker(state, exclusive);

  /** Sends what queued up, a batch per account (outbox-send.ts). */
  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const key = accountKey(queue[0]!.signing.chainId, queue[0]!.signing.account.address);
      const batch = queue.filter((s) => accountKey(s.signing.chainId, s.signing.account.address) === key);
      queue.splice(0, queue.length, ...queue.filter((s) => !batch.includes(s)));
      const again = await sendBatch(state, batch).catch((err: unknown) => {
        for (const s of batch) s.reject(err);
        return [];
      });
      queue.unshift(...again);
    }
  }

  async function send(chain: OutboxChain, account: LocalAccount, tx: OutboxTx): Promise<TransactionReceipt> {
    const signing = { ...chain, account };
    await slots.take();
    state.stats.inFlight++;
    state.stats.maxInFlight = Math.max(state.stats.maxInFlight, state.stats.inFlight);
    try {
      const entry = await new Promise<OutboxEntry>((resolve, reject) => {
        queue.push({ signing, tx, resolve, reject });
        void exclusive(flush);
      });
      return await tracker.wait(signing, entry, timeoutMs);
    } finally {
      state.stats.inFlight--;
      slots.give();
    }
  }

  function watch(chain: OutboxChain, intervalMs = 1_000): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      void exclusive(() => settleNow(state, chain))
        .catch(() => undefined)
        .finally(() => {
          if (stopped) return;
          timer = setTimeout(tick, intervalMs);
          timer.unref();
        });
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  return {
    send,
    settle: (chain) => exclusive(() => settleNow(state, chain)),
    watch,
    entries: () => state.entries,
    stats: state.stats,
  };
}
