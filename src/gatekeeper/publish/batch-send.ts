/**
 * Hands pointer updates to the chain as `updatePointers` transactions (src/sdk/pointers.ts), in the
 * order they were computed, and isolates refusals.
 *
 * Order: a flush's transactions are handed over in its turn (`inTurn`), after every earlier flush's.
 * With an outbox the signed transactions take nonces in the order they are handed over and the chain
 * mines them in nonce order, so the next turn may start at once; without one, a send takes its nonce
 * only once it runs, so the next turn waits until this one's transactions are mined.
 *
 * Refusals: `updatePointers` is all or nothing, and one bad entry (e.g. UnknownPointer) refuses its
 * whole transaction. The entries are then split in halves and each half sent again, in a later turn,
 * until the refused entry is alone: only its writers hear the error. An entry that a later flush has
 * meanwhile replaced with a newer hash is not sent again (that would put the older hash last); it
 * settles as the newer one does.
 */
import type { LedgerClient } from '../../chain/client.js';
import { LedgerError } from '../../chain/write.js';
import { POINTER_BATCH_SIZE, updatePointers, type PointerUpdate } from '../../sdk/pointers.js';

/** One pointer's new hash, and the promise its writers wait on. */
export interface BatchEntry extends PointerUpdate {
  patientId: string;
  mined: { promise: Promise<void>; resolve(): void; reject(err: unknown): void };
}

export interface BatchSender {
  /**
   * Runs `dispatch` after every earlier turn has handed its transactions over; the next turn starts
   * when `released` settles. Resolves with `settled`.
   */
  inTurn<T>(dispatch: () => Promise<{ released: Promise<unknown>; settled: T }>): Promise<T>;
  /** Hands `entries` over now (call within a turn); `released` as inTurn wants it. */
  send(entries: readonly BatchEntry[]): { released: Promise<unknown> };
}

/** `newerOf(entry)`: the promise of a newer hash sent since for the same pointer, if any. */
export function createBatchSender(ledger: LedgerClient, newerOf: (entry: BatchEntry) => Promise<void> | undefined): BatchSender {
  let order: Promise<unknown> = Promise.resolve();
  const releaseAfter = (attempts: Promise<unknown>) => (ledger.outbox ? Promise.resolve() : attempts);

  function inTurn<T>(dispatch: () => Promise<{ released: Promise<unknown>; settled: T }>): Promise<T> {
    const turn = order.then(dispatch);
    order = turn.then(
      (t) => t.released.catch(() => undefined),
      () => undefined,
    );
    return turn.then((t) => t.settled);
  }

  /** One transaction's attempt: settles when mined or refused (a refusal is then bisected in later turns). */
  function attempt(chunk: readonly BatchEntry[]): Promise<void> {
    const call = updatePointers(
      ledger,
      chunk.map(({ relationshipId, query, dataHash }) => ({ relationshipId, query, dataHash })),
      { chunkSize: POINTER_BATCH_SIZE },
    );
    return call.then(
      () => {
        for (const e of chunk) e.mined.resolve();
      },
      (err: unknown) => refused(chunk, err),
    );
  }

  function refused(chunk: readonly BatchEntry[], err: unknown): void {
    if (!(err instanceof LedgerError) || chunk.length === 1) {
      for (const e of chunk) e.mined.reject(err);
      return;
    }
    const half = Math.ceil(chunk.length / 2);
    for (const part of [chunk.slice(0, half), chunk.slice(half)]) {
      void inTurn(async () => {
        const live = part.filter((e) => {
          const newer = newerOf(e);
          if (newer) newer.then(e.mined.resolve, e.mined.reject);
          return !newer;
        });
        const tried = live.length ? attempt(live) : Promise.resolve();
        return { released: releaseAfter(tried), settled: undefined };
      });
    }
  }

  return {
    inTurn,
    send(entries) {
      const attempts: Promise<void>[] = [];
      for (let start = 0; start < entries.length; start += POINTER_BATCH_SIZE) attempts.push(attempt(entries.slice(start, start + POINTER_BATCH_SIZE)));
      return { released: releaseAfter(Promise.allSettled(attempts)) };
    },
  };
}
