/**
 * Checking a gatekeeper's audit trail against the chain ("who read my data"): each entry's
 * AuditEvent hashes to its Merkle leaf, its proof leads to a root, and the provider anchored that
 * root on chain. Pure viem, so the EHR Manager runs it in the browser too.
 *
 * An anchor is an AuditAnchored event, not a storage slot (MedLedger.anchorAudit): storage keeps one
 * record per provider, whose `head` is a hash chain over all its anchors. An event comes from
 * eth_getLogs, which a node could make up; the head is contract state, read like every other fact
 * the SDK trusts (a grant, a pointer). So an anchor counts only when the heads of the provider's events
 * from it onwards, each keccak256(abi.encode(previous head, root, firstSeq, count, anchoredAt)), lead
 * to the head in storage: a made-up or altered event breaks the chain, and finding one that keeps it
 * would mean a keccak256 collision. (A node that leaves events out makes verification fail, never pass.)
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { encodeAbiParameters, getAbiItem, keccak256, stringToBytes, type Address, type Hex, type Log } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { canonicalJson } from '../records/hash.js';
import { processProof } from '../protocol/merkle.js';

export interface AuditEntry {
  seq: string;
  event: AuditEvent;
  leaf: Hex;
  /** Absent until the batch is anchored. */
  root?: Hex;
  proof?: Hex[];
}

/** Who made the request an audit entry records: the requestor agent's address, lower-case ('' when none). */
export const requesterOf = (event: AuditEvent): string => event.agent?.find((a) => a.requestor)?.who?.identifier?.value?.toLowerCase() ?? '';

/** The request an audit entry records ("GET /fhir/R4/Observation?category=laboratory"), decoded from its entity query ('' when none or unreadable). */
export function requestOf(event: AuditEvent): string {
  const q = event.entity?.find((x) => x.query)?.query;
  try {
    return q ? atob(q) : '';
  } catch {
    return '';
  }
}

/** The Merkle leaf of an AuditEvent: keccak256 of its canonical JSON. */
export const auditLeaf = (event: AuditEvent): Hex => keccak256(stringToBytes(canonicalJson(event)));

/** One audit anchor of a provider, as its AuditAnchored event states it. */
export interface AuditAnchor {
  root: Hex;
  /** The anchor covers sequence numbers firstSeq to firstSeq + count - 1. */
  firstSeq: bigint;
  count: bigint;
  /** Block time of the anchor (unix seconds). */
  anchoredAt: number;
  /** The provider's head before this anchor (0x00… before its first). */
  previousHead: Hex;
}

