/**
 * Who is asking: this gatekeeper's own provider, a patient of this provider, or a third party with
 * grants on chain. The answer is the input of the consent compiler.
 */
import { getAbiItem, type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { patientOf } from '../sdk/relationships.js';
import type { Requester } from '../consent/policy.js';
import type { RecordStore } from '../records/store.js';
import { ADDRESS_SYSTEM } from './audit.js';
import type { ChainView } from './chain-view.js';

export interface ResolvedRequester {
  requester: Requester;
  /** Local Patient id of the requester when they are a patient here. */
  patientId?: string;
}

const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });

const linked = new WeakMap<RecordStore, { generation: number; ids: Map<string, string | undefined> }>();

/**
 * The local Patient id linked to a chain address (Patient.identifier `urn:medledger:address|0x…`).
 * Cached per store until the store's next write (a write may link or unlink a patient).
 */
export async function patientIdOf(store: RecordStore, address: Address): Promise<string | undefined> {
  let cache = linked.get(store);
  if (!cache || cache.generation !== store.generation) {
    cache = { generation: store.generation, ids: new Map() };
    linked.set(store, cache);
  }
  const key = address.toLowerCase();
  if (cache.ids.has(key)) return cache.ids.get(key);
  const id = (await store.findPatientByIdentifier(ADDRESS_SYSTEM, key))?.id;
  cache.ids.set(key, id);
  return id;
}

export async function resolveRequester(store: RecordStore, chain: ChainView, address: Address): Promise<ResolvedRequester> {
  if (address.toLowerCase() === chain.provider.toLowerCase()) return { requester: { role: 'provider' } };
  const own = await patientIdOf(store, address);
  if (own) return { requester: { role: 'patient', patientId: own }, patientId: own };
  const grants = await chain.grantsOf(address);
  const resolved = await Promise.all(
    grants.map(async (g) => {
      const patientId = await patientIdOf(store, g.patient);
      return patientId ? { patientId, scope: g.scope, expiresAt: g.expiresAt } : undefined;
    }),
  );
  return { requester: { role: 'viewer', grants: resolved.filter((g) => g !== undefined) } };
}

/**
 * Local Patient ids of everyone who ever granted `viewer` anything at this provider, revoked grants
 * included. A refused read by a viewer is filed under these patients, so a patient sees in "who read
 * my data" that someone they once shared with tried again after the revoke (or the expiry).
 */
export async function formerGrantors(store: RecordStore, ledger: LedgerClient, provider: Address, viewer: Address): Promise<string[]> {
  const pc = ledger.publicClient;
  const logs = await pc.getLogs({ address: ledger.contract, event: viewerGranted, args: { viewer }, fromBlock: ledger.deployBlock, toBlock: 'latest' });
  const relationships = [...new Set(logs.map((l) => l.args.relationshipId!))];
  const ids = await Promise.all(
    relationships.map(async (relationshipId) => {
      const rel = await pc.readContract({ address: ledger.contract, abi: medLedgerAbi, functionName: 'relationshipOf', args: [relationshipId] });
      return rel.provider.toLowerCase() === provider.toLowerCase() ? patientIdOf(store, patientOf(relationshipId)) : undefined;
    }),
  );
  return [...new Set(ids.filter((id): id is string => id !== undefined))];
}
