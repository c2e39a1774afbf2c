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

/** Why an entry was signed again: its fee too low after a rollback (same nonce), or its nonce taken by another transaction (a fresh one). */
export type ResignReason = 'fee' | 'nonce';

export interface OutboxOptions {
  /** Blocks a receipt must be deep, on the canonical chain, before its entry is dropped (default 64: deeper than the deepest rollback the fault suite has produced, 12 blocks; a dev node saves its state once a second and can lose every block of that second). */
  confirmations?: number;
  /** How long `send` waits for a receipt (default 120 s); the entry stays for later settles after that. */
  timeoutMs?: number;
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
}

export interface OutboxState {
  entries: OutboxEntry[];
  readonly storage: OutboxStorage;
  readonly options: OutboxOptions;
  readonly confirmations: bigint;
  /** Block each entry's receipt was last seen in (memory only: after a restart it is looked up again). */
  readonly minedAt: Map<Hex, bigint>;
  readonly stats: OutboxStats;
}

export function createState(storage: OutboxStorage, options: OutboxOptions): OutboxState {
  return {
    entries: storage.load(),
    storage,
    options,
    confirmations: BigInt(options.confirmations ?? 64),
    minedAt: new Map(),
    stats: { resubmitted: 0, resigned: 0, confirmed: 0, replaced: 0 },
  };
}

/** Stores `entry` (in place of `replacing`, when given) before anything is sent. */
export function putEntry(state: OutboxState, entry: OutboxEntry, replacing?: OutboxEntry): void {
  const gone = new Set([entry.hash, replacing?.hash]);
  state.entries = [...state.entries.filter((e) => !gone.has(e.hash)), entry];
  if (replacing) state.minedAt.delete(replacing.hash);
  state.storage.save(state.entries);
}

export function dropEntry(state: OutboxState, entry: OutboxEntry, reason: DropReason, error?: unknown): void {
  state.entries = state.entries.filter((e) => e.hash !== entry.hash);
  state.minedAt.delete(entry.hash);
  state.storage.save(state.entries);
  if (reason === 'confirmed') state.stats.confirmed++;
  if (reason === 'replaced') state.stats.replaced++;
  state.options.onDrop?.(entry, reason, error === undefined ? undefined : firstLine(error));
}

export const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split('\n')[0]!;

/** The nonce a new transaction of `from` gets: the node's pending count, but never one of an entry still kept (a lost one waits for its turn). */
export async function nextNonce(state: OutboxState, chain: OutboxChain, from: Address): Promise<number> {
  const pending = await chain.publicClient.getTransactionCount({ address: from, blockTag: 'pending' });
  const own = state.entries.filter((e) => e.from === from && e.chainId === chain.chainId).map((e) => e.nonce + 1);
  return Math.max(pending, ...own);
}
