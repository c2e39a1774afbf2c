/**
 * What the chain says about access at this provider, cached and invalidated by chain events.
 *
 * Each cached answer remembers the block it was read at; the MedLedger events of every later block
 * drop the answers they could change (a grant or revoke for that viewer, a status change or a lost
 * accreditation for everyone) before any decision is taken on that block.
 *
 * Freshness. The view follows the head with a `newHeads` subscription (heads.ts): a decision waits
 * until every block announced before the request arrived has been applied, and costs no RPC call
 * otherwise. The only block it can miss is one whose announcement is still on the wire — the view is
 * never stale past one block. While no subscription is live (starting, lost, or a node without
 * WebSocket), it asks the node for the latest block before each decision instead (concurrent callers
 * share one look), which is as strict and costs a round trip.
 */
import { getAbiItem, parseEventLogs, type Address } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { medLedgerAbi } from '../../chain/generated/contracts.js';
import type { ViewerGrant } from '../../consent/policy.js';
import { ROLES } from '../../sdk/registrar.js';
import { grantTagOf } from '../../sdk/grants.js';
import { patientOf, STATUSES } from '../../sdk/relationships.js';
import { GrantViewers } from './grant-viewers.js';
import { followHeads, webSocketUrlOf, type HeadFollower } from './heads.js';

/**
 * A ViewerGrant (consent/policy.ts) as the chain holds it: on one relationship, the patient by address
 * (requester.ts finds the local patient). Expired grants are returned so the caller can answer 410.
 */
export interface ChainGrant extends Omit<ViewerGrant, 'patientId'> {
  relationshipId: bigint;
  patient: Address;
}

/** What an address holds as a key (MedLedger PatientControl), for resolving who signed a request. */
export interface KeyHolding {
  /** A patient whose key a guardian recovery moved: the address no longer signs for itself. */
  moved: boolean;
  /** The patient identity this key signs for after a recovery. */
  controls?: Address;
  /** Delegations to this address (permission bits, MedLedger DELEGATE_*), expired ones included. */
  delegations: { patient: Address; permissions: number; expiresAt: number }[];
}

export interface ChainView {
  /** Brings the cache up to the latest block (coalesced: concurrent callers share one look). */
  sync(): Promise<bigint>;
  /** Live grants `viewer` holds on this provider's relationships (rejected relationships excluded). */
  grantsOf(viewer: Address, synced?: bigint): Promise<ChainGrant[]>;
  /**
   * What `address` holds as a key; the same object until a ControllerChanged or DelegateSet event
   * concerns it. `synced`: a block sync() returned for this same request, so it needs no second look.
   */
  keyOf(address: Address, synced?: bigint): Promise<KeyHolding>;
  readonly provider: Address;
  /** True while blocks are followed by subscription (false: each decision asks the node). */
  readonly following: boolean;
  /** Stops following the head. */
  close(): void;
}

export interface ChainViewOptions {
  /** WebSocket JSON-RPC URL to follow the head on; default: the client's HTTP URL as ws(s):. `false`: never subscribe. */
  headsUrl?: string | false;
}

const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });
const delegateSet = getAbiItem({ abi: medLedgerAbi, name: 'DelegateSet' });
// The contracts' enum values (MedLedger.Status, Registrar.Role), by their names in the SDK.
const REJECTED = STATUSES.indexOf('rejected');
const CONTROLLER = ROLES.indexOf('controller');

/**
 * Which cached answers an event could have changed: per address (a grant names its viewer, a revoke
 * its grant tag, whose viewer `viewers` knows; a key change or delegation its holders) or everyone's
 * (a status change, a lost accreditation, a revoke whose viewer cannot be found).
 */
class Invalidations {
  private readonly changedAt = new Map<string, bigint>();
  private allChangedAt = -1n;
  /** Grant tag → viewer, to name the viewer a ViewerRevoked event concerns. */
  readonly viewers = new GrantViewers();

  /** The chain rolled back or reorganised: nothing read before `latest` can be trusted. */
  reset(latest: bigint): void {
    this.changedAt.clear();
    this.allChangedAt = latest;
  }