const auditAnchored = getAbiItem({ abi: medLedgerAbi, name: 'AuditAnchored' });
const HEAD_FIELDS = [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint64' }, { type: 'uint64' }, { type: 'uint64' }] as const;

/** The provider's head once `a` is anchored: what MedLedger.anchorAudit stores. */
export const auditHeadAfter = (a: AuditAnchor): Hex =>
  keccak256(encodeAbiParameters(HEAD_FIELDS, [a.previousHead, a.root, a.firstSeq, a.count, BigInt(a.anchoredAt)]));

function anchorOfLog(log: Log<bigint, number, false, typeof auditAnchored>): AuditAnchor {
  const a = log.args as Required<typeof log.args>;
  return { root: a.root.toLowerCase() as Hex, firstSeq: a.firstSeq, count: a.count, anchoredAt: Number(a.anchoredAt), previousHead: a.previousHead };
}

/** The provider's audit record on chain: its head and the sequence number its next anchor must start at (both 0 before the first). */
export async function auditChainOf(client: LedgerClient, provider: Address, blockNumber?: bigint): Promise<{ head: Hex; nextSeq: bigint }> {
  const [head, nextSeq] = await client.publicClient.readContract({ address: client.contract, abi: medLedgerAbi, functionName: 'auditChainOf', args: [provider], blockNumber });
  return { head, nextSeq };
}

/** The provider's anchor that starts at sequence number `firstSeq`, as the node reports it (the gatekeeper reads its own anchors back with it). */
export async function auditAnchorStartingAt(client: LedgerClient, provider: Address, firstSeq: bigint): Promise<AuditAnchor | undefined> {
  const logs = await client.publicClient.getLogs({ address: client.contract, event: auditAnchored, args: { provider, firstSeq }, fromBlock: client.deployBlock, toBlock: 'latest' });
  return logs.length ? anchorOfLog(logs[logs.length - 1]!) : undefined;
}

/**
 * The provider's anchors from the first one of `root` up to its latest, proven against its head in
 * storage (module comment); none when no event names `root`. Throws when the events do not chain.
 */
async function provenAnchorsFrom(client: LedgerClient, provider: Address, root: Hex): Promise<AuditAnchor[]> {
  const pc = client.publicClient;
  const at = await pc.getBlockNumber();
  const range = { address: client.contract, event: auditAnchored, fromBlock: client.deployBlock, toBlock: at } as const;
  const found = await pc.getLogs({ ...range, args: { provider, root } });
  if (found.length === 0) return [];
  const [{ head }, logs] = await Promise.all([auditChainOf(client, provider, at), pc.getLogs({ ...range, args: { provider }, fromBlock: found[0]!.blockNumber })]);
  const anchors = logs.map(anchorOfLog);
  for (let i = 1; i < anchors.length; i++) {
    if (anchors[i]!.previousHead !== auditHeadAfter(anchors[i - 1]!)) throw new Error(`the audit anchors of ${provider} the node returned do not chain (after root ${anchors[i - 1]!.root})`);
  }
  if (anchors.length === 0 || auditHeadAfter(anchors[anchors.length - 1]!) !== head) throw new Error(`the audit anchors of ${provider} the node returned do not lead to its head on chain`);
  return anchors;
}

/**
 * Anchors proven so far, per client and provider: a trail's entries share a few roots, and one walk
 * from the oldest proves every later one. Calls for one provider run one after another, so that the
 * entries of a trail checked in parallel wait for that walk rather than each making their own. (A proven
 * anchor stays proven unless the chain is rolled back past it; a new client starts afresh.)
 */
const proven = new WeakMap<LedgerClient, Map<string, { anchors: Map<Hex, AuditAnchor>; queue: Promise<unknown> }>>();

/** The anchor of `root` by `provider`, proven against the chain (undefined when never anchored). */
export function provenAuditAnchor(client: LedgerClient, provider: Address, root: Hex): Promise<AuditAnchor | undefined> {
  let byProvider = proven.get(client);
  if (!byProvider) proven.set(client, (byProvider = new Map()));
  const key = provider.toLowerCase();
  const cache = byProvider.get(key) ?? { anchors: new Map<Hex, AuditAnchor>(), queue: Promise.resolve() };
  byProvider.set(key, cache);
  const wanted = root.toLowerCase() as Hex;
  const result = cache.queue.then(async () => {
    if (!cache.anchors.has(wanted)) for (const a of await provenAnchorsFrom(client, provider, wanted)) cache.anchors.set(a.root, a);
    return cache.anchors.get(wanted);
  });
  cache.queue = result.catch(() => undefined);
  return result;
}

/**
 * Verifies an audit entry from the chain alone: the event hashes to the leaf, the proof leads to the
 * root, `provider` anchored that root (proven against its head in storage), and the anchor covers the
 * entry's sequence number. Returns the anchoring time (unix seconds), or throws.
 */
export async function verifyAuditEntry(client: LedgerClient, provider: Address, entry: AuditEntry): Promise<number> {
  if (auditLeaf(entry.event) !== entry.leaf) throw new Error(`audit entry ${entry.seq}: the event does not hash to its leaf`);
  if (!entry.root || !entry.proof) throw new Error(`audit entry ${entry.seq} is not anchored yet`);
  if (processProof(entry.leaf, entry.proof) !== entry.root) throw new Error(`audit entry ${entry.seq}: the proof does not lead to the root`);
  const anchor = await provenAuditAnchor(client, provider, entry.root);
  if (!anchor) throw new Error(`audit entry ${entry.seq}: root ${entry.root} was never anchored by ${provider}`);
  const seq = BigInt(entry.seq);
  if (seq < anchor.firstSeq || seq >= anchor.firstSeq + anchor.count) {
    throw new Error(`audit entry ${entry.seq}: root ${entry.root} was anchored for entries ${anchor.firstSeq} to ${anchor.firstSeq + anchor.count - 1n}`);
  }
  return anchor.anchoredAt;
}
