/**
 * Checking a provider's records against the ledger, pointer by pointer, here in the browser: each
 * pointer's query is run at the gatekeeper and the keccak256 of its canonical result set
 * (src/records/hash.ts) is compared with the data hash on chain. For a mismatch the people-facing
 * question is "did the provider change these after recording them?", so each pointer also carries when
 * its hash was last put on chain (the block of its latest PointerAdded or PointerUpdated event,
 * contracts/MedLedger.sol) and which of its records were updated (meta.lastUpdated) after that.
 * A pointer whose new hash the gatekeeper has sent and not yet seen mined is "publishing", not a
 * mismatch, when that pending hash is exactly the records' hash, or none is sent yet (freshness.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import { getAbiItem, type Hex } from 'viem';
import type { LedgerClient } from '../../../../chain/client.js';
import { medLedgerAbi } from '../../../../chain/generated/contracts.js';
import { hashResultSet, type ResourceLike } from '../../../../records/hash.js';
import type { RelationshipState } from '../../../../sdk/summary.js';
import type { GatekeeperClient } from '../../../../sdk/gatekeeper.js';
import { resourcesOf, scopeLabel } from '../../lib/fhir.js';
import { pendingOf, pointerStatus, type Pending, type PointerStatus } from './freshness.js';

export interface Published {
  block: bigint;
  /** ISO time of that block. */
  at: string;
}

export interface PointerCheck {
  query: string;
  /** The pointer in words: "Lab results". */
  label: string;
  /** The hash on chain, and the hash of what the gatekeeper returned now. */
  onChain: Hex;
  computed: Hex;
  matches: boolean;
  /** matches → current; else publishing when `pending.hash` is `computed` (or none is sent yet), or mismatch. */
  status: PointerStatus;
  /** The change the gatekeeper said it has not yet seen mined (the hash it sent, if any, and since when). */
  pending?: Pending;
  /** The records the pointer's query returns now. */
  resources: Resource[];
  /** When the provider last recorded this pointer's hash on chain (undefined if its event is not found). */
  published?: Published;
  /** Records updated after `published`: what the provider changed without recording it. */
  changedAfter: Resource[];
}

const pointerAdded = getAbiItem({ abi: medLedgerAbi, name: 'PointerAdded' });
const pointerUpdated = getAbiItem({ abi: medLedgerAbi, name: 'PointerUpdated' });

/** queryHash → the block (and its time) of the pointer's latest PointerAdded/PointerUpdated on relationship `id`, up to `toBlock`. */
export async function publishedTimes(ledger: LedgerClient, id: bigint, toBlock: bigint): Promise<Map<string, Published>> {
  const pc = ledger.publicClient;
  const range = { address: ledger.contract, args: { relationshipId: id }, fromBlock: ledger.deployBlock, toBlock } as const;
  const [added, updated] = await Promise.all([pc.getLogs({ ...range, event: pointerAdded }), pc.getLogs({ ...range, event: pointerUpdated })]);
  const latest = new Map<string, { block: bigint; index: number }>();
  for (const log of [...added, ...updated]) {
    const key = log.args.queryHash!.toLowerCase();
    const seen = latest.get(key);
    if (!seen || log.blockNumber > seen.block || (log.blockNumber === seen.block && log.logIndex > seen.index)) latest.set(key, { block: log.blockNumber, index: log.logIndex });
  }
  const blocks = [...new Set([...latest.values()].map((l) => l.block))];
  const times = new Map(await Promise.all(blocks.map(async (b) => [b, new Date(Number((await pc.getBlock({ blockNumber: b })).timestamp) * 1000).toISOString()] as const)));
  return new Map([...latest].map(([k, l]) => [k, { block: l.block, at: times.get(l.block)! }]));
}

export interface LedgerCheckResult {
  checks: PointerCheck[];
  /** The chain block the hashes were read at. */
  checkedAt: string;
}

/**
 * Runs every pointer of `rel` at its gatekeeper and compares the result with the chain. The
 * gatekeeper is asked first and the chain after, at one block read then, so a batch mined in between
 * reads as current rather than as a mismatch; the hashes on chain are read now, not taken from `rel`
 * (the Summary may be older than the batch), so checking again after a batch is mined finds it.
 */
export async function checkPointers(gk: GatekeeperClient, ledger: LedgerClient, rel: RelationshipState): Promise<LedgerCheckResult> {
  const read = await Promise.all(
    rel.pointers.map(async (p) => {
      const r = await gk.get(`/fhir/R4/${p.query}${p.query.includes('?') ? '&' : '?'}_count=1000`);
      const resources = resourcesOf(r.body);
      return { pointer: p, resources, computed: hashResultSet(resources as ResourceLike[]), pending: pendingOf(r.headers) };
    }),
  );
  const pc = ledger.publicClient;
  const id = BigInt(rel.id);
  const block = await pc.getBlockNumber({ cacheTime: 0 });
  const [times, onChain] = await Promise.all([
    publishedTimes(ledger, id, block),
    Promise.all(rel.pointers.map((p) => pc.readContract({ address: ledger.contract, abi: medLedgerAbi, functionName: 'pointerOf', args: [id, p.queryHash], blockNumber: block }))),
  ]);
  const checks = read.map(({ pointer: p, resources, computed, pending }, i): PointerCheck => {
    const hash = onChain[i]!;
    const published = times.get(p.queryHash.toLowerCase());
    // A block time has whole seconds: only a change in a later second is surely after it.
    const after = published && new Date(Date.parse(published.at) + 1000).toISOString();
    const changedAfter = after ? resources.filter((x) => (x.meta?.lastUpdated ?? '') >= after) : [];
    const status = pointerStatus(hash, computed, pending);
    return { query: p.query, label: scopeLabel(p.query), onChain: hash, computed, matches: status === 'current', status, pending, resources, published, changedAfter };
  });
  return { checks, checkedAt: block.toString() };
}