  /** Applies a look's events, once `viewers` learnt from them (GrantViewers.learnFrom). */
  apply(logs: ReturnType<typeof parseEventLogs<typeof medLedgerAbi>>): void {
    for (const log of logs) {
      if (log.eventName === 'ViewerGranted') {
        this.changedAt.set(log.args.viewer.toLowerCase(), log.blockNumber);
      } else if (log.eventName === 'ViewerRevoked') {
        const viewer = this.viewers.viewerOf(log.args.grantTag);
        if (viewer) this.changedAt.set(viewer.toLowerCase(), log.blockNumber);
        else this.allChangedAt = log.blockNumber; // whose it was is unknown: it may be anyone's answer
      } else if (log.eventName === 'StatusChanged' || log.eventName === 'AccreditationRevoked') {
        this.allChangedAt = log.blockNumber; // a rejection (or a lost accreditation) changes every viewer of it
      } else if (log.eventName === 'ControllerChanged') {
        for (const a of [log.args.patient, log.args.previous, log.args.controller]) this.changedAt.set(a.toLowerCase(), log.blockNumber);
      } else if (log.eventName === 'DelegateSet') {
        this.changedAt.set(log.args.delegate.toLowerCase(), log.blockNumber);
      }
    }
  }

  /** Whether an answer about `key` read at block `at` is still what the chain says. */
  fresh(key: string, at: bigint): boolean {
    return at >= this.allChangedAt && at >= (this.changedAt.get(key) ?? -1n);
  }
}

/** Answers per address, each remembering the block it was read at, reused while still fresh. */
class CachedAnswers<T> {
  private readonly entries = new Map<string, { at: bigint; value: Promise<T> }>();

  constructor(private readonly invalidations: Invalidations) {}

