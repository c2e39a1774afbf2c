/** The outbox's entries and counters (outbox.ts), and the three ways its list changes: add, sign again, drop. */
import type { Address, Hex, LocalAccount, PublicClient } from 'viem';
import type { OutboxEntry, OutboxStorage } from './outbox-storage.js';

/** The chain side an outbox needs (a LedgerClient is one). `account` lets it sign an intent again. */
export interface OutboxChain {
  publicClient: PublicClient;
  chainId: number;
  pollingIntervalMs: number;
  account?: LocalAccount;
}

/** Why an entry left: buried deep enough on the canonical chain, or its nonce used by another transaction and it could not be signed again. */
export type DropReason = 'confirmed' | 'replaced' | 'refused';

/**
 * Why an entry was signed again: its fee too low after a rollback (same nonce), its nonce taken by
 * another transaction (a fresh one), or known to the node but not mined for `stuckAfterBlocks` blocks
 * (same nonce, fees bumped: outbox-stuck.ts).
 */
export type ResignReason = 'fee' | 'nonce' | 'stuck';

export interface OutboxOptions {
  /** Blocks a receipt must be deep, on the canonical chain, before its entry is dropped (default 64: deeper than the deepest rollback the fault suite has produced, 12 blocks; a dev node saves its state once a second and can lose every block of that second). */
  confirmations?: number;
  /** How long `send` waits for a receipt (default 120 s); the entry stays for later settles after that. */
  timeoutMs?: number;
  /**
   * How many sends may wait for their receipts at once (default 64); one more waits for a slot. `1`
   * is the one-at-a-time outbox of before issue 19: each send waits for its receipt before the next
   * is signed (one transaction per block and account).
   */
  maxInFlight?: number;
  /**
   * Blocks a transaction we wait for may stay unmined, while the node has it, before it is signed
   * again at its nonce with bumped fees (default 3): only the account's lowest waiting nonce (the one
   * that holds the others back), or any whose fee cap is below the latest base fee.
   */
  stuckAfterBlocks?: number;
  /** Hears each re-send of a lost transaction (the same signed bytes). */
  onResubmit?: (entry: OutboxEntry) => void;
  /** Hears each intent signed again: `next` stands for `entry` from now on (its hash is the one that will be mined). */
  onResign?: (entry: OutboxEntry, next: OutboxEntry, reason: ResignReason) => void;
  /** Hears each entry leaving the outbox (`error`: why the node refused it). */
  onDrop?: (entry: OutboxEntry, reason: DropReason, error?: string) => void;
  /** Hears a re-send the node refused for another reason than its fee; the entry stays, and is tried again. */
  onRefused?: (entry: OutboxEntry, error: string) => void;
}

export interface OutboxStats {
  resubmitted: number;
  resigned: number;
  confirmed: number;
  replaced: number;
  /** Sends waiting for their receipts now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
}

export interface OutboxState {
  entries: OutboxEntry[];
  readonly storage: OutboxStorage;
  readonly options: OutboxOptions;
  readonly confirmations: bigint;
  /** Block each entry's receipt was last seen in (memory only: after a restart it is looked up again). */
  readonly minedAt: Map<Hex, bigint>;
  /** Latest block number when each entry was signed (memory only): how long it has waited. */
  readonly signedAt: Map<Hex, bigint>;
  /** The entry that was signed in each re-signed entry's place (memory only): a waiter follows it. */
  readonly replacedBy: Map<Hex, Hex>;
  /** Entries dropped as `replaced`, with why (memory only): their waiters hear it. */
  readonly given: Map<Hex, string>;
  /**
   * The next nonce of each account (`chainId:from`) as this process expects it: one past the last it
   * sent (set once the node took it). A send, and the receipt tracker, compare it with the node's
   * pending count and settle fully only when they differ (outbox.ts).
   */
  readonly expected: Map<string, number>;
  readonly stats: OutboxStats;
}

/** The key of an account in `expected`. */
export const accountKey = (chainId: number, from: Address) => `${chainId}:${from.toLowerCase()}`;

export function createState(storage: OutboxStorage, options: OutboxOptions): OutboxState {
  return {
    entries: storage.load(),
    storage,
    options,
    confirmations: BigInt(options.confirmations ?? 64),
    minedAt: new Map(),
    signedAt: new Map(),
    replacedBy: new Map(),
    given: new Map(),
    expected: new Map(),
    stats: { resubmitted: 0, resigned: 0, confirmed: 0, replaced: 0, inFlight: 0, maxInFlight: 0 },
  };
}

/** Stores new entries, with one write, before any of them is sent. */
export function putEntries(state: OutboxState, entries: readonly OutboxEntry[]): void {
  const added = new Set(entries.map((e) => e.hash));
  state.entries = [...state.entries.filter((e) => !added.has(e.hash)), ...entries];
  state.storage.save(state.entries);
}

/** Removes entries that were stored but never sent (nothing to tell anyone: they were never acknowledged). */
export function unstore(state: OutboxState, entries: readonly OutboxEntry[]): void {
  const gone = new Set(entries.map((e) => e.hash));
  state.entries = state.entries.filter((e) => !gone.has(e.hash));
  for (const hash of gone) state.signedAt.delete(hash);
  state.storage.save(state.entries);
}

/** Stores `entry` (in place of `replacing`, when given) before anything is sent. */
export function putEntry(state: OutboxState, entry: OutboxEntry, replacing?: OutboxEntry): void {
  const gone = new Set([entry.hash, replacing?.hash]);
  state.entries = [...state.entries.filter((e) => !gone.has(e.hash)), entry];
  if (replacing) {
    state.minedAt.delete(replacing.hash);
    state.replacedBy.set(replacing.hash, entry.hash);
  }
  state.storage.save(state.entries);
}

export function dropEntry(state: OutboxState, entry: OutboxEntry, reason: DropReason, error?: unknown): void {
  state.entries = state.entries.filter((e) => e.hash !== entry.hash);
  state.minedAt.delete(entry.hash);
  state.signedAt.delete(entry.hash);
  for (const hash of entry.replaces ?? []) state.replacedBy.delete(hash);
  state.storage.save(state.entries);
  if (reason === 'confirmed') state.stats.confirmed++;
  if (reason === 'replaced') {
    state.stats.replaced++;
    state.given.set(entry.hash, `transaction ${entry.hash} was replaced: nonce ${entry.nonce} is used by another transaction`);
  }
  state.options.onDrop?.(entry, reason, error === undefined ? undefined : firstLine(error));
}

export const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split('\n')[0]!;

/**
 * The nonce a new transaction of `from` gets: the node's pending count, but never one of an
 * entry still kept (a lost one waits for its turn).
 */
export async function nextNonce(state: OutboxState, chain: OutboxChain, from: Address): Promise<number> {
  const pending = await chain.publicClient.getTransactionCount({ address: from, blockTag: 'pending' });
  const own = state.entries.filter((e) => e.from === from && e.chainId === chain.chainId).map((e) => e.nonce + 1);
  return Math.max(pending, ...own);
}

/** `entry` went out (or is ours to send again): the account's next nonce is past it. */
export function noteSent(state: OutboxState, entry: OutboxEntry): void {
  const key = accountKey(entry.chainId, entry.from);
  state.expected.set(key, Math.max(state.expected.get(key) ?? 0, entry.nonce + 1));
}
