/**
 * A user's past notifications, so the page shows them after a reload or a new sign-in (issue 18):
 * those raised by contract events are worked out again from the events the manager's client keeps
 * (client_events, with the same rules as the live hub: apply.ts `concerns`/`notificationFor`); the
 * off-chain ones (a grant was used, a grant expired) have no event, so the hub keeps them here as it
 * sends them. Serving them is the routes' job, behind a proof of the address (notification-routes.ts).
 */
import type { Address } from 'viem';
import { concerns, notificationFor, type ClientEvent, type Notification } from '../client/apply.js';
import type { Db } from '../records/db.js';
import { sql } from '../records/sql.js';

export const NOTIFICATION_HISTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS manager_notifications (
  seq bigserial PRIMARY KEY,
  address text NOT NULL,
  id text NOT NULL,
  kind text NOT NULL,
  relationship_id text,
  payload jsonb NOT NULL,
  at text NOT NULL
);
CREATE INDEX IF NOT EXISTS manager_notifications_address ON manager_notifications (address, seq);
`;

/** Routine kinds: left out of a history unless asked for (they come every minute and would push the rest out). */
export const ROUTINE_KINDS: ReadonlySet<Notification['kind']> = new Set(['audit-anchored']);

export interface HistoryOptions {
  /** The newest this many (default 200, at most 1000). */
  limit?: number;
  /** Include routine ones (audit anchoring). */
  routine?: boolean;
  /** A block's timestamp (Unix seconds), undefined when the chain does not answer. */
  blockTimes?: (blocks: string[]) => Promise<Map<string, number>>;
}

/** Keeps an off-chain notification sent to `address` (it already carries its id and time). */
export async function keepOffChain(db: Db, address: string, n: Notification): Promise<void> {
  await db.query(sql`INSERT INTO manager_notifications (address, id, kind, relationship_id, payload, at)
    VALUES (${address.toLowerCase()}, ${n.id}, ${n.kind}, ${n.relationshipId ?? null}, ${JSON.stringify(n.payload)}, ${n.at})`);
}

/** The notifications raised by kept events for `address`, oldest first, each with its id `block:logIndex`. */
async function fromEvents(db: Db, address: string, routine: boolean): Promise<Notification[]> {
  const me = address.toLowerCase();
  const rels = await db.query<{ id: string; provider: string }>(sql`SELECT id, provider FROM client_relationships WHERE patient = ${me} OR provider = ${me}`);
  const providerOf = new Map(rels.map((r) => [r.id, r.provider]));
  const relationships = new Set(rels.map((r) => r.id));
  const providers = new Set(rels.map((r) => r.provider));
  // A coarse filter in SQL (the address, one of its relationships or providers appears); `concerns` decides.
  const rows = await db.query<{ block_number: string; log_index: number; tx_hash: string; name: string; args: ClientEvent['args'] }>(
    sql`SELECT block_number::text, log_index, tx_hash, name, args FROM client_events
        WHERE (${routine} OR name <> 'AuditAnchored')
          AND (args::text LIKE ${`%${me}%`} OR args->>'relationshipId' = ANY(${[...relationships]}::text[]) OR args->>'provider' = ANY(${[...providers]}::text[]))
        ORDER BY client_events.block_number, log_index`,
  );
  const notes: Notification[] = [];
  for (const r of rows) {
    const e: ClientEvent = { blockNumber: BigInt(r.block_number), logIndex: r.log_index, txHash: r.tx_hash, name: r.name, args: r.args };
    if (!concerns(e, me as Address, relationships, providers)) continue;
    const n = notificationFor(e, me as Address);
    if (!n) continue;
    // Say who, as the hub does: pointer and status events do not carry the provider.
    if (n.relationshipId && n.payload.provider === undefined && providerOf.has(n.relationshipId)) n.payload.provider = providerOf.get(n.relationshipId);
    notes.push({ ...n, id: `${r.block_number}:${r.log_index}` });
  }
  return notes;
}

/** `address`'s notifications, newest first: from events (timed by their blocks) and the off-chain ones kept. */
export async function notificationHistory(db: Db, address: string, o: HistoryOptions = {}): Promise<Notification[]> {
  const limit = Math.min(Math.max(1, o.limit ?? 200), 1000);
  const onChain = (await fromEvents(db, address, o.routine ?? false)).slice(-limit);
  const times = (await o.blockTimes?.([...new Set(onChain.map((n) => n.blockNumber))]).catch(() => undefined)) ?? new Map<string, number>();
  const timed = onChain.map((n) => (times.has(n.blockNumber) ? { ...n, at: new Date(times.get(n.blockNumber)! * 1000).toISOString() } : n));
  const offChain = await db.query<{ id: string; kind: Notification['kind']; relationship_id: string | null; payload: Record<string, unknown>; at: string }>(
    sql`SELECT id, kind, relationship_id, payload, at FROM manager_notifications WHERE address = ${address.toLowerCase()} ORDER BY seq DESC LIMIT ${limit}`,
  );
  const kept: Notification[] = offChain
    .filter((r) => o.routine || !ROUTINE_KINDS.has(r.kind))
    .map((r) => ({ kind: r.kind, id: r.id, blockNumber: '0', payload: r.payload, at: r.at, ...(r.relationship_id ? { relationshipId: r.relationship_id } : {}) }));
  const order = (n: Notification) => (n.at ? Date.parse(n.at) : 0);
  return [...timed.reverse(), ...kept].sort((a, b) => order(b) - order(a)).slice(0, limit);
}

/**
 * Block timestamps from the chain node (one JSON-RPC batch for those not asked before). A block's
 * time never changes once mined, so they are kept for the manager's lifetime.
 */
export function blockClock(rpcUrl: string): (blocks: string[]) => Promise<Map<string, number>> {
  const known = new Map<string, number>();
  return async (blocks) => {
    const missing = blocks.filter((b) => b !== '0' && !known.has(b));
    for (let i = 0; i < missing.length; i += 500) {
      const batch = missing.slice(i, i + 500);
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch.map((b, id) => ({ jsonrpc: '2.0', id, method: 'eth_getBlockByNumber', params: [`0x${BigInt(b).toString(16)}`, false] }))),
      });
      const answers = (await res.json()) as { id: number; result?: { timestamp?: string } | null }[];
      for (const a of Array.isArray(answers) ? answers : []) {
        if (a.result?.timestamp) known.set(batch[a.id]!, Number(BigInt(a.result.timestamp)));
      }
    }
    return new Map(blocks.filter((b) => known.has(b)).map((b) => [b, known.get(b)!]));
  };
}
