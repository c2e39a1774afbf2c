/**
 * The Ethereum client: follows the MedLedger contract's events from a checkpoint, keeps the user's
 * relationships, pointers, grants and statuses in a local database, and tells listeners the moment a
 * block carries something for the user.
 *
 * Crash safety: each chunk of blocks is applied in one transaction together with the checkpoint, so
 * after a `kill -9` the client resumes exactly where the last committed chunk ended — no event is
 * missed or applied twice (events are keyed by block and log index). Rollback: before reading on, the
 * client checks that the checkpoint's block hash is still the chain's; if not (a dev node that lost its
 * last second, a reorg), it walks back to the last block both agree on, drops what came after, and
 * rebuilds the state from the events it kept.
 */
import { parseEventLogs, type Address, type Log } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import type { Db } from '../records/db.js';
import { join, raw, sql } from '../records/sql.js';
import { applyEvents, concerns, nameRevokedGrants, notificationFor, type ClientEvent, type Notification } from './apply.js';
import { CLIENT_SCHEMA, DERIVED_TABLES } from './schema.js';

export interface WatcherOptions {
  ledger: LedgerClient;
  db: Db;
  /** Whose view this client keeps (patient, provider or third party); absent = every event (a hub serving many users). */
  user?: Address;
  /** Blocks per getLogs call and per transaction. */
  chunkBlocks?: number;
}

export interface SyncResult {
  /** New events applied. */
  events: number;
  /** The block the client is now at. */
  block: bigint;
  /** Set when the chain had rolled back: the block the client went back to. */
  rolledBackTo?: bigint;
}

function toClientEvent(log: Log & { eventName: string; args: unknown }): ClientEvent {
  const args: ClientEvent['args'] = {};
  for (const [k, v] of Object.entries(log.args as Record<string, unknown>)) {
    const address = (x: unknown) => (typeof x === 'string' && /^0x[0-9a-fA-F]{40}$/.test(x) ? x.toLowerCase() : x);
    args[k] = typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? v.map((x) => String(address(x))) : (address(v) as string | number | boolean);
  }
  return { blockNumber: log.blockNumber!, logIndex: log.logIndex!, txHash: log.transactionHash!, name: log.eventName, args };
}

async function readCheckpoint(db: Db): Promise<{ block: bigint; hash: string } | undefined> {
  const [row] = await db.query<{ block_number: string; block_hash: string }>(sql`SELECT block_number::text, block_hash FROM client_checkpoint WHERE id = 1`);
  return row ? { block: BigInt(row.block_number), hash: row.block_hash } : undefined;
}

async function blockHash(ledger: LedgerClient, block: bigint): Promise<string | undefined> {
  return (await ledger.publicClient.getBlock({ blockNumber: block }).catch(() => undefined))?.hash ?? undefined;
}

/** Replays every kept event into empty derived tables. */
async function rebuild(tx: Db): Promise<void> {
  for (const table of DERIVED_TABLES) await tx.query(raw(`DELETE FROM ${table}`));
  const events = await tx.query<{ block_number: string; log_index: number; tx_hash: string; name: string; args: ClientEvent['args'] }>(
    sql`SELECT block_number::text, log_index, tx_hash, name, args FROM client_events ORDER BY client_events.block_number, log_index`,
  );
  await applyEvents(tx, events.map((e) => ({ blockNumber: BigInt(e.block_number), logIndex: e.log_index, txHash: e.tx_hash, name: e.name, args: e.args })));
}

/** Goes back to the newest kept block whose hash the chain still has. */
async function rollBack(db: Db, ledger: LedgerClient): Promise<bigint> {
  const kept = await db.query<{ block_number: string; block_hash: string }>(sql`SELECT block_number::text, block_hash FROM client_blocks ORDER BY client_blocks.block_number DESC`);
  let common: { block: bigint; hash: string } | undefined;
  for (const k of kept) {
    if ((await blockHash(ledger, BigInt(k.block_number))) === k.block_hash) {
      common = { block: BigInt(k.block_number), hash: k.block_hash };
      break;
    }
  }
  const to = common?.block ?? ledger.deployBlock - 1n;
  await db.transaction(async (tx) => {
    await tx.query(sql`DELETE FROM client_events WHERE block_number > ${to.toString()}`);
    await tx.query(sql`DELETE FROM client_blocks WHERE block_number > ${to.toString()}`);
    await tx.query(sql`DELETE FROM client_notifications WHERE block_number > ${to.toString()}`);
    if (common) await tx.query(sql`UPDATE client_checkpoint SET block_number = ${to.toString()}, block_hash = ${common.hash} WHERE id = 1`);
    else await tx.query(sql`DELETE FROM client_checkpoint`);
    await rebuild(tx);
  });
  return to;
}

/** The events of a chunk that concern `user` (all of them without one), in order. */
async function eventsOfUser(tx: Db, events: ClientEvent[], user: Address | undefined): Promise<ClientEvent[]> {
  if (!user) return events;
  const rels = await tx.query<{ id: string; provider: string }>(sql`SELECT id, provider FROM client_relationships`);
  const relationships = new Set(rels.map((r) => r.id));
  const providers = new Set(rels.map((r) => r.provider));
  return events.filter((e) => {
    if (!concerns(e, user, relationships, providers)) return false;
    if (e.name === 'RelationshipAdded') {
      relationships.add(String(e.args.relationshipId));
      providers.add(String(e.args.provider));
    }
    return true;
  });
}

