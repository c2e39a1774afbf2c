/**
 * Waiting for the receipts of every transaction the outbox (outbox.ts) has in flight, with one loop
 * per outbox rather than one per waiter: each round reads the block number, then each new block's
 * transaction hashes (eth_getBlockByNumber), and fetches a receipt only for a hash someone waits for.
 * The same round checks each waiting account once — its pending count against the nonce the outbox
 * expects next (one eth_getTransactionCount) — and settles fully only when the node lost something;
 * on each new block it re-signs what is stuck (outbox-stuck.ts). A waiter follows what stands for
 * its intent: after a re-signing it waits for the new hash (and takes the old one's receipt if that
 * one is mined after all).
 */
import type { Block, Hex, PublicClient, TransactionReceipt } from 'viem';
import { isUnreachable, receiptOf, receiptOfIntent } from './outbox-node.js';
import { settleNow } from './outbox-settle.js';
import { accountKey, firstLine, type OutboxChain, type OutboxState } from './outbox-state.js';
import type { OutboxEntry } from './outbox-storage.js';
import { feeCap, unstick } from './outbox-stuck.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` under the outbox's lock (no send or settle at the same time). */
export type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;

interface Waiter {
  /** Hash of the entry first sent for the intent. */
  readonly origin: Hex;
  /** Every hash that has stood for the intent (the first, and each re-signing). */
  readonly hashes: Set<Hex>;
  readonly chain: OutboxChain;
  readonly deadline: number;
  readonly timeoutMs: number;
  resolve(receipt: TransactionReceipt): void;
  reject(err: Error): void;
}

export interface ReceiptTracker {
  /** Resolves with the receipt of `entry` (just sent), or of what stands for its intent by then, within `timeoutMs`. */
  wait(chain: OutboxChain, entry: OutboxEntry, timeoutMs: number): Promise<TransactionReceipt>;
}

/** Blocks one round reads at most (a longer stretch is read over the next rounds). */
const SCAN_LIMIT = 64n;

/** The tracker's own state, beside the outbox's. */
interface Tracker {
  readonly state: OutboxState;
  readonly exclusive: Exclusive;
  readonly waiters: Set<Waiter>;
  /** Hash of each block read, by number: a block whose parent is not the one read before means a reorg or a rollback. */
  readonly read: Map<bigint, Hex>;
  /** The newest block read. */
  cursor?: bigint;
  /** The lowest block a waiter that came since the last round was signed at: the next round reads from there. */
  rescanFrom?: bigint;
  running: boolean;
  lastError?: string;
}

export function createReceiptTracker(state: OutboxState, exclusive: Exclusive): ReceiptTracker {
  const t: Tracker = { state, exclusive, waiters: new Set(), read: new Map(), running: false };
  return {
    wait(chain, entry, timeoutMs) {
      return new Promise<TransactionReceipt>((resolve, reject) => {
        // Read from the block the entry was signed at: it may be mined in the very next one.
        const signed = state.signedAt.get(entry.hash);
        if (signed !== undefined && (t.rescanFrom === undefined || t.rescanFrom > signed)) t.rescanFrom = signed;
        t.waiters.add({ origin: entry.hash, hashes: new Set([entry.hash]), chain, deadline: Date.now() + timeoutMs, timeoutMs, resolve, reject });
        if (!t.running) {
          t.running = true;
          void run(t);
        }
      });
    },
  };
}

/** The hash standing for `w`'s intent now (following re-signings); each one met is remembered in `w.hashes`. */
function current(t: Tracker, w: Waiter): Hex {
  let hash = w.origin;
  for (let i = 0, next = t.state.replacedBy.get(hash); next && i < 1_000; i++, next = t.state.replacedBy.get(hash)) {
    hash = next;
    w.hashes.add(hash);
  }
  return hash;
}

function finish(t: Tracker, w: Waiter, outcome: TransactionReceipt | Error): void {
  t.waiters.delete(w);
  if (outcome instanceof Error) w.reject(outcome);
  else w.resolve(outcome);
}

async function run(t: Tracker): Promise<void> {
  while (t.waiters.size > 0) {
    const chain = t.waiters.values().next().value!.chain;
    try {
      await round(t, chain);
      t.lastError = undefined;
    } catch (err) {
      // The node away (it may come back without our transactions: the loss check sees it), or a
      // refusal a settle reported: the next round tries again.
      t.lastError = isUnreachable(err) ? 'the node is unreachable' : firstLine(err);
    }
    expire(t);
    if (t.waiters.size > 0) await sleep(chain.pollingIntervalMs);
  }
  t.running = false;
}

async function round(t: Tracker, chain: OutboxChain): Promise<void> {
  const latest = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
  const before = t.cursor;
  const baseFee = await scan(t, chain.publicClient, latest);
  await checkLoss(t);
  if (before !== undefined && t.cursor !== undefined && t.cursor > before) {
    await checkStuck(t, t.cursor, baseFee);
    await lookUpOld(t, t.cursor);
  }
}

