/**
 * Delegates: people a patient lets act for them (a parent for a child, a carer) within limits the
 * patient sets — which permissions, until when. A delegate uses the ordinary calls (`respond`,
 * `grantViewer`, `revokeViewer`, a gatekeeper read) with their own key; the contract and the
 * gatekeepers check the delegation. Pure viem, so the EHR Manager runs it in the browser too.
 *
 * Permissions (MedLedger PatientControl DELEGATE_*):
 * - `respond`: accept or reject relationships;
 * - `grant`: grant and revoke third parties — a delegate's grants cannot outlive the delegation;
 * - `read`: read the patient's records through gatekeepers, without resources carrying a sensitive
 *   security label (src/consent/policy.ts SENSITIVE_LABELS).
 *
 * @example
 * await setDelegate(patient, { patient: me, delegate: carer, permissions: ['respond', 'read'], expiresAt: inAYear });
 */
import { getAbiItem, type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { writeLedger } from '../chain/write.js';
import { txResult, type TxResult } from './registrar.js';

export const DELEGATE_PERMISSIONS = { respond: 1, grant: 2, read: 4 } as const;
export type DelegatePermission = keyof typeof DELEGATE_PERMISSIONS;

export interface Delegation {
  patient: Address;
  delegate: Address;
  permissions: DelegatePermission[];
  /** Unix seconds; 0 = until removed. */
  expiresAt: number;
}

/** The contract's bitmask for a list of permissions. */
export function permissionBits(permissions: readonly DelegatePermission[]): number {
  let bits = 0;
  for (const p of permissions) {
    if (!Object.hasOwn(DELEGATE_PERMISSIONS, p)) throw new RangeError(`unknown delegate permission "${p}" (one of ${Object.keys(DELEGATE_PERMISSIONS).join(', ')})`);
    bits |= DELEGATE_PERMISSIONS[p];
  }
  return bits;
}

/** The permissions in a bitmask. */
export function permissionNames(bits: number): DelegatePermission[] {
  return (Object.keys(DELEGATE_PERMISSIONS) as DelegatePermission[]).filter((p) => (bits & DELEGATE_PERMISSIONS[p]) !== 0);
}

/**
 * Lets `delegate` act for `patient` with `permissions` until `expiresAt` (unix seconds, 0 = until
 * removed); setting again replaces it. The patient's key only.
 */
export async function setDelegate(
  client: LedgerClient,
  { patient, delegate, permissions, expiresAt }: { patient: Address; delegate: Address; permissions: readonly DelegatePermission[]; expiresAt: number },
): Promise<TxResult> {
  const bits = permissionBits(permissions);
  if (bits === 0) throw new RangeError('give at least one permission (removeDelegate removes a delegate)');
  return txResult(await writeLedger(client, 'setDelegate', [patient, delegate, bits, BigInt(expiresAt)]));
}

/** Removes `delegate`. The patient's key only. */
export async function removeDelegate(client: LedgerClient, { patient, delegate }: { patient: Address; delegate: Address }): Promise<TxResult> {
  return txResult(await writeLedger(client, 'setDelegate', [patient, delegate, 0, 0n]));
}

/** The delegation of `delegate` by `patient` as stored (permissions [] = none), expired or not. */
export async function delegationOf(
  client: LedgerClient,
  { patient, delegate, blockNumber }: { patient: Address; delegate: Address; blockNumber?: bigint },
): Promise<Delegation> {
  const d = await client.publicClient.readContract({ abi: medLedgerAbi, address: client.contract, functionName: 'delegationOf', args: [patient, delegate], blockNumber });
  return { patient, delegate, permissions: permissionNames(d.permissions), expiresAt: Number(d.expiresAt) };
}

/** Whether `account` may act for `patient` with `permission` now (the patient's key may do everything). */
export async function actsFor(
  client: LedgerClient,
  { patient, account, permission }: { patient: Address; account: Address; permission: DelegatePermission },
): Promise<boolean> {
  return client.publicClient.readContract({
    abi: medLedgerAbi,
    address: client.contract,
    functionName: 'actsFor',
    args: [patient, account, DELEGATE_PERMISSIONS[permission]],
  });
}

const delegateSet = getAbiItem({ abi: medLedgerAbi, name: 'DelegateSet' });

/** Delegations found from DelegateSet events matching `args`, as stored now; removed ones left out. */
async function delegationsWhere(client: LedgerClient, args: { patient?: Address; delegate?: Address }, blockNumber?: bigint): Promise<Delegation[]> {
  const pc = client.publicClient;
  const at = blockNumber ?? (await pc.getBlockNumber({ cacheTime: 0 }));
  const logs = await pc.getLogs({ address: client.contract, event: delegateSet, args, fromBlock: client.deployBlock, toBlock: at });
  const pairs = new Map<string, { patient: Address; delegate: Address }>();
  for (const l of logs) pairs.set(`${l.args.patient}:${l.args.delegate}`, { patient: l.args.patient!, delegate: l.args.delegate! });
  const found = await Promise.all([...pairs.values()].map((p) => delegationOf(client, { ...p, blockNumber: at })));
  return found.filter((d) => d.permissions.length > 0);
}

/** Everyone `patient` has delegated to (expired delegations included, with their expiry). */
export function delegatesOf(client: LedgerClient, patient: Address, blockNumber?: bigint): Promise<Delegation[]> {
  return delegationsWhere(client, { patient }, blockNumber);
}

/** Every patient who delegated to `delegate` (expired delegations included): whom the user can act for. */
export function delegationsTo(client: LedgerClient, delegate: Address, blockNumber?: bigint): Promise<Delegation[]> {
  return delegationsWhere(client, { delegate }, blockNumber);
}
