/**
 * A durable outbox for the transactions this process signs. Each signed raw transaction is written to
 * storage *before* it is sent and kept until its receipt is `confirmations` blocks deep on the
 * canonical chain. When the chain loses it — the embedded node saves its state once a second, so a
 * `kill -9` of the node rolls the last second back; a reorg does the same on a real network — the
 * very same signed bytes (same hash, same nonce) are sent again, before any new transaction of the
 * account can take that nonce. If the node refuses those bytes for their fee (a rollback brings back
 * the higher base fee of older blocks), the same intent is signed again at the same nonce with fresh
 * fees (outbox-deliver.ts): an acknowledged transaction is never given up.
 *
 * How a loss shows: the account's pending nonce on chain is at or below an entry's nonce (one process
 * signs for an account, so only our own transactions move it), or, while we wait for a receipt, the
 * node no longer knows the transaction at all. An entry whose nonce the chain passed with another
 * transaction (signed elsewhere with the same key; judged at one block, outbox-node.ts) has its intent
 * signed again at a fresh nonce, or, when it has no intent or key to sign with, is dropped as `replaced`.
 *
 * Use: `withOutbox(client, createOutbox(fileOutboxStorage(path)))`; every `writeLedger` through that
 * client then goes through the outbox, and `outbox.watch(client)` re-sends lost transactions while the
 * process is otherwise idle (after a restart of this process, or of the node). One process per
 * account: two processes sending for one key would take each other's nonces. Entries of another
 * chain id are left alone.
 */
import type { Address, Hex, LocalAccount, TransactionReceipt } from 'viem';
import { signIntent } from './outbox-deliver.js';
import { alreadyKnown, isUnreachable } from './outbox-node.js';
import { settleNow, type SettleResult } from './outbox-settle.js';
import { createState, dropEntry, nextNonce, putEntry, type OutboxChain, type OutboxOptions, type OutboxStats } from './outbox-state.js';
import type { OutboxEntry, OutboxStorage } from './outbox-storage.js';
import { awaitReceipt } from './outbox-wait.js';

export { fileOutboxStorage, memoryOutboxStorage, type OutboxEntry, type OutboxIntent, type OutboxStorage } from './outbox-storage.js';
export { isUnreachable } from './outbox-node.js';
export type { DropReason, OutboxChain, OutboxOptions, OutboxStats, ResignReason } from './outbox-state.js';
export type { SettleResult } from './outbox-settle.js';

/** A transaction to send: `gas` may be a function, estimated only after the outbox re-sent what the chain lost (those change the state). */
export interface OutboxTx {
  to?: Address;
  data: Hex;
  value?: bigint;
  gas: bigint | (() => Promise<bigint>);
}

export interface Outbox {
  /**
   * Settles first (lost transactions of the account go out again, in nonce order), then signs with
   * the next nonce, stores the signed bytes and their intent, sends them and waits for the receipt.
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
  let lock: Promise<unknown> = Promise.resolve();

  /** One settle or send at a time, so a re-send and a new nonce never race. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = lock.catch(() => undefined).then(fn);
    lock = next;
    return next;
  }

  async function sendNow(chain: OutboxChain, account: LocalAccount, tx: OutboxTx): Promise<TransactionReceipt> {
    const signing = { ...chain, account };
    await settleNow(state, signing);
    const from = account.address.toLowerCase() as Address;
    const nonce = await nextNonce(state, signing, from);
    const gas = typeof tx.gas === 'function' ? await tx.gas() : tx.gas;
    const intent = { ...(tx.to ? { to: tx.to } : {}), data: tx.data, gas: gas.toString(), ...(tx.value ? { value: tx.value.toString() } : {}) };
    const entry = await signIntent(signing, account, intent, nonce);
    putEntry(state, entry); // durable before it leaves: a crash from here on is repaired by the next settle
    try {
      await chain.publicClient.sendRawTransaction({ serializedTransaction: entry.raw });
    } catch (err) {
      if (!alreadyKnown(err) && !isUnreachable(err)) {
        dropEntry(state, entry, 'refused', err); // never acknowledged: the caller hears the refusal
        throw err;
      }
    }
    return awaitReceipt(state, signing, entry, timeoutMs);
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
    send: (chain, account, tx) => exclusive(() => sendNow(chain, account, tx)),
    settle: (chain) => exclusive(() => settleNow(state, chain)),
    watch,
    entries: () => state.entries,
    stats: state.stats,
  };
}