/** Stores the events not stored yet (applied before a crash, they are not applied again); returns those. */
async function storeNew(tx: Db, events: ClientEvent[]): Promise<ClientEvent[]> {
  const fresh: ClientEvent[] = [];
  for (let i = 0; i < events.length; i += 2_000) {
    const batch = events.slice(i, i + 2_000);
    const rows = batch.map((e) => sql`(${e.blockNumber.toString()}, ${e.logIndex}, ${e.txHash}, ${e.name}, ${JSON.stringify(e.args)})`);
    const inserted = await tx.query<{ k: string }>(sql`INSERT INTO client_events (block_number, log_index, tx_hash, name, args)
      VALUES ${join(rows, ', ')} ON CONFLICT DO NOTHING RETURNING block_number::text || ':' || log_index AS k`);
    const keys = new Set(inserted.map((r) => r.k));
    fresh.push(...batch.filter((e) => keys.has(`${e.blockNumber}:${e.logIndex}`)));
  }
  return fresh;
}

/**
 * Applies one chunk of blocks (up to `to`, whose hash is `hash`) in one transaction together with the
 * checkpoint, so a crash leaves either all of it or none. Returns the newly applied events and notes.
 */
async function commitChunk(db: Db, chunk: { events: ClientEvent[]; user?: Address; to: bigint; hash: string }) {
  const { user, to, hash } = chunk;
  return db.transaction(async (tx) => {
    // Revokes are named (viewer, scope) before anything decides whom they concern.
    const fresh = await storeNew(tx, await eventsOfUser(tx, await nameRevokedGrants(tx, chunk.events), user));
    await applyEvents(tx, fresh);
    const notes = user ? fresh.map((e) => notificationFor(e, user)).filter((n): n is Notification => n !== undefined) : [];
    for (let i = 0; i < notes.length; i += 2_000) {
      const rows = notes.slice(i, i + 2_000).map((n) => sql`(${n.blockNumber}, ${n.kind}, ${n.relationshipId ?? null}, ${JSON.stringify(n.payload)})`);
      await tx.query(sql`INSERT INTO client_notifications (block_number, kind, relationship_id, payload) VALUES ${join(rows, ', ')}`);
    }
    await tx.query(sql`INSERT INTO client_blocks (block_number, block_hash) VALUES (${to.toString()}, ${hash}) ON CONFLICT (block_number) DO UPDATE SET block_hash = EXCLUDED.block_hash`);
    await tx.query(sql`DELETE FROM client_blocks WHERE block_number < ${(to - 10_000n).toString()}`);
    await tx.query(sql`INSERT INTO client_checkpoint (id, block_number, block_hash) VALUES (1, ${to.toString()}, ${hash})
      ON CONFLICT (id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash`);
    return { fresh, notes };
  });
}

export function createWatcher(options: WatcherOptions) {
  const { ledger, db, user } = options;
  const pc = ledger.publicClient;
  const chunk = BigInt(options.chunkBlocks ?? 2_000);
  const listeners = new Set<(n: Notification) => void>();
  const eventListeners = new Set<(events: ClientEvent[]) => void>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let running: Promise<SyncResult> | undefined;

  async function syncNow(): Promise<SyncResult> {
    let cp = await readCheckpoint(db);
    let rolledBackTo: bigint | undefined;
    if (cp && (await blockHash(ledger, cp.block)) !== cp.hash) {
      rolledBackTo = await rollBack(db, ledger);
      cp = await readCheckpoint(db);
    }
    const latest = await pc.getBlockNumber({ cacheTime: 0 });
    let from = cp ? cp.block + 1n : ledger.deployBlock;
    let applied = 0;
    while (from <= latest) {
      const to = from + chunk - 1n < latest ? from + chunk - 1n : latest;
      const [logs, hash] = await Promise.all([pc.getLogs({ address: ledger.contract, fromBlock: from, toBlock: to }), blockHash(ledger, to)]);
      if (!hash) break; // the chain shrank under us; the next sync rolls back
      const events = parseEventLogs({ abi: medLedgerAbi, logs }).map((l) => toClientEvent(l as never));
      const { fresh, notes } = await commitChunk(db, { events, user, to, hash });
      applied += fresh.length;
      for (const note of notes) for (const l of listeners) l(note);
      if (fresh.length) for (const l of eventListeners) l(fresh);
      from = to + 1n;
    }
    return { events: applied, block: from - 1n, rolledBackTo };
  }

  return {
    /** Creates the local tables. */
    init: () => db.exec(CLIENT_SCHEMA),
    /** Brings the local database up to the latest block (concurrent callers share one run). */
    sync(): Promise<SyncResult> {
      running ??= syncNow().finally(() => (running = undefined));
      return running;
    },
    /** Syncs every `intervalMs` until stop(). */
    start(intervalMs = 500) {
      stopped = false;
      const tick = () => {
        void this.sync()
          .catch(() => undefined)
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, intervalMs);
          });
      };
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
      clearTimeout(timer);
    },
    /** Calls `listener` with the newly applied events of each committed chunk; returns the unsubscribe function. */
    onEvents(listener: (events: ClientEvent[]) => void): () => void {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    /** Calls `listener` for every notification from now on; returns the unsubscribe function. */
    onNotification(listener: (n: Notification) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type Watcher = ReturnType<typeof createWatcher>;

/** The derived state, ordered, for comparing two local databases (e.g. against a fresh resync). */
export async function localState(db: Db) {
  return {
    relationships: await db.query(sql`SELECT id, patient, provider, status FROM client_relationships ORDER BY id`),
    pointers: await db.query(sql`SELECT * FROM client_pointers ORDER BY relationship_id, query_hash`),
    grants: await db.query(sql`SELECT relationship_id, viewer, scope_hash, scope, expires_at::text FROM client_grants ORDER BY relationship_id, viewer, scope_hash`),
    events: await db.query(sql`SELECT block_number::text, log_index, name FROM client_events ORDER BY client_events.block_number, log_index`),
  };
}
