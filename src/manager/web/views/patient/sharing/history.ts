/**
 * The patient's consent history from chain events: every share ever made (ViewerGranted), how each
 * ended (ViewerRevoked, a later grant of the same viewer and scope, its expiry against chain time), who
 * used it and when (the providers' audit trails, the same GET /audit "Who read my data" reads), and
 * what providers changed after the patient rejected them (PointerAdded/Updated/Removed after the last
 * StatusChanged to Rejected). The contract keeps no history in storage; events are the record.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { getAbiItem, type Address } from 'viem';
import { medLedgerAbi } from '../../../../../chain/generated/contracts.js';
import { requesterOf, requestOf, type AuditEntry } from '../../../../../sdk/audit.js';
import { grantTagOf } from '../../../../../sdk/grants.js';
import { STATUSES } from '../../../../../sdk/relationships.js';
import type { Summary } from '../../../../../sdk/summary.js';
import type { Session } from '../../../lib/session.js';

export type ShareState = 'active' | 'paused' | 'revoked' | 'expired' | 'replaced';

export interface ShareRecord {
  key: string;
  relationshipId: string;
  provider: Address;
  viewer: Address;
  scope: string;
  /** Unix seconds (chain time) of the grant, and of its end when it ended by a revoke or a new grant. */
  grantedAt: number;
  endedAt?: number;
  /** 0 = no expiry. */
  expiresAt: number;
  state: ShareState;
  /** Permitted reads by the viewer within the share's scope and lifetime, newest first (ISO times). */
  reads: string[];
}

export interface ShareHistory {
  /** Chain time of the Summary's block: what "expired" is judged against, as the gatekeepers judge it. */
  now: number;
  shares: ShareRecord[];
}

const events = {
  granted: getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' }),
  revoked: getAbiItem({ abi: medLedgerAbi, name: 'ViewerRevoked' }),
  status: getAbiItem({ abi: medLedgerAbi, name: 'StatusChanged' }),
  added: getAbiItem({ abi: medLedgerAbi, name: 'PointerAdded' }),
  updated: getAbiItem({ abi: medLedgerAbi, name: 'PointerUpdated' }),
  removed: getAbiItem({ abi: medLedgerAbi, name: 'PointerRemoved' }),
};

interface Placed {
  blockNumber: bigint | null;
  logIndex: number | null;
}
const order = (a: Placed, b: Placed) => Number((a.blockNumber ?? 0n) - (b.blockNumber ?? 0n)) || (a.logIndex ?? 0) - (b.logIndex ?? 0);

/** Unix seconds of each block, read once per block. */
async function blockTimes(s: Session, blocks: (bigint | null)[]): Promise<Map<bigint, number>> {
  const unique = [...new Set(blocks.filter((b): b is bigint => b !== null))];
  const times = await Promise.all(unique.map(async (b) => Number((await s.ledger.publicClient.getBlock({ blockNumber: b })).timestamp)));
  return new Map(unique.map((b, i) => [b, times[i]!]));
}

/**
 * Whether an audited request ("GET /fhir/R4/Observation?category=laboratory&_count=5") lies in `scope`:
 * the same resource type, and the scope's categories asked for (the gatekeeper refused anything wider).
 */
