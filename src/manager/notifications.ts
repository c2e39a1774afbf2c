/**
 * Notifications for the people signed in to the EHR Manager. One Ethereum client (watcher) follows
 * every MedLedger event into the manager's local database; for each committed batch the hub works out
 * which subscribed addresses an event concerns (the same rules as a single user's client) and pushes
 * the notification to them at once, over server-sent events. Gatekeepers add off-chain ones (a grant
 * was used), and a timer adds grant expiries; those have no event to work them out from again, so the
 * hub keeps them for the user's history (notification-history.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Address } from 'viem';
import { concerns, notificationFor, type ClientEvent, type Notification } from '../client/apply.js';
import type { Watcher } from '../client/watcher.js';
import type { Db } from '../records/db.js';
import { sql } from '../records/sql.js';
import { keepOffChain, notificationHistory, NOTIFICATION_HISTORY_SCHEMA, type HistoryOptions } from './notification-history.js';

type Listener = (n: Notification) => void;

export function createNotificationHub(watcher: Watcher, db: Db, now = () => Math.floor(Date.now() / 1000)) {
  const subscribers = new Map<string, Set<Listener>>();
  const send = (address: string, n: Notification) => subscribers.get(address.toLowerCase())?.forEach((l) => l(n));
  const ready = db.exec(NOTIFICATION_HISTORY_SCHEMA);
  ready.catch(() => undefined); // awaited where used; not an unhandled rejection meanwhile
  /** Sends an off-chain notification at once, with an id and its time, and keeps it for the history. */
  const sendOffChain = (address: string, n: Notification, at = new Date()) => {
    const note: Notification = { ...n, id: n.id ?? `off:${randomUUID()}`, at: n.at ?? at.toISOString() };
    send(address, note);
    void ready.then(() => keepOffChain(db, address, note)).catch(() => undefined);
  };

  async function dispatch(events: ClientEvent[]): Promise<void> {
    for (const address of subscribers.keys()) {
      const rels = await db.query<{ id: string; provider: string }>(
        sql`SELECT id, provider FROM client_relationships WHERE patient = ${address} OR provider = ${address}`,
      );
      const providerOf = new Map(rels.map((r) => [r.id, r.provider]));
      const relationships = new Set(rels.map((r) => r.id));
      const providers = new Set(rels.map((r) => r.provider));
      for (const e of events) {
        if (!concerns(e, address as Address, relationships, providers)) continue;
        const found = notificationFor(e, address as Address);
        const n = found && { ...found, id: `${e.blockNumber}:${e.logIndex}` };
        // Say who: the relationship's provider, which pointer and status events do not carry.
        if (n?.relationshipId && n.payload.provider === undefined && providerOf.has(n.relationshipId)) n.payload.provider = providerOf.get(n.relationshipId);
        if (n) send(address, n);
      }
    }
  }
  const unwatch = watcher.onEvents((events) => void dispatch(events).catch(() => undefined));

  // Grant expiries are not events: check the grants that lapsed since the last tick.
  let lastTick = now();
  async function expiries(): Promise<void> {
    const t = now();
    const lapsed = await db.query<{ relationship_id: string; viewer: string; scope: string; patient: string; expires_at: string }>(
      sql`SELECT g.relationship_id, g.viewer, g.scope, r.patient, g.expires_at::text AS expires_at FROM client_grants g
          JOIN client_relationships r ON r.id = g.relationship_id
          WHERE g.expires_at > ${lastTick} AND g.expires_at <= ${t}`,
    );
    lastTick = t;
    for (const g of lapsed) {
      const n: Notification = { kind: 'grant-expired', relationshipId: g.relationship_id, blockNumber: '0', payload: { viewer: g.viewer, scope: g.scope, expiresAt: Number(g.expires_at) } };
      sendOffChain(g.patient, n, new Date(t * 1000));
      sendOffChain(g.viewer, n, new Date(t * 1000));
    }
  }
  const timer = setInterval(() => void expiries().catch(() => undefined), 5_000);
  timer.unref();

  return {
    /** Pushes every notification for `address` to `listener` until the returned function is called. */
    subscribe(address: Address, listener: Listener): () => void {
      const key = address.toLowerCase();
      const set = subscribers.get(key) ?? new Set<Listener>();
      set.add(listener);
      subscribers.set(key, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) subscribers.delete(key);
      };
    },
    /** An off-chain notification (e.g. from a gatekeeper) for `address`: sent now and kept for the history. */
    publish: (address: string, n: Notification) => sendOffChain(address, n),
    /** `address`'s past notifications, newest first (notification-history.ts). */
    history: async (address: Address, options?: HistoryOptions) => {
      await ready;
      return notificationHistory(db, address, options);
    },
    close() {
      clearInterval(timer);
      unwatch();
    },
  };
}

export type NotificationHub = ReturnType<typeof createNotificationHub>;
