/**
 * A durable outbox for the transactions this process signs. Each signed raw transaction is written to
 * storage *before* it is sent and kept until its receipt is `confirmations` blocks deep. When the chain
 * loses it — the embedded node saves its state once a second, so a `kill -9` of the node rolls the
 * last second back; a reorg does the same on a real network — the very same signed bytes (same hash,
 * same nonce) are sent again, before any new transaction of the account can take that nonce.
 *
 * How a loss shows: the account's pending nonce on chain is at or below an entry's nonce (one process
 * signs for an account, so only our own transactions move it), or, while we wait for a receipt, the
 * node no longer knows the transaction at all. An entry whose nonce the chain passed with another
 * transaction (signed elsewhere with the same key) is dropped as `replaced`.
 *
 * Use: `withOutbox(client, createOutbox(fileOutboxStorage(path)))`; every `writeLedger` through that
 * client then goes through the outbox, and `outbox.watch(client)` re-sends lost transactions while the
 * process is otherwise idle (after a restart of this process, or of the node). One process per
 * account: two processes sending for one key would take each other's nonces. Entries of another
 * chain id are left alone.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  BaseError,
  HttpRequestError,
  SocketClosedError,
  TimeoutError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  keccak256,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';

/** One signed transaction, as it was sent. */
export interface OutboxEntry {
  hash: Hex;
  /** Lower-case sender. */
  from: Address;
  nonce: number;
  chainId: number;
  /** The signed, serialised transaction. */
  raw: Hex;
}

/** Where entries live: read once when the outbox is created, written whole on every change. */
export interface OutboxStorage {
  load(): OutboxEntry[];
  save(entries: readonly OutboxEntry[]): void;
}

/** The chain side an outbox needs (a LedgerClient is one). */
export interface OutboxChain {
  publicClient: PublicClient;
  chainId: number;
  pollingIntervalMs: number;
}

export type DropReason = 'confirmed' | 'replaced' | 'refused';

export interface OutboxOptions {
  /** Blocks a receipt must be deep before its entry is dropped (default 12). */
  confirmations?: number;
  /** How long `submit` waits for a receipt (default 120 s); the entry stays for later settles after that. */
  timeoutMs?: number;
  /** Hears each re-send of a lost transaction. */
  onResubmit?: (entry: OutboxEntry) => void;
  /** Hears each entry leaving the outbox (`error`: why the node refused it). */
  onDrop?: (entry: OutboxEntry, reason: DropReason, error?: string) => void;
}

export interface SettleResult {
  /** Entries sent again because the chain had lost them. */
  resubmitted: OutboxEntry[];
  /** Entries still kept (sent, not yet deep enough). */
  pending: number;
}

/** A file in the data directory, replaced atomically (write, fsync, rename) so a crash leaves the old or the new list. */
export function fileOutboxStorage(path: string): OutboxStorage {
  return {
    load: () => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as OutboxEntry[]) : []),
    save(entries) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(entries));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
}

/** Entries kept in memory only (tests; a process that accepts losing them on a crash). */
export function memoryOutboxStorage(): OutboxStorage {
  let saved: OutboxEntry[] = [];
  return { load: () => saved.map((e) => ({ ...e })), save: (entries) => void (saved = entries.map((e) => ({ ...e }))) };
}

/** The node could not be reached (down, restarting): worth waiting for, unlike a refusal. */
export function isUnreachable(err: unknown): boolean {
  const transient = (e: unknown) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof SocketClosedError;
  if (err instanceof BaseError) return transient(err.walk(transient));
  return /fetch failed|ECONNREFUSED|ECONNRESET|socket hang up/i.test(String((err as Error)?.message ?? err));
}