export function requestInScope(event: AuditEvent, scope: string): boolean {
  const path = requestOf(event).replace(/^[A-Z]+ \/fhir\/R4\//, '');
  const [type, params = ''] = path.split('?');
  const [scopeType, scopeParams = ''] = scope.split('?');
  if (type !== scopeType) return false;
  const wanted = new URLSearchParams(scopeParams).getAll('category');
  const asked = new URLSearchParams(params).getAll('category').flatMap((c) => c.split(','));
  return wanted.every((c) => asked.includes(c));
}

/** Every share of the patient's relationships, newest first, each with how it ended and who used it. */
export async function readShareHistory(s: Session, summary: Summary): Promise<ShareHistory> {
  const pc = s.ledger.publicClient;
  const ids = summary.relationships.map((r) => BigInt(r.id));
  const blockNumber = BigInt(summary.blockNumber);
  if (ids.length === 0) return { now: Number((await pc.getBlock({ blockNumber })).timestamp), shares: [] };
  const range = { address: s.ledger.contract, fromBlock: s.ledger.deployBlock, toBlock: blockNumber, args: { relationshipId: ids } } as const;
  const [granted, revoked, audits, head] = await Promise.all([
    pc.getLogs({ ...range, event: events.granted }),
    pc.getLogs({ ...range, event: events.revoked }),
    Promise.all(summary.relationships.map(async (r) => ({ provider: r.provider, entries: await auditOf(s, r.provider) }))),
    pc.getBlock({ blockNumber }),
  ]);
  const now = Number(head.timestamp);
  const times = await blockTimes(s, [...granted, ...revoked].map((l) => l.blockNumber));
  const at = (l: Placed) => times.get(l.blockNumber ?? 0n) ?? 0;
  const shares = granted.map((g): ShareRecord => {
    const relationshipId = g.args.relationshipId!.toString();
    const viewer = g.args.viewer!;
    const scope = g.args.scope!;
    const tag = grantTagOf(viewer, scope);
    const rel = summary.relationships.find((r) => r.id === relationshipId)!;
    // What ended this share: the first later revoke of its tag, or a later grant of the same tag (a new expiry).
    const later = (l: Placed) => order(l, g) > 0;
    const revoke = revoked.filter((r) => r.args.relationshipId === g.args.relationshipId && r.args.grantTag === tag && later(r)).sort(order)[0];
    const regrant = granted.filter((x) => x.args.relationshipId === g.args.relationshipId && grantTagOf(x.args.viewer!, x.args.scope!) === tag && later(x)).sort(order)[0];
    const end = [revoke, regrant].filter((x) => x !== undefined).sort(order)[0];
    const expiresAt = Number(g.args.expiresAt);
    const expiredAt = expiresAt !== 0 && expiresAt <= now ? expiresAt : undefined;
    let state: ShareState = rel.status === 'rejected' ? 'paused' : 'active';
    if (expiredAt !== undefined && (!end || expiredAt <= at(end))) state = 'expired';
    else if (end) state = end === revoke ? 'revoked' : 'replaced';
    const endedAt = state === 'expired' ? expiredAt : end && at(end);
    const grantedAt = at(g);
    const reads = (audits.find((a) => a.provider === rel.provider)?.entries ?? [])
      .filter((e) => e.event.outcome === '0' && requesterOf(e.event) === viewer.toLowerCase() && requestInScope(e.event, scope))
      .map((e) => e.event.recorded ?? '')
      .filter((t) => t && Date.parse(t) / 1000 >= grantedAt - 1 && (endedAt === undefined || Date.parse(t) / 1000 <= endedAt + 1))
      .sort()
      .reverse();
    return { key: `${relationshipId}/${g.blockNumber}/${g.logIndex}`, relationshipId, provider: rel.provider, viewer, scope, grantedAt, endedAt, expiresAt, state, reads };
  });
  return { now, shares: shares.reverse() };
}

/** The patient's audit trail at `provider` (GET /audit, signed by the patient), or none when it cannot be read. */
async function auditOf(s: Session, provider: Address): Promise<AuditEntry[]> {
  try {
    return (await s.gatekeeper(provider).get<{ entries: AuditEntry[] }>('/audit')).body.entries;
  } catch {
    return [];
  }
}

/**
 * For each rejected relationship: the unix time of the rejection and how many record changes the
 * provider published since (the contract keeps the relationship Rejected through them,
 * MedLedger._markUpdated), so the inbox can say so without reopening anything.
 */
export async function changesSinceRejection(s: Session, summary: Summary): Promise<Map<string, { rejectedAt: number; changes: number }>> {
  const rejected = summary.relationships.filter((r) => r.status === 'rejected').map((r) => BigInt(r.id));
  const result = new Map<string, { rejectedAt: number; changes: number }>();
  if (rejected.length === 0) return result;
  const pc = s.ledger.publicClient;
  const range = { address: s.ledger.contract, fromBlock: s.ledger.deployBlock, toBlock: BigInt(summary.blockNumber), args: { relationshipId: rejected } } as const;
  const [status, added, updated, removed] = await Promise.all([
    pc.getLogs({ ...range, event: events.status }),
    pc.getLogs({ ...range, event: events.added }),
    pc.getLogs({ ...range, event: events.updated }),
    pc.getLogs({ ...range, event: events.removed }),
  ]);
  const REJECTED = STATUSES.indexOf('rejected');
  const times = await blockTimes(s, status.map((l) => l.blockNumber));
  for (const id of rejected) {
    const rejection = status.filter((l) => l.args.relationshipId === id && l.args.status === REJECTED).sort(order).at(-1);
    if (!rejection) continue;
    const changes = [...added, ...updated, ...removed].filter((l) => l.args.relationshipId === id && order(l, rejection) > 0).length;
    result.set(id.toString(), { rejectedAt: times.get(rejection.blockNumber ?? 0n) ?? 0, changes });
  }
  return result;
}
