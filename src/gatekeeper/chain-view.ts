/**
 * What the chain says about access at this provider, cached and kept fresh: before each decision
 * the view looks at the latest block and drops every cached answer that block's events could change,
 * so no decision is older than the newest block the node knows when the request arrives.
 */
import { getAbiItem, parseEventLogs, type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { hashQuery, patientOf } from '../sdk/relationships.js';

export interface ViewerGrant {
  relationshipId: bigint;
  patient: Address;
  scope: string;
  /** Unix seconds; 0 = no expiry. Expired grants are returned so the caller can answer 410. */
  expiresAt: number;
}

export interface ChainView {
  /** Brings the cache up to the latest block (coalesced: concurrent callers share one look). */
  sync(): Promise<bigint>;
  /** Live grants `viewer` holds on this provider's relationships (rejected relationships excluded). */
  grantsOf(viewer: Address): Promise<ViewerGrant[]>;
  readonly provider: Address;
}

const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });
const REJECTED = 5;

export function createChainView(client: LedgerClient, provider: Address): ChainView {
  const pc = client.publicClient;
  let block = -1n;
  // Each cached answer remembers the block it was read at; it is reused only if no event since then
  // could have changed it (per viewer, or for everyone).
  const grants = new Map<string, { at: bigint; value: Promise<ViewerGrant[]> }>();
  const changedAt = new Map<string, bigint>();
  let allChangedAt = -1n;
  let running: Promise<bigint> | undefined;
  let queued: Promise<bigint> | undefined;

  async function look(): Promise<bigint> {
    const latest = await pc.getBlockNumber({ cacheTime: 0 });
    if (latest < block) {
      grants.clear(); // the chain rolled back (dev node crash): forget everything
      allChangedAt = latest;
    } else if (latest > block && block >= 0n) {
      const logs = parseEventLogs({
        abi: medLedgerAbi,
        logs: await pc.getLogs({ address: client.contract, fromBlock: block + 1n, toBlock: latest }),
      });
      for (const log of logs) {
        if (log.eventName === 'ViewerGranted' || log.eventName === 'ViewerRevoked') {
          changedAt.set(log.args.viewer.toLowerCase(), log.blockNumber);
        } else if (log.eventName === 'StatusChanged' || log.eventName === 'AccreditationRevoked') {
          allChangedAt = log.blockNumber; // a rejection (or a lost accreditation) changes every viewer of it
        }
      }
    }
    block = latest;
    return latest;
  }

  function sync(): Promise<bigint> {
    // A caller must see a look that *started* after it arrived: join the queued one, or queue one.
    if (!running) {
      running = look().finally(() => (running = undefined));
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return sync();
      });
    return queued;
  }

  async function load(viewer: Address, at: bigint): Promise<ViewerGrant[]> {
    const logs = await pc.getLogs({ address: client.contract, event: viewerGranted, args: { viewer }, fromBlock: client.deployBlock, toBlock: at });
    const seen = new Map<string, { relationshipId: bigint; scope: string }>();
    for (const l of logs) seen.set(`${l.args.relationshipId}:${l.args.scopeHash}`, { relationshipId: l.args.relationshipId!, scope: l.args.scope! });
    const read = { address: client.contract, abi: medLedgerAbi, blockNumber: at } as const;
    const result = await Promise.all(
      [...seen.values()].map(async ({ relationshipId, scope }) => {
        const [rel, grant] = await Promise.all([
          pc.readContract({ ...read, functionName: 'relationshipOf', args: [relationshipId] }),
          pc.readContract({ ...read, functionName: 'grantOf', args: [relationshipId, viewer, hashQuery(scope)] }),
        ]);
        if (rel.provider.toLowerCase() !== provider.toLowerCase() || rel.status === REJECTED || !grant.active) return undefined;
        return { relationshipId, patient: patientOf(relationshipId), scope, expiresAt: Number(grant.expiresAt) };
      }),
    );
    return result.filter((g): g is ViewerGrant => g !== undefined);
  }

  return {
    provider,
    sync,
    async grantsOf(viewer) {
      const at = await sync();
      const key = viewer.toLowerCase();
      const entry = grants.get(key);
      const fresh = (e: { at: bigint }) => e.at >= allChangedAt && e.at >= (changedAt.get(key) ?? -1n);
      if (entry && fresh(entry)) return entry.value;
      const value = load(viewer, at);
      grants.set(key, { at, value });
      value.catch(() => grants.delete(key));
      return value;
    },
  };
}
