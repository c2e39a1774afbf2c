/**
 * Freshness of the pointers a gatekeeper publishes (issue 19): per (patient, pointer query), the hash
 * it has sent and not yet seen mined, and since when; and the writes whose pointers are still queued
 * (their hash not computed yet). Between a store commit and the block that carries its pointer hash,
 * the store is ahead of the chain by design: this is what lets `$verify` and the search headers say
 * "pending" instead of "mismatch" (README.md, "Pointer freshness").
 */
import type { Hex } from 'viem';
import { isWithin } from '../../protocol/pointer-query.js';

/** A hash sent to the chain, not yet seen mined. */
export interface SentHash {
  hash: Hex;
  /** When it was sent (ms since the epoch). */
  since: number;
  /** Settles when the transaction carrying it is mined (rejects when it was refused or lost). */
  mined: Promise<void>;
}

/** A write whose pointers are not all on chain yet: its patient, the queries its records fall under. */
export interface QueuedWrite {
  patientId: string;
  /** Queries covering its records; undefined = every pointer of the patient (a reconcile). */
  queries?: readonly string[];
  /** When it was queued (ms since the epoch). */
  at: number;
}

/** `hash`: the one sent and not yet mined, if any; `queued`: a write for it waits for a flush (its hash is not computed yet). */
export type PointerState = { state: 'current' } | { state: 'pending'; since: Date; hash?: Hex; queued: boolean };

const key = (patientId: string, query: string) => `${patientId}\n${query}`;

export class PendingPointers {
  private readonly sent = new Map<string, SentHash>();
  private readonly queued = new Set<QueuedWrite>();

  /** The hash last sent for a pointer and not yet mined, if any. */
  sentHash(patientId: string, query: string): SentHash | undefined {
    return this.sent.get(key(patientId, query));
  }

  /** Records `hash` as sent for a pointer; the entry goes once it is mined (or fails), unless a newer one replaced it. */
  markSent(patientId: string, query: string, hash: Hex, mined: Promise<void>): SentHash {
    const entry: SentHash = { hash, since: Date.now(), mined };
    const k = key(patientId, query);
    this.sent.set(k, entry);
    const clear = () => {
      if (this.sent.get(k) === entry) this.sent.delete(k);
    };
    mined.then(clear, clear);
    return entry;
  }

  /** Notes a write as queued until `settled` settles (its pointers mined, or its publish failed). */
  markQueued(write: QueuedWrite, settled: Promise<unknown>): void {
    this.queued.add(write);
    const clear = () => this.queued.delete(write);
    settled.then(clear, clear);
  }

  /**
   * What the chain shows for `query` of `patientId` relative to the store: "current", or "pending"
   * since the oldest unmined send or queued write, with the hash sent when there is one.
   */
  stateOf(patientId: string, query: string): PointerState {
    const sent = this.sent.get(key(patientId, query));
    let since = sent?.since;
    let queued = false;
    for (const w of this.queued) {
      if (w.patientId !== patientId || (w.queries && !w.queries.some((q) => isWithin(q, query)))) continue;
      since = Math.min(since ?? w.at, w.at);
      queued = true;
    }
    if (since === undefined) return { state: 'current' };
    return { state: 'pending', since: new Date(since), queued, ...(sent ? { hash: sent.hash } : {}) };
  }
}
