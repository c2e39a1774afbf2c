/**
 * Reads a patient's Summary from the chain alone: relationship ids from events (checked against the
 * count in storage), records from storage, query and scope texts from events, each text checked
 * against the hash kept in storage. This is what a patient who deleted everything local uses to
 * rebuild every pointer and grant (backup / restore).
 */
import { getAbiItem, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { grantTagOf } from './grants.js';
import { hashQuery, STATUSES, type Status } from './relationships.js';

export interface PointerState {
  query: string;
  queryHash: Hex;
  dataHash: Hex;
}

export interface GrantState {
  viewer: Address;
  scope: string;
  scopeHash: Hex;
  /** grantTagOf(viewer, scope): what the contract stores the grant under and ViewerRevoked names. */
  grantTag: Hex;
  /** Unix seconds; 0 = no expiry. */
  expiresAt: number;
}

export interface RelationshipState {
  id: string;
  patient: Address;
  provider: Address;
  status: Status;
  updatedAt: number;
  pointers: PointerState[];
  grants: GrantState[];
}

export interface Summary {
  patient: Address;
  /** Block the summary was read at; every read used this block. */
  blockNumber: string;
  relationships: RelationshipState[];
}

const pointerAdded = getAbiItem({ abi: medLedgerAbi, name: 'PointerAdded' });
const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });
const relationshipAdded = getAbiItem({ abi: medLedgerAbi, name: 'RelationshipAdded' });

/**
 * Every relationship id of `patient` at `blockNumber` (default: latest), in the order they were
 * opened. The contract keeps
 * no list (README, "Contract design and gas"): the ids come from the RelationshipAdded events, indexed
 * by patient, and are checked against the account's relationshipCount, so a node that pruned or cut
 * short its logs is an error rather than a silently shorter Summary.
 */
export async function relationshipIdsOf(client: LedgerClient, patient: Address, blockNumber?: bigint): Promise<bigint[]> {
  const pc = client.publicClient;
  const at = blockNumber ?? (await pc.getBlockNumber({ cacheTime: 0 }));
  const [account, logs] = await Promise.all([
    pc.readContract({ address: client.contract, abi: medLedgerAbi, functionName: 'accountOf', args: [patient], blockNumber: at }),
    pc.getLogs({ address: client.contract, event: relationshipAdded, args: { patient }, fromBlock: client.deployBlock, toBlock: at }),
  ]);
  const ids = [...new Set(logs.map((l) => l.args.relationshipId!))];
  if (ids.length !== account.relationshipCount) {
    throw new Error(`patient ${patient}: ${account.relationshipCount} relationships on chain but ${ids.length} found in events`);
  }
  return ids;
}

/** Reads every relationship, live pointer and live grant of `patient`, consistently at one block. */
export async function readSummary(client: LedgerClient, patient: Address): Promise<Summary> {
  const { publicClient: pc, contract: address } = client;
  // Not viem's cached number: a summary read right after the caller's own transaction must include it.
  const blockNumber = await pc.getBlockNumber({ cacheTime: 0 });
  const at = { address, abi: medLedgerAbi, blockNumber } as const;
  const ids = await relationshipIdsOf(client, patient, blockNumber);
  if (ids.length === 0) return { patient, blockNumber: blockNumber.toString(), relationships: [] };

  const range = { address, fromBlock: client.deployBlock, toBlock: blockNumber } as const;
  const [records, pointerLogs, grantLogs] = await Promise.all([
    Promise.all(ids.map((id) => pc.readContract({ ...at, functionName: 'relationshipOf', args: [id] }))),
    pc.getLogs({ ...range, event: pointerAdded, args: { relationshipId: [...ids] } }),
    pc.getLogs({ ...range, event: viewerGranted, args: { relationshipId: [...ids] } }),
  ]);

  // Texts from events, de-duplicated; storage decides what is still live.
  const queries = new Map<string, { id: bigint; query: string }>();
  for (const log of pointerLogs) queries.set(`${log.args.relationshipId}:${log.args.queryHash}`, { id: log.args.relationshipId!, query: log.args.query! });
  const scopes = new Map<string, { id: bigint; viewer: Address; scope: string }>();
  for (const log of grantLogs) {
    scopes.set(`${log.args.relationshipId}:${grantTagOf(log.args.viewer!, log.args.scope!)}`, {
      id: log.args.relationshipId!,
      viewer: log.args.viewer!,
      scope: log.args.scope!,
    });
  }

  const pointers = await Promise.all(
    [...queries.values()].map(async ({ id, query }) => {
      const queryHash = hashQuery(query);
      const dataHash = await pc.readContract({ ...at, functionName: 'pointerOf', args: [id, queryHash] });
      return { id, pointer: { query, queryHash, dataHash } };
    }),
  );
  const grants = await Promise.all(
    [...scopes.values()].map(async ({ id, viewer, scope }) => {
      const grantTag = grantTagOf(viewer, scope);
      const g = await pc.readContract({ ...at, functionName: 'grantOf', args: [id, grantTag] });
      return { id, active: g.active, grant: { viewer, scope, scopeHash: hashQuery(scope), grantTag, expiresAt: Number(g.expiresAt) } };
    }),
  );

  const relationships = ids.map((id, i): RelationshipState => {
    const r = records[i]!;
    const live = pointers.filter((p) => p.id === id && !/^0x0{64}$/.test(p.pointer.dataHash)).map((p) => p.pointer);
    if (live.length !== r.pointerCount) {
      // Storage says more pointers exist than the node's logs show: the logs were pruned or cut short.
      throw new Error(`relationship ${id}: ${r.pointerCount} pointers on chain but ${live.length} found in events`);
    }
    return {
      id: id.toString(),
      patient,
      provider: r.provider,
      status: STATUSES[r.status] ?? 'none',
      updatedAt: r.updatedAt,
      pointers: live.sort((a, b) => a.query.localeCompare(b.query)),
      grants: grants
        .filter((g) => g.id === id && g.active)
        .map((g) => g.grant)
        .sort((a, b) => `${a.viewer}${a.scope}`.localeCompare(`${b.viewer}${b.scope}`)),
    };
  });
  return { patient, blockNumber: blockNumber.toString(), relationships };
}

/** Rebuilds a patient's full state from the chain alone (alias of readSummary, named for the flow). */
export const restoreFromChain = readSummary;

/** Relationship ids a provider opened, from RelationshipAdded events. */
export async function listProviderRelationships(
  client: LedgerClient,
  provider: Address,
): Promise<{ relationshipId: bigint; patient: Address }[]> {
  const logs = await client.publicClient.getLogs({
    address: client.contract,
    event: relationshipAdded,
    args: { provider },
    fromBlock: client.deployBlock,
    toBlock: 'latest',
  });
  return logs.map((l) => ({ relationshipId: l.args.relationshipId!, patient: l.args.patient! }));
}
