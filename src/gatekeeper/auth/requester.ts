/**
 * Who is asking: this gatekeeper's own provider, a patient of this provider, or a third party with
 * grants on chain. The answer is the input of the consent compiler.
 */
import { getAbiItem, type Address } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { medLedgerAbi } from '../../chain/generated/contracts.js';
import { patientOf } from '../../sdk/relationships.js';
import type { Requester } from '../../consent/policy.js';
import type { RecordStore } from '../../records/store.js';
import { ADDRESS_SYSTEM } from '../../protocol/identifiers.js';
import type { ChainGrant, ChainView, KeyHolding } from '../chain/chain-view.js';
import type { OpenEmergency } from './break-glass.js';

export interface ResolvedRequester {
  requester: Requester;
  /** Local Patient id of the requester when they are a patient here. */
  patientId?: string;
  /** Set when the request reads under an open break-glass: whose records, and the stated reason. */
  emergency?: { patientId: string; reason: string };
}

/** MedLedger PatientControl.DELEGATE_READ. */
const DELEGATE_READ = 4;

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

const PROVIDER: ResolvedRequester = Object.freeze({ requester: Object.freeze({ role: 'provider' }) });

/** Remembered answers per store and chain view, by address; emptied when it grows past this. */
const RESOLVED_MAX = 10_000;
type Remembered = { generation: number; holding: KeyHolding; grants?: readonly ChainGrant[]; value: ResolvedRequester };
const remembered = new WeakMap<RecordStore, WeakMap<ChainView, Map<string, Remembered>>>();

// A module function: a closure in resolveRequester would be made (and, under tsx, named) on every request.
function remember(known: Map<string, Remembered>, key: string, entry: Remembered): ResolvedRequester {
  if (known.size >= RESOLVED_MAX) known.clear();
  known.set(key, entry);
  return entry.value;
}

/**
 * Who `address` is here. The same object comes back while the store has not been written and the
 * chain view returns the same grants, so what is compiled from it can be cached by identity
 * (policy-cache.ts). Treat it as read-only.
 *
 * Keys: a patient is found by the chain address on their local Patient — their identity, which never
 * changes. After a guardian recovery the identity's new key is that patient here and the old key is
 * nobody; a delegate with the read permission reads as a third party would. `emergency` (confirmed on
 * chain by break-glass.ts) adds the emergency data set of that patient, for this request only.
 */
export async function resolveRequester(store: RecordStore, chain: ChainView, address: Address, emergency?: OpenEmergency): Promise<ResolvedRequester> {
  const key = address.toLowerCase();
  if (key === chain.provider.toLowerCase()) return PROVIDER;
  let byChain = remembered.get(store);
  if (!byChain) remembered.set(store, (byChain = new WeakMap()));
  let known = byChain.get(chain);
  if (!known) byChain.set(chain, (known = new Map()));
  const generation = store.generation;
  const last = known.get(key);
  const at = await chain.sync(); // one look at the chain serves both questions below
  const holding = await chain.keyOf(address, at);
  const own =
    (holding.moved ? undefined : await patientIdOf(store, address)) ?? (holding.controls ? await patientIdOf(store, holding.controls) : undefined);
  if (own) {
    if (last && last.generation === generation && last.holding === holding && !last.grants && last.value.patientId === own) return last.value;
    return remember(known, key, { generation, holding, value: { requester: { role: 'patient', patientId: own }, patientId: own } });
  }
  const grants = await chain.grantsOf(address, at);
  if (!emergency && last && last.generation === generation && last.holding === holding && last.grants === grants) return last.value;
  const resolved = await Promise.all(
    grants.map(async (g) => {
      const patientId = await patientIdOf(store, g.patient);
      return patientId ? { patientId, scope: g.scope, expiresAt: g.expiresAt } : undefined;
    }),
  );
  const delegations = await Promise.all(
    holding.delegations
      .filter((d) => (d.permissions & DELEGATE_READ) !== 0)
      .map(async (d) => {
        const patientId = await patientIdOf(store, d.patient);
        return patientId ? { patientId, expiresAt: d.expiresAt } : undefined;
      }),
  );
  const viewer = {
    role: 'viewer' as const,
    grants: resolved.filter((g) => g !== undefined),
    ...(delegations.some((d) => d) ? { delegations: delegations.filter((d) => d !== undefined) } : {}),
  };
  const emergent = emergency && (await patientIdOf(store, emergency.patient));
  if (emergency && emergent) {
    // Never remembered: each emergency request is confirmed on chain afresh.
    return {
      requester: { ...viewer, emergencies: [{ patientId: emergent, expiresAt: emergency.expiresAt, reason: emergency.reason }] },
      emergency: { patientId: emergent, reason: emergency.reason },
    };
  }
  return remember(known, key, { generation, holding, grants, value: { requester: viewer } });
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
