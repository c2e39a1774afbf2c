/**
 * What the outbox (outbox.ts) asks the node, and how it reads the answers. Every judgement that lets
 * an entry go is made so that reads spanning a node restart cannot mix two chains: a node killed and
 * started again from an older state answers one call from the old chain and the next from the new.
 */
import {
  BaseError,
  HttpRequestError,
  SocketClosedError,
  TimeoutError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import type { OutboxEntry } from './outbox-storage.js';

/** The node could not be reached (down, restarting): worth waiting for, unlike a refusal. */
export function isUnreachable(err: unknown): boolean {
  const transient = (e: unknown) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof SocketClosedError;
  if (err instanceof BaseError) return transient(err.walk(transient));
  return /fetch failed|ECONNREFUSED|ECONNRESET|socket hang up/i.test(message(err));
}

function message(err: unknown): string {
  if (err instanceof BaseError) return `${err.message} ${err.details ?? ''}`;
  return String((err as Error)?.message ?? err);
}

/** The node has these very bytes already (in its pool, or mined). */
export const alreadyKnown = (err: unknown) => /already known|known transaction|already imported|already exists/i.test(message(err));

/**
 * The node refused the bytes for their fee: below the base fee of the next block (anvil: "max fee per
 * gas less than block base fee"; geth: "fee cap less than block base fee"), or underpriced.
 */
export const feeTooLow = (err: unknown) => /max fee per gas less than|fee cap less than|feecap(?:toolow| too low)|underpriced|fee too low/i.test(message(err));

export async function receiptOf(pc: PublicClient, hash: Hex): Promise<TransactionReceipt | undefined> {
  try {
    return await pc.getTransactionReceipt({ hash });
  } catch (err) {
    if (err instanceof BaseError && err.walk((e) => e instanceof TransactionReceiptNotFoundError)) return undefined;
    throw err;
  }
}

/**
 * The receipt of `entry`, or of an earlier signing of its intent: a transaction replaced for being
 * stuck (outbox-stuck.ts) shares its nonce with the replacement, and either of the two may be mined.
 */
export async function receiptOfIntent(pc: PublicClient, entry: Pick<OutboxEntry, 'hash' | 'replaces'>): Promise<TransactionReceipt | undefined> {
  for (const hash of [entry.hash, ...(entry.replaces ?? []).slice().reverse()]) {
    const receipt = await receiptOf(pc, hash);
    if (receipt) return receipt;
  }
  return undefined;
}

export async function knownToNode(pc: PublicClient, hash: Hex): Promise<boolean> {
  try {
    await pc.getTransaction({ hash });
    return true;
  } catch (err) {
    if (err instanceof BaseError && err.walk((e) => e instanceof TransactionNotFoundError)) return false;
    throw err;
  }
}

/** Whether the block `receipt` was read from is (still) the chain's block at that height. */
export async function onCanonicalChain(pc: PublicClient, receipt: TransactionReceipt): Promise<boolean> {
  const block = await pc.getBlock({ blockNumber: receipt.blockNumber }).catch((err) => {
    if (isUnreachable(err)) throw err;
    return undefined; // no block at that height any more
  });
  return block?.hash === receipt.blockHash;
}

/**
 * Whether a transaction other than `entry` took its nonce. Judged at one block, named by its hash:
 * the account's nonce at that block is past ours, our transaction is neither mined nor waiting, and
 * that block is still the chain's afterwards. (Reading the pending nonce, then the receipt, as two
 * loose calls, drops a transaction the node lost in between as "replaced": the nonce came from the
 * old chain, the missing receipt from the new one.)
 */
export async function nonceTakenByAnother(pc: PublicClient, entry: OutboxEntry): Promise<boolean> {
  const block = await pc.getBlock({ blockTag: 'latest' });
  if (!block.hash) return false;
  const count = await pc.getTransactionCount({ address: entry.from, blockHash: block.hash, requireCanonical: true }).catch((err) => {
    if (isUnreachable(err)) throw err;
    return undefined; // that block is gone already: judge again later
  });
  if (count === undefined || count <= entry.nonce) return false;
  if (await receiptOfIntent(pc, entry)) return false;
  if (await knownToNode(pc, entry.hash)) return false;
  const again = await pc.getBlock({ blockNumber: block.number! }).catch(() => undefined);
  return again?.hash === block.hash;
}
