/**
 * Sends one contract write: estimate (which also surfaces the revert reason), sign locally, send raw,
 * wait for the receipt. viem's wallet actions would probe eth_fillTransaction first (~1 s on dev
 * nodes), so the transaction is filled here with plain reads.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  encodeDeployData,
  encodeFunctionData,
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { medLedgerAbi } from './generated/contracts.js';
import type { LedgerClient } from './client.js';
import { feesFor } from './fees.js';
import type { Outbox } from './outbox.js';

type Ledger = typeof medLedgerAbi;
export type WriteName = ContractFunctionName<Ledger, 'nonpayable'>;
export type WriteArgs<F extends WriteName> = ContractFunctionArgs<Ledger, 'nonpayable', F>;

/** A transaction the contract refused, named by its custom error (e.g. `NotRelationshipPatient`). */
export class LedgerError extends Error {
  constructor(
    readonly errorName: string,
    readonly errorArgs: readonly unknown[] = [],
    message?: string,
  ) {
    super(message ?? `${errorName}(${errorArgs.map(String).join(', ')})`);
    this.name = 'LedgerError';
  }
}

/** Turns a viem error carrying a decoded revert into a LedgerError; rethrows anything else. */
export function toLedgerError(err: unknown): never {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName ?? revert.reason ?? 'Reverted';
      throw new LedgerError(name, revert.data?.args ?? []);
    }
  }
  throw err;
}

const nonceLocks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier send of the same account has been handed to the node, so nonces never collide. */
async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = nonceLocks.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  nonceLocks.set(key, next);
  try {
    return await next;
  } finally {
    if (nonceLocks.get(key) === next) nonceLocks.delete(key);
  }
}

/**
 * Nonces sent and not yet answered (a receipt, or the wait given up), per chain and account. A new
 * send takes one past the highest of them when the node's pending count has not caught up with it
 * yet, so two sends in flight never get the same nonce.
 */
const unanswered = new Map<string, Set<number>>();

function requireAccount(client: LedgerClient): LocalAccount {
  if (!client.account) throw new Error('this action needs a signing account');
  return client.account;
}

export { feesFor } from './fees.js';

/**
 * Signs and sends `data` to `to` (or deploys it when `to` is undefined); resolves with the receipt.
 * Concurrent sends of one account are in flight together (the nonce: the node's pending count, or one
 * past the highest still unanswered here when the node has not counted it yet). With an `outbox`
 * (outbox.ts) the signed bytes are stored before they are sent and sent again if the chain loses them.
 */
export async function sendRaw(
  publicClient: PublicClient,
  account: LocalAccount,
  chainId: number,
  tx: { to?: Address; data: Hex; gas: bigint | (() => Promise<bigint>); value?: bigint },
  pollingIntervalMs: number,
  outbox?: Outbox,
): Promise<TransactionReceipt> {
  // The outbox estimates the gas after it re-sent what the chain lost: those change the state.
  if (outbox) return outbox.send({ publicClient, chainId, pollingIntervalMs }, account, tx);
  const key = `${chainId}:${account.address.toLowerCase()}`;
  const inFlight = unanswered.get(key) ?? unanswered.set(key, new Set()).get(key)!;
  // The lock covers signing and sending only: the receipt is waited for outside it, so the sends of
  // one account do not wait for each other's blocks (issue 19).
  const { hash, nonce } = await serialised(key, async () => {
    const gas = typeof tx.gas === 'function' ? await tx.gas() : tx.gas;
    const [pending, block] = await Promise.all([
      publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' }),
      publicClient.getBlock({ blockTag: 'latest' }),
    ]);
    const nonce = Math.max(pending, ...[...inFlight].map((n) => n + 1));
    const serializedTransaction = await account.signTransaction({ ...tx, gas, ...(await feesFor(publicClient, block.baseFeePerGas)), nonce, chainId });
    const hash = await publicClient.sendRawTransaction({ serializedTransaction });
    inFlight.add(nonce);
    return { hash, nonce };
  });
  try {
    return await waitForReceipt(publicClient, hash, pollingIntervalMs);
  } finally {
    inFlight.delete(nonce);
  }
}

