/**
 * A connection to one MedLedger deployment: a viem public client, the contract address, and
 * optionally the local account that signs. Writes are signed locally and sent raw.
 */
import { createPublicClient, http, type Address, type LocalAccount, type PublicClient } from 'viem';
import type { Outbox } from './outbox.js';

export interface LedgerClient {
  publicClient: PublicClient;
  contract: Address;
  chainId: number;
  /** Block the contract was deployed in: event scans start here. */
  deployBlock: bigint;
  /** The ModelRegistry deployed beside MedLedger (src/sdk/models.ts); absent in older deployments. */
  modelRegistry?: Address;
  /** The StudyRegistry of research studies (src/sdk/studies.ts); absent in older deployments. */
  studyRegistry?: Address;
  /** Signer for writes and EIP-712 signatures; absent on read-only clients. */
  account?: LocalAccount;
  pollingIntervalMs: number;
  /** Durable outbox for this account's transactions (outbox.ts); absent = sent without one. */
  outbox?: Outbox;
}

export interface Deployment {
  rpcUrl: string;
  chainId: number;
  contract: Address;
  deployBlock: bigint;
  modelRegistry?: Address;
  studyRegistry?: Address;
}

/** Connects to a deployment, optionally as `account`. */
export function createLedgerClient(
  deployment: Deployment,
  options: { account?: LocalAccount; pollingIntervalMs?: number } = {},
): LedgerClient {
  const pollingIntervalMs = options.pollingIntervalMs ?? 50;
  return {
    publicClient: createPublicClient({ transport: http(deployment.rpcUrl), pollingInterval: pollingIntervalMs }),
    contract: deployment.contract,
    chainId: deployment.chainId,
    deployBlock: deployment.deployBlock,
    ...(deployment.modelRegistry ? { modelRegistry: deployment.modelRegistry } : {}),
    ...(deployment.studyRegistry ? { studyRegistry: deployment.studyRegistry } : {}),
    account: options.account,
    pollingIntervalMs,
  };
}

/** The same connection, signing as `account`. */
export function withAccount(client: LedgerClient, account: LocalAccount): LedgerClient {
  return { ...client, account };
}

/** The same connection, its writes going through `outbox` (stored before sending, re-sent if the chain loses them). */
export function withOutbox(client: LedgerClient, outbox: Outbox): LedgerClient {
  return { ...client, outbox };
}
