/**
 * Whose grant a `ViewerRevoked` event ends. The event names the grant by its tag only,
 * keccak256(viewer ‖ scope) (MedLedger.grantTagOf: one word instead of two keeps revokeViewer under
 * its gas target, README "Contract design and gas"), while the chain view caches answers per viewer.
 * The viewer is found where the pair is written out: the `ViewerGranted` events, which carry both.
 *
 * A tag names exactly one (viewer, scope) pair, so what is learnt here stays true through rollbacks
 * and reorganisations; the map is bounded only to bound memory (an evicted tag is looked up again).
 */
import { getAbiItem, type Address, type Hex, type parseEventLogs } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { medLedgerAbi } from '../../chain/generated/contracts.js';
import { grantTagOf } from '../../sdk/grants.js';

const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });

/** Grant tag → viewer, for the tags seen in ViewerGranted events (the most recent `limit` of them). */
export class GrantViewers {
  private readonly viewers = new Map<Hex, Address>();

  constructor(private readonly limit = 100_000) {}

  /** Records the viewer of a ViewerGranted event's (viewer, scope). */
  learn(viewer: Address, scope: string): void {
    const tag = grantTagOf(viewer, scope);
    this.viewers.delete(tag); // re-inserted as the newest
    this.viewers.set(tag, viewer);
    if (this.viewers.size > this.limit) this.viewers.delete(this.viewers.keys().next().value!);
  }

  /** The viewer of grant `tag`, if a ViewerGranted event for it was learnt (and not evicted). */
  viewerOf(tag: Hex): Address | undefined {
    return this.viewers.get(tag);
  }

  /**
   * Learns the grants of a look's events (`logs`, up to block `at`), then, for revokes whose tag is
   * still unknown (the grant predates the view and its viewer's answer was not read since), every
   * grant ever made on their relationships: one getLogs call, made only for such revokes. A tag still
   * unknown after it (the node pruned its logs) is the caller's to treat as "anyone's".
   */
  async learnFrom(client: LedgerClient, logs: ReturnType<typeof parseEventLogs<typeof medLedgerAbi>>, at: bigint): Promise<void> {
    for (const l of logs) if (l.eventName === 'ViewerGranted') this.learn(l.args.viewer, l.args.scope);
    const unknown = logs.flatMap((l) => (l.eventName === 'ViewerRevoked' && !this.viewers.has(l.args.grantTag) ? [l.args] : []));
    if (unknown.length === 0) return;
    const granted = await client.publicClient.getLogs({
      address: client.contract,
      event: viewerGranted,
      args: { relationshipId: [...new Set(unknown.map((r) => r.relationshipId))] },
      fromBlock: client.deployBlock,
      toBlock: at,
    });
    for (const l of granted) this.learn(l.args.viewer!, l.args.scope!);
  }
}