/** Whether each node automines (anvil's own method; a production node does not answer it). */
const automines = new WeakMap<PublicClient, Promise<boolean>>();
/** How long to wait on an automining node before asking it to mine. */
const NUDGE_AFTER_MS = 3_000;

/**
 * Waits (up to 2 minutes) for `hash`'s receipt. On a node that automines (the embedded anvil) a
 * transaction is mined at once, but anvil now and then leaves one in its pool until the next
 * transaction comes (seen by others too: AztecProtocol/aztec-packages#20594): after 3 s without a
 * receipt such a node is asked to mine (`evm_mine`). Nodes with a block time are only waited for.
 */
export async function waitForReceipt(publicClient: PublicClient, hash: Hex, pollingIntervalMs: number): Promise<TransactionReceipt> {
  const deadline = Date.now() + 120_000;
  const wait = (timeout: number) => publicClient.waitForTransactionReceipt({ hash, pollingInterval: pollingIntervalMs, timeout });
  try {
    return await wait(NUDGE_AFTER_MS);
  } catch (err) {
    if ((err as Error).name !== 'WaitForTransactionReceiptTimeoutError') throw err;
  }
  if (!automines.has(publicClient)) automines.set(publicClient, publicClient.request({ method: 'anvil_getAutomine' as never }).then((on) => on === true, () => false));
  if (await automines.get(publicClient)) await publicClient.request({ method: 'evm_mine' as never }).catch(() => undefined);
  return wait(Math.max(deadline - Date.now(), 1));
}

/** Calls `functionName` on the MedLedger contract as the client's account; throws LedgerError on revert. */
export async function writeLedger<F extends WriteName>(
  client: LedgerClient,
  functionName: F,
  args: WriteArgs<F>,
): Promise<TransactionReceipt> {
  return writeContract(client, client.contract, { abi: medLedgerAbi as Abi, functionName: functionName as string, args: args as readonly unknown[] });
}

/**
 * Sends one write to the contract at `address` (MedLedger, or a registry deployed beside it) with the
 * client's account: the gas estimate, with a margin, surfaces the contract's custom error as a
 * LedgerError; with an outbox it is made when the outbox sends. A reverted receipt is a LedgerError too.
 */
export async function writeContract(
  client: LedgerClient,
  address: Address,
  call: { abi: Abi; functionName: string; args: readonly unknown[] },
  account: LocalAccount = requireAccount(client),
): Promise<TransactionReceipt> {
  const data = encodeFunctionData(call);
  const estimate = async () => {
    try {
      const gas = await client.publicClient.estimateContractGas({ ...call, address, account });
      // Refunds (revoke, pointer removal) make the exact estimate too tight; a fixed margin is cheap.
      return (gas * 12n) / 10n + 5_000n;
    } catch (err) {
      toLedgerError(err);
    }
  };
  const receipt = await sendRaw(
    client.publicClient,
    account,
    client.chainId,
    { to: address, data, gas: client.outbox ? estimate : await estimate() },
    client.pollingIntervalMs,
    client.outbox,
  );
  if (receipt.status !== 'success') throw new LedgerError('Reverted', [], `transaction ${receipt.transactionHash} reverted`);
  return receipt;
}

/** Deploys `bytecode` with constructor `args`; resolves with the receipt (contractAddress set). */
export async function deployRaw(
  publicClient: PublicClient,
  account: LocalAccount,
  chainId: number,
  deploy: { abi: Abi; bytecode: Hex; args: readonly unknown[] },
  pollingIntervalMs: number,
): Promise<TransactionReceipt> {
  const data = encodeDeployData(deploy);
  const gas = await publicClient.estimateGas({ account, data });
  const receipt = await sendRaw(publicClient, account, chainId, { data, gas: (gas * 12n) / 10n }, pollingIntervalMs);
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error('contract deployment failed');
  return receipt;
}
