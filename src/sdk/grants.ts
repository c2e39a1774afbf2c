/**
 * Patient actions on viewers: grant a third party a scope (a query at most as wide as one of the
 * relationship's pointers) with an expiry, revoke it, and check access as a gatekeeper would.
 */
import { concatHex, getAbiItem, keccak256, stringToHex, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { toLedgerError, writeLedger } from '../chain/write.js';
import { isWithin, normalizePointerQuery } from '../protocol/pointer-query.js';
import { patientOf, STATUSES, type Status } from './relationships.js';
import { txResult, type TxResult } from './registrar.js';

/** A scope that is not within any pointer of the relationship. */
export class ScopeTooWideError extends Error {
  constructor(scope: string) {
    super(`scope "${scope}" is wider than every pointer of the relationship`);
    this.name = 'ScopeTooWideError';
  }
}

/**
 * The tag the contract stores and revokes a grant under, for `scope` byte for byte as granted (the
 * text of a ViewerGranted event): keccak256 of the viewer's 20 bytes followed by the scope's bytes,
 * as MedLedger.grantTagOf computes it. One word names the viewer and the scope, which is what keeps
 * `revokeViewer` and its event a word shorter (README, "Contract design and gas").
 */
export function grantTagOf(viewer: Address, scope: string): Hex {
  return keccak256(concatHex([viewer, stringToHex(scope)]));
}

/** The tag of a grant of `scope` to `viewer`, the scope normalised as grantViewer normalises it. */
export function grantTag(viewer: Address, scope: string): Hex {
  return grantTagOf(viewer, normalizePointerQuery(scope));
}

/**
 * Lets `viewer` run `scope` on the relationship until `expiresAt` (unix seconds, 0 = no expiry).
 * When `pointers` (the relationship's current queries) is given, the scope must lie within one of
 * them: a patient cannot share more than the provider points to.
 */
export async function grantViewer(
  client: LedgerClient,
  params: { relationshipId: bigint; viewer: Address; scope: string; expiresAt: number; pointers?: readonly string[] },
): Promise<TxResult & { scope: string }> {
  const scope = normalizePointerQuery(params.scope);
  if (params.pointers && !params.pointers.some((p) => isWithin(scope, p))) throw new ScopeTooWideError(scope);
  const receipt = await writeLedger(client, 'grantViewer', [
    params.relationshipId,
    params.viewer,
    scope,
    BigInt(params.expiresAt),
  ]);
  return { ...txResult(receipt), scope };
}

/** Withdraws `viewer`'s grant for `scope`. */
export async function revokeViewer(
  client: LedgerClient,
  { relationshipId, viewer, scope }: { relationshipId: bigint; viewer: Address; scope: string },
): Promise<TxResult> {
  return txResult(await writeLedger(client, 'revokeViewer', [relationshipId, grantTag(viewer, scope)]));
}

/**
 * Resolves with the grant's expiry (0 = none) when `viewer` may run `scope` now; throws LedgerError
 * NotGranted, GrantExpired or RelationshipRejected otherwise.
 */
export async function checkAccess(
  client: LedgerClient,
  { relationshipId, viewer, scope, blockNumber }: { relationshipId: bigint; viewer: Address; scope: string; blockNumber?: bigint },
): Promise<number> {
  try {
    const expiresAt = await client.publicClient.readContract({
      abi: medLedgerAbi,
      address: client.contract,
      functionName: 'checkAccess',
      args: [relationshipId, normalizePointerQuery(scope), viewer],
      blockNumber,
    });
    return Number(expiresAt);
  } catch (err) {
    toLedgerError(err);
  }
}

/** A grant someone holds, as the chain has it now. */
export interface ReceivedGrant {
  relationshipId: bigint;
  patient: Address;
  provider: Address;
  status: Status;
  scope: string;
  /** Unix seconds; 0 = no expiry. */
  expiresAt: number;
}

const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });

/**
 * Every grant `viewer` still holds (not revoked; expired ones included, with their expiry), found
 * from the ViewerGranted events and checked against contract storage at `blockNumber`.
 */
export async function grantsReceived(client: LedgerClient, { viewer, blockNumber }: { viewer: Address; blockNumber?: bigint }): Promise<ReceivedGrant[]> {
  const pc = client.publicClient;
  const at = blockNumber ?? (await pc.getBlockNumber({ cacheTime: 0 }));
  const logs = await pc.getLogs({ address: client.contract, event: viewerGranted, args: { viewer }, fromBlock: client.deployBlock, toBlock: at });
  const seen = new Map<string, { relationshipId: bigint; scope: string }>();
  for (const l of logs) seen.set(`${l.args.relationshipId}:${l.args.scope}`, { relationshipId: l.args.relationshipId!, scope: l.args.scope! });
  const read = { address: client.contract, abi: medLedgerAbi, blockNumber: at } as const;
  const grants = await Promise.all(
    [...seen.values()].map(async ({ relationshipId, scope }): Promise<ReceivedGrant | undefined> => {
      const [rel, grant] = await Promise.all([
        pc.readContract({ ...read, functionName: 'relationshipOf', args: [relationshipId] }),
        pc.readContract({ ...read, functionName: 'grantOf', args: [relationshipId, grantTagOf(viewer, scope)] }),
      ]);
      if (!grant.active) return undefined;
      const status = STATUSES[Number(rel.status)] ?? 'none';
      return { relationshipId, patient: patientOf(relationshipId), provider: rel.provider, status, scope, expiresAt: Number(grant.expiresAt) };
    }),
  );
  return grants.filter((g): g is ReceivedGrant => g !== undefined);
}