/** Reads the blocks after the cursor up to `latest`; delivers the receipts waited for. Returns the base fee of the newest block read. */
async function scan(t: Tracker, pc: PublicClient, latest: bigint): Promise<bigint | null | undefined> {
  if (t.rescanFrom !== undefined && (t.cursor === undefined || t.cursor > t.rescanFrom)) t.cursor = t.rescanFrom;
  t.rescanFrom = undefined;
  if (t.cursor === undefined || t.cursor > latest) t.cursor = latest - 1n; // a shorter chain: read its top again
  const byHash = new Map<Hex, Waiter>();
  for (const w of t.waiters) {
    current(t, w);
    for (const h of w.hashes) byHash.set(h, w);
  }
  let baseFee: bigint | null | undefined;
  for (let n = t.cursor + 1n; n <= latest && n <= t.cursor + SCAN_LIMIT; ) {
    const block: Block = await pc.getBlock({ blockNumber: n });
    const parent = t.read.get(n - 1n);
    if (parent !== undefined && block.parentHash !== parent) {
      t.read.delete(n - 1n); // that block is gone: read its height again
      t.cursor = n - 2n;
      n -= 1n;
      continue;
    }
    t.read.set(n, block.hash!);
    t.read.delete(n - 2n * SCAN_LIMIT);
    const found = (block.transactions as Hex[]).flatMap((hash) => {
      const w = byHash.get(hash);
      return w && t.waiters.has(w) ? [{ w, hash }] : [];
    });
    const receipts = await Promise.all(found.map(({ hash }) => receiptOf(pc, hash)));
    found.forEach(({ w }, i) => {
      const receipt = receipts[i];
      if (receipt?.blockHash !== block.hash) return; // read from another block at that height: the next rounds see
      t.state.minedAt.set(current(t, w), receipt.blockNumber);
      finish(t, w, receipt);
    });
    t.cursor = n;
    baseFee = block.baseFeePerGas;
    n += 1n;
  }
  return baseFee;
}

/** One eth_getTransactionCount per waiting account: below the nonce expected next, the node lost some of ours. */
async function checkLoss(t: Tracker): Promise<void> {
  const accounts = new Map<string, Waiter>();
  for (const w of t.waiters) accounts.set(accountKey(w.chain.chainId, w.chain.account!.address), w);
  for (const [key, w] of accounts) {
    const expected = t.state.expected.get(key); // read before the count: it only grows once the node took a send
    const pending = await w.chain.publicClient.getTransactionCount({ address: w.chain.account!.address, blockTag: 'pending' });
    if (expected !== undefined && pending < expected) await t.exclusive(() => settleNow(t.state, w.chain));
  }
}

/**
 * On a new block: an entry waited for `stuckAfterBlocks` blocks and more, while it is its account's
 * lowest waiting nonce or its fee cap is below the base fee, is signed again with bumped fees; one
 * the node lost sends the account's entries again (a full settle).
 */
async function checkStuck(t: Tracker, latest: bigint, baseFee: bigint | null | undefined): Promise<void> {
  const after = BigInt(t.state.options.stuckAfterBlocks ?? 3);
  const waiting = [...t.waiters].flatMap((w) => {
    const entry = t.state.entries.find((e) => e.hash === current(t, w));
    const signed = entry && t.state.signedAt.get(entry.hash);
    return entry && signed !== undefined && latest - signed >= after ? [{ w, entry }] : [];
  });
  const lowest = new Map<string, number>();
  for (const { entry } of waiting) lowest.set(entry.from, Math.min(lowest.get(entry.from) ?? Infinity, entry.nonce));
  for (const { w, entry } of waiting) {
    const underpriced = baseFee != null && feeCap(entry) < baseFee;
    if (!underpriced && lowest.get(entry.from) !== entry.nonce) continue;
    const outcome = await t.exclusive(() => unstick(t.state, w.chain, entry));
    if (outcome.kind === 'mined') finish(t, w, outcome.receipt);
    if (outcome.kind === 'lost') await t.exclusive(() => settleNow(t.state, w.chain));
  }
}

/**
 * A waiter still waiting `4 × stuckAfterBlocks` blocks after its entry was signed, or whose entry
 * left the outbox, looks its receipts up one by one: a block read too early (a waiter that came
 * mid-round) or a stretch the node rolled back and replayed between two rounds.
 */
async function lookUpOld(t: Tracker, latest: bigint): Promise<void> {
  const old = 4n * BigInt(t.state.options.stuckAfterBlocks ?? 3);
  for (const w of [...t.waiters]) {
    const hash = current(t, w);
    const signed = t.state.signedAt.get(hash);
    const kept = t.state.entries.some((e) => e.hash === hash);
    if (kept && (signed === undefined || latest - signed < old)) continue;
    const receipt = await receiptOfIntent(w.chain.publicClient, { hash, replaces: [...w.hashes].filter((h) => h !== hash) });
    if (receipt) finish(t, w, receipt);
  }
}

/** Rejects the waiters whose intent was given up (its nonce taken, nothing to sign it with) or whose time is up. */
function expire(t: Tracker): void {
  for (const w of t.waiters) {
    const given = t.state.given.get(current(t, w));
    if (given) finish(t, w, new Error(given));
    else if (Date.now() > w.deadline) {
      const why = t.lastError ? `; last error: ${t.lastError}` : '';
      finish(t, w, new Error(`no receipt for ${current(t, w)} within ${w.timeoutMs / 1000} s (kept in the outbox)${why}`));
    }
  }
}
