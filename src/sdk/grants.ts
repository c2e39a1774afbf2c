/**
 * Patient actions on viewers: grant a third party a scope (a query at most as wide as one of the
 * relationship's pointers) with an expiry, revoke it, and check access as a gatekeeper would.
 */
import { type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { toLedgerError, writeLedger } from '../chain/write.js';
import { isWithin, normalizePointerQuery } from '../consent/query.js';
import { hashQuery } from './relationships.js';
import { txResult, type TxResult } from './registrar.js';

/** A scope that is not within any pointer of the relationship. */
export class ScopeTooWideError extends Error {
  constructor(scope: string) {
    super(`scope "${scope}" is wider than every pointer of the relationship`);
    this.name = 'ScopeTooWideError';
  }
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
  const scopeHash = hashQuery(normalizePointerQuery(scope));
  return txResult(await writeLedger(client, 'revokeViewer', [relationshipId, viewer, scopeHash]));
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
      args: [relationshipId, viewer, hashQuery(normalizePointerQuery(scope))],
      blockNumber,
    });
    return Number(expiresAt);
  } catch (err) {
    toLedgerError(err);
  }
}
