/**
 * How many blocks after a write its pointer's hash on chain covered it (the scale bench, issue 19
 * `scale.pointerLagBlocksP99`), judged from the chain and the store alone, not from what the
 * gatekeeper says it did.
 *
 * A write is the creation of one resource under one pointer, so the pointer's result set at any time
 * is the set of resources committed by then: in commit order, state k holds the first k + 1 of them.
 * A `PointerUpdated` event covers a write when its hash is that of a state at or after the write's.
 * A write's lag is the block of the first such event minus the head block when the write committed:
 * 1 = in the next block, the least possible.
 */
import { Worker } from 'node:worker_threads';
import type { Hex } from 'viem';
import { hashResultSet, type ResourceLike } from '../../src/records/hash.js';

/** One pointer's history: its resources in commit order and the hashes the chain gave it. */
export interface PointerHistory {
  /** The resources under the pointer, in commit order (the store's `meta.lastUpdated`). */
  commits: readonly { id: string; committedAt: number }[];
  /** Its PointerUpdated events. */
  events: readonly { blockNumber: bigint; dataHash: Hex }[];
  /** The hash of state k (the first k + 1 commits) → k. */
  states: ReadonlyMap<Hex, number>;
}

/** The history of a pointer whose query returns `resources` now (creations only). */
export function historyOf(resources: readonly ResourceLike[], events: PointerHistory['events']): PointerHistory {
  const committedAt = (r: ResourceLike) => Date.parse(String(r.meta?.lastUpdated ?? 0));
  const ordered = [...resources].sort((a, b) => committedAt(a) - committedAt(b) || Number(a.meta?.versionId ?? 0) - Number(b.meta?.versionId ?? 0));
  const states = new Map<Hex, number>();
  ordered.forEach((_, k) => states.set(hashResultSet(ordered.slice(0, k + 1)), k));
  return { commits: ordered.map((r) => ({ id: r.id!, committedAt: committedAt(r) })), events, states };
}

export interface Lags {
  /** Blocks from each measured write's commit to the first event covering it. */
  lags: number[];
  /** Measured writes no event covers (their pointer never caught up). */
  uncovered: number;
  /** Events whose hash is no state in commit order (two commits hashed out of order); they are skipped, which can only lengthen a lag. */
  unmatchedEvents: number;
}

/**
 * The lag of each write in `measured` (ids), given the head block at any time (`headAt`, ms since
 * the epoch).
 */
export function pointerLags(histories: readonly PointerHistory[], measured: ReadonlySet<string>, headAt: (ms: number) => bigint): Lags {
  const result: Lags = { lags: [], uncovered: 0, unmatchedEvents: 0 };
  for (const h of histories) {
    const covering: { state: number; blockNumber: bigint }[] = [];
    for (const e of h.events) {
      const state = h.states.get(e.dataHash);
      if (state === undefined) result.unmatchedEvents++;
      else covering.push({ state, blockNumber: e.blockNumber });
    }
    h.commits.forEach((c, k) => {
      if (!measured.has(c.id)) return;
      let first: bigint | undefined;
      for (const e of covering) if (e.state >= k && (first === undefined || e.blockNumber < first)) first = e.blockNumber;
      if (first === undefined) result.uncovered++;
      else result.lags.push(Number(first - headAt(c.committedAt)));
    });
  }
  return result;
}

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface HeadClock {
  /** The newest block seen at `ms` (ms since the epoch). */
  headAt(ms: number): bigint;
  /** The newest block seen so far. */
  head(): bigint;
  stop(): void;
}

/**
 * Follows the chain's head every `intervalMs` (eth_blockNumber, as any RPC node serves it), noting
 * when each block was first seen. The polling runs in its own worker thread: in the gatekeeper's
 * thread, busy with the load, a timer fires late, a block is noted late and every write committed
 * meanwhile is judged against the block before — lengthening its lag by one. A block is still seen up
 * to `intervalMs` (plus one round trip) late, which can only lengthen a lag measured against it.
 */
export async function followHead(rpcUrl: string, intervalMs = 50): Promise<HeadClock> {
  const seen: { blockNumber: bigint; at: number }[] = [];
  const worker = new Worker(HEAD_POLLER, { eval: true, workerData: { rpcUrl, intervalMs } });
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: { blockNumber: string; at: number }) => {
      seen.push({ blockNumber: BigInt(m.blockNumber), at: m.at });
      resolve();
    });
    worker.once('error', reject);
  });
  return {
    headAt(ms) {
      let lo = 0;
      let hi = seen.length - 1;
      if (seen[0]!.at > ms) return seen[0]!.blockNumber;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (seen[mid]!.at <= ms) lo = mid;
        else hi = mid - 1;
      }
      return seen[lo]!.blockNumber;
    },
    head: () => seen.at(-1)!.blockNumber,
    stop() {
      void worker.terminate();
    },
  };
}

/** The worker of followHead: posts each new head with the time (this thread's clock is the process's) it was first seen. */
const HEAD_POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
const { rpcUrl, intervalMs } = workerData;
let last = -1n;
async function poll() {
  try {
    const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }) });
    const at = Date.now();
    const head = BigInt((await res.json()).result);
    if (head > last) {
      last = head;
      parentPort.postMessage({ blockNumber: head.toString(), at });
    }
  } catch {}
  setTimeout(poll, intervalMs);
}
poll();
`;