const alreadyKnown = (err: unknown) => /already known|known transaction|already imported|already exists/i.test(String((err as Error)?.message ?? err));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createOutbox(storage: OutboxStorage, options: OutboxOptions = {}) {
  const confirmations = BigInt(options.confirmations ?? 12);
  const timeoutMs = options.timeoutMs ?? 120_000;
  let entries = storage.load();
  /** Block each entry's receipt was last seen in (memory only: after a restart it is looked up again). */
  const minedAt = new Map<Hex, bigint>();
  const stats = { resubmitted: 0, confirmed: 0, replaced: 0 };
  let lock: Promise<unknown> = Promise.resolve();

  /** One settle or submit at a time, so a re-send and a new nonce never race. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = lock.catch(() => undefined).then(fn);
    lock = next;
    return next;
  }

  function add(entry: OutboxEntry) {
    entries = [...entries.filter((e) => e.hash !== entry.hash), entry];
    storage.save(entries);
  }

  function drop(entry: OutboxEntry, reason: DropReason, error?: unknown) {
    entries = entries.filter((e) => e.hash !== entry.hash);
    minedAt.delete(entry.hash);
    storage.save(entries);
    if (reason === 'confirmed') stats.confirmed++;
    if (reason === 'replaced') stats.replaced++;
    options.onDrop?.(entry, reason, error === undefined ? undefined : String((error as Error)?.message ?? error).split('\n')[0]);
  }

  async function receiptOf(pc: PublicClient, hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await pc.getTransactionReceipt({ hash });
    } catch (err) {
      if (err instanceof BaseError && err.walk((e) => e instanceof TransactionReceiptNotFoundError)) return undefined;
      throw err;
    }
  }

  async function knownToNode(pc: PublicClient, hash: Hex): Promise<boolean> {
    try {
      await pc.getTransaction({ hash });
      return true;
    } catch (err) {
      if (err instanceof BaseError && err.walk((e) => e instanceof TransactionNotFoundError)) return false;
      throw err;
    }
  }

  /** Sends the stored bytes; true once the node has them, false while it is unreachable (tried again later). */
  async function resend(pc: PublicClient, entry: OutboxEntry): Promise<boolean> {
    minedAt.delete(entry.hash);
    try {
      await pc.sendRawTransaction({ serializedTransaction: entry.raw });
    } catch (err) {
      if (isUnreachable(err)) return false;
      if (!alreadyKnown(err)) throw err;
    }
    stats.resubmitted++;
    options.onResubmit?.(entry);
    return true;
  }

  /** Re-sends what the chain lost (in nonce order) and drops what is deep enough or was replaced. */
  async function settleNow(chain: OutboxChain): Promise<SettleResult> {
    const pc = chain.publicClient;
    const resubmitted: OutboxEntry[] = [];
    const mine = entries.filter((e) => e.chainId === chain.chainId);
    if (mine.length === 0) return { resubmitted, pending: entries.length };
    const latest = await pc.getBlockNumber({ cacheTime: 0 });
    for (const from of new Set(mine.map((e) => e.from))) {
      const own = mine.filter((e) => e.from === from).sort((a, b) => a.nonce - b.nonce);
      const next = await pc.getTransactionCount({ address: from, blockTag: 'pending' });
      for (const entry of own) {
        if (entry.nonce >= next) {
          // Every nonce below ours is taken, and ours is free again: the chain lost this transaction.
          try {
            if (await resend(pc, entry)) resubmitted.push(entry);
          } catch (err) {
            drop(entry, 'refused', err); // e.g. its fee no longer enough: a new transaction will take the nonce
          }
          continue;
        }
        let block = minedAt.get(entry.hash);
        if (block === undefined) {
          const receipt = await receiptOf(pc, entry.hash);
          if (!receipt) {
            // Our nonce is used, yet not by this transaction (nor is it waiting in the pool): replaced.
            if (!(await knownToNode(pc, entry.hash))) drop(entry, 'replaced');
            continue;
          }
          minedAt.set(entry.hash, (block = receipt.blockNumber));
        }
        if (latest - block + 1n >= confirmations) drop(entry, 'confirmed');
      }
    }
    return { resubmitted, pending: entries.length };
  }

  /** Waits for the receipt, sending the stored bytes again whenever the node lost the transaction. */
  async function awaitReceipt(chain: OutboxChain, entry: OutboxEntry): Promise<TransactionReceipt> {
    const pc = chain.publicClient;
    const deadline = Date.now() + timeoutMs;
    let polls = 0;
    let suspect = false;
    for (;;) {
      try {
        const receipt = await receiptOf(pc, entry.hash);
        if (receipt) {
          minedAt.set(entry.hash, receipt.blockNumber);
          return receipt;
        }
        // Not mined yet. Now and then (and after the node was unreachable) make sure it still has it.
        if (suspect || ++polls % 10 === 0) {
          suspect = false;
          if (!(await knownToNode(pc, entry.hash))) {
            const next = await pc.getTransactionCount({ address: entry.from, blockTag: 'pending' });
            if (next > entry.nonce) {
              if (!(await receiptOf(pc, entry.hash))) {
                drop(entry, 'replaced');
                throw new Error(`transaction ${entry.hash} was replaced: nonce ${entry.nonce} is used by another transaction`);
              }
              continue;
            }
            await resend(pc, entry);
          }
        }
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        suspect = true; // the node went away: it may come back without our transaction
      }
      if (Date.now() > deadline) throw new Error(`no receipt for ${entry.hash} within ${timeoutMs / 1000} s (kept in the outbox)`);
      await sleep(chain.pollingIntervalMs);
    }
  }

  function watch(chain: OutboxChain, intervalMs = 1_000): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      void exclusive(() => settleNow(chain))
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
    /**
     * Settles first (lost transactions of the account go out again, in nonce order), then signs with
     * the next nonce, stores the signed bytes, sends them and waits for the receipt.
     */
    send(chain: OutboxChain, from: Address, sign: (nonce: number) => Promise<Hex>): Promise<TransactionReceipt> {
      return exclusive(async () => {
        await settleNow(chain);
        const address = from.toLowerCase() as Address;
        const nonce = await chain.publicClient.getTransactionCount({ address, blockTag: 'pending' });
        const raw = await sign(nonce);
        const entry: OutboxEntry = { hash: keccak256(raw), from: address, nonce, chainId: chain.chainId, raw };
        add(entry); // durable before it leaves: a crash from here on is repaired by the next settle
        try {
          await chain.publicClient.sendRawTransaction({ serializedTransaction: raw });
        } catch (err) {
          if (!alreadyKnown(err) && !isUnreachable(err)) {
            drop(entry, 'refused', err);
            throw err;
          }
        }
        return awaitReceipt(chain, entry);
      });
    },
    /** Re-sends what the chain lost and drops what is settled; safe to call at any time. */
    settle(chain: OutboxChain): Promise<SettleResult> {
      return exclusive(() => settleNow(chain));
    },
    /** Settles every `intervalMs` (errors, e.g. the node down, wait for the next round); returns stop(). */
    watch,
    /** The entries kept now (sent, not yet confirmed). */
    entries: (): readonly OutboxEntry[] => entries,
    /** Counts since this outbox was created. */
    stats,
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
