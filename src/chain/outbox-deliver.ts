/**
 * Getting an entry's intent onto the chain once the chain has lost it (outbox.ts): the same signed
 * bytes again when the node takes them, and otherwise the same intent signed again — at the same
 * nonce with fresh fees when only the fee is refused, at a fresh nonce when another transaction took
 * ours. An acknowledged intent is never given up for a refusal: a revoke the patient was told about
 * must land.
 */
import { keccak256, type Hex, type LocalAccount } from 'viem';
import { feesFor } from './fees.js';
import { alreadyKnown, feeTooLow, isUnreachable } from './outbox-node.js';
import { firstLine, nextNonce, noteSent, putEntry, type OutboxChain, type OutboxState, type ResignReason } from './outbox-state.js';
import type { OutboxEntry, OutboxIntent } from './outbox-storage.js';

/**
 * Signs `intent` at `nonce` with the fees of the latest block, or with `fees` worked out from it
 * (outbox-stuck.ts bumps those of a transaction it replaces).
 */
export async function signIntent(
  state: OutboxState,
  chain: OutboxChain,
  account: LocalAccount,
  intent: OutboxIntent,
  nonce: number,
  replaces?: Hex[],
  fees: (latest: Fees) => Fees = (latest) => latest,
): Promise<OutboxEntry> {
  const block = await chain.publicClient.getBlock({ blockTag: 'latest' });
  const at = { number: block.number, fees: fees(await feesFor(chain.publicClient, block.baseFeePerGas)) };
  return signAt(state, chain, account, intent, nonce, at, replaces);
}

/** Signs `intent` at `nonce` with `at.fees`; notes the block it was signed at (`at.number`, the latest then). */
export async function signAt(
  state: OutboxState,
  chain: OutboxChain,
  account: LocalAccount,
  intent: OutboxIntent,
  nonce: number,
  at: { number: bigint | null; fees: Fees },
  replaces?: Hex[],
): Promise<OutboxEntry> {
  const tx = { data: intent.data, gas: BigInt(intent.gas), nonce, chainId: chain.chainId, ...at.fees };
  const raw: Hex = await account.signTransaction({
    ...tx,
    ...(intent.to ? { to: intent.to } : {}),
    ...(intent.value ? { value: BigInt(intent.value) } : {}),
  });
  const from = account.address.toLowerCase() as OutboxEntry['from'];
  const hash = keccak256(raw);
  if (at.number !== null) state.signedAt.set(hash, at.number);
  return { hash, from, nonce, chainId: chain.chainId, raw, intent, ...(replaces?.length ? { replaces } : {}) };
}

export type Fees = Awaited<ReturnType<typeof feesFor>>;

/** Sends `entry`'s bytes: true once the node has them, false while it is unreachable; throws its refusal. */
export async function sendBytes(chain: OutboxChain, entry: OutboxEntry): Promise<boolean> {
  try {
    await chain.publicClient.sendRawTransaction({ serializedTransaction: entry.raw });
    return true;
  } catch (err) {
    if (isUnreachable(err)) return false;
    if (alreadyKnown(err)) return true;
    throw err;
  }
}

/** The account that can sign `entry`'s intent again, if the chain side carries it and the entry kept its intent. */
export function signerFor(chain: OutboxChain, entry: OutboxEntry): LocalAccount | undefined {
  const account = chain.account;
  return entry.intent && account && account.address.toLowerCase() === entry.from ? account : undefined;
}

/**
 * Signs `entry`'s intent again (at `nonce`), stores the new entry in its place, then sends it.
 * Resolves with the new entry, or undefined when there is no key or intent to sign it with.
 */
export async function resign(state: OutboxState, chain: OutboxChain, entry: OutboxEntry, reason: Exclude<ResignReason, 'stuck'>): Promise<OutboxEntry | undefined> {
  const account = signerFor(chain, entry);
  if (!account) return undefined;
  const nonce = reason === 'fee' ? entry.nonce : await nextNonce(state, chain, entry.from);
  const next = await signIntent(state, chain, account, entry.intent!, nonce, [...(entry.replaces ?? []), entry.hash]);
  putEntry(state, next, entry); // durable before it leaves, as every entry
  state.stats.resigned++;
  state.options.onResign?.(entry, next, reason);
  await sendBytes(chain, next); // unreachable: the next settle sends it; a refusal: the caller hears it
  noteSent(state, next);
  return next;
}

/**
 * Sends a lost entry again. Resolves with the entry that now stands for its intent (itself, or its
 * re-signing when the node refused the old fee), or undefined while the node is unreachable. Any other
 * refusal leaves the entry where it is (reported; tried again at the next settle) and is thrown.
 */
export async function redeliver(state: OutboxState, chain: OutboxChain, entry: OutboxEntry): Promise<OutboxEntry | undefined> {
  state.minedAt.delete(entry.hash);
  try {
    if (!(await sendBytes(chain, entry))) return undefined;
    state.stats.resubmitted++;
    state.options.onResubmit?.(entry);
    return entry;
  } catch (err) {
    const next = feeTooLow(err) ? await resign(state, chain, entry, 'fee') : undefined;
    if (next) return next;
    state.options.onRefused?.(entry, firstLine(err));
    throw err;
  }
}