  get(address: Address, at: bigint, load: () => Promise<T>): Promise<T> {
    const key = address.toLowerCase();
    const entry = this.entries.get(key);
    if (entry && this.invalidations.fresh(key, entry.at)) return entry.value;
    const value = load();
    this.entries.set(key, { at, value });
    value.catch(() => this.entries.delete(key));
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * The live grants `viewer` holds on `provider`'s relationships at block `at`, from events then state;
 * the tags of the grants it sees are taught to `viewers` (a later revoke of one then names its viewer).
 */
async function loadGrants(client: LedgerClient, provider: Address, viewer: Address, at: bigint, viewers: GrantViewers): Promise<ChainGrant[]> {
  const pc = client.publicClient;
  const logs = await pc.getLogs({ address: client.contract, event: viewerGranted, args: { viewer }, fromBlock: client.deployBlock, toBlock: at });
  const seen = new Map<string, { relationshipId: bigint; scope: string }>();
  for (const l of logs) {
    seen.set(`${l.args.relationshipId}:${l.args.scope}`, { relationshipId: l.args.relationshipId!, scope: l.args.scope! });
    viewers.learn(viewer, l.args.scope!);
  }
  const read = { address: client.contract, abi: medLedgerAbi, blockNumber: at } as const;
  const result = await Promise.all(
    [...seen.values()].map(async ({ relationshipId, scope }) => {
      const [rel, grant] = await Promise.all([
        pc.readContract({ ...read, functionName: 'relationshipOf', args: [relationshipId] }),
        pc.readContract({ ...read, functionName: 'grantOf', args: [relationshipId, grantTagOf(viewer, scope)] }),
      ]);
      if (rel.provider.toLowerCase() !== provider.toLowerCase() || rel.status === REJECTED || !grant.active) return undefined;
      return { relationshipId, patient: patientOf(relationshipId), scope, expiresAt: Number(grant.expiresAt) };
    }),
  );
  return result.filter((g): g is ChainGrant => g !== undefined);
}

/** What `address` holds as a key at block `at`: moved or not, whom it controls, its delegations. */
async function loadKeyHolding(client: LedgerClient, address: Address, at: bigint): Promise<KeyHolding> {
  const pc = client.publicClient;
  const read = { address: client.contract, abi: medLedgerAbi, blockNumber: at } as const;
  const [account, logs] = await Promise.all([
    pc.readContract({ ...read, functionName: 'accountOf', args: [address] }),
    pc.getLogs({ address: client.contract, event: delegateSet, args: { delegate: address }, fromBlock: client.deployBlock, toBlock: at }),
  ]);
  const controls = account.role === CONTROLLER ? await pc.readContract({ ...read, functionName: 'patientOfController', args: [address] }) : undefined;
  const delegations = await Promise.all(
    [...new Set(logs.map((l) => l.args.patient!))].map(async (patient) => {
      const d = await pc.readContract({ ...read, functionName: 'delegationOf', args: [patient, address] });
      return { patient, permissions: d.permissions, expiresAt: Number(d.expiresAt) };
    }),
  );
  return { moved: account.keyMoved, ...(controls ? { controls } : {}), delegations: delegations.filter((d) => d.permissions !== 0) };
}

export function createChainView(client: LedgerClient, provider: Address, options: ChainViewOptions = {}): ChainView {
  const pc = client.publicClient;
  /** Events are applied up to this block. */
  let block = -1n;
  /** Newest block announced by the subscription, while `live`; `reorg` when a height came again. */
  let head = -1n;
  let live = false;
  let reorg = false;
  let follower: HeadFollower | undefined;
  let closed = false;
  const invalidations = new Invalidations();
  const grants = new CachedAnswers<ChainGrant[]>(invalidations);
  const keys = new CachedAnswers<KeyHolding>(invalidations);
  let running: Promise<bigint> | undefined;
  let queued: Promise<bigint> | undefined;

  const httpUrl = (pc.transport as { url?: string }).url;
  const headsUrl = options.headsUrl ?? (httpUrl ? webSocketUrlOf(httpUrl) : false);
  /** Starts following on first use (a view nobody asks opens no socket). */
  function follow() {
    if (follower || closed || !headsUrl) return;
    follower = followHeads(headsUrl, {
      onSubscribed() {
        // Announcements flow from here on; the block they start after is read once.
        pc.getBlockNumber({ cacheTime: 0 }).then(
          (latest) => {
            if (latest > head) head = latest;
            live = true;
          },
          () => undefined, // stays strict; the next loss and resubscription try again
        );
      },
      onHead(number) {
        if (number <= head) reorg = true; // a height announced again: the chain reorganised
        head = number;
        if (live) void sync().catch(() => undefined); // apply its events before anyone asks
      },
      onLost() {
        live = false;
        head = -1n; // announcements restart with the next subscription
        // The node may have restarted, and a dev node restarts from its last state save: the chain can
        // have lost blocks and grown back past ours with other events (a revoke at a height we had
        // seen). Forget everything at the next look (test/fault.test.ts).
        reorg = true;
      },
    });
  }

  /** One step: to the announced head (live) or to the latest block the node reports (strict). */
  async function look(): Promise<bigint> {
    let latest: bigint;
    try {
      latest = live ? head : await pc.getBlockNumber({ cacheTime: 0 });
    } catch (err) {
      reorg = true; // unreachable: the node may be restarting, from an older state (see onLost)
      throw err;
    }
    if (latest < block || reorg) {
      // The chain rolled back (dev node crash) or reorganised: forget everything.
      grants.clear();
      keys.clear();
      invalidations.reset(latest);
      reorg = false;
    } else if (latest > block && block >= 0n) {
      const logs = parseEventLogs({ abi: medLedgerAbi, logs: await pc.getLogs({ address: client.contract, fromBlock: block + 1n, toBlock: latest }) });
      // A revoke names a grant tag: find its viewer before any decision on these blocks is taken.
      await invalidations.viewers.learnFrom(client, logs, latest);
      invalidations.apply(logs);
    }
    block = latest;
    return latest;
  }

  function sync(): Promise<bigint> {
    follow();
    // Following, with every announced block applied: nothing can have changed since.
    if (live && block >= head && !running && !reorg) return Promise.resolve(block);
    // Otherwise a caller must see a look that *started* after it arrived: join the queued one, or queue one.
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

  return {
    provider,
    get following() {
      return live;
    },
    close() {
      closed = true;
      live = false;
      follower?.close();
    },
    sync,
    async grantsOf(viewer, synced) {
      const at = synced ?? (await sync());
      return grants.get(viewer, at, () => loadGrants(client, provider, viewer, at, invalidations.viewers));
    },
    async keyOf(address, synced) {
      const at = synced ?? (await sync());
      return keys.get(address, at, () => loadKeyHolding(client, address, at));
    },
  };
}
