/**
 * Is a pointer's hash on chain current, or is the provider's new hash still on its way (issue 19,
 * "Freshness you can see")? After a write the gatekeeper sends the pointer's new hash to the chain and
 * answers with it at once; until that transaction is mined the hash on chain is the old one. The
 * gatekeeper says so on every search whose query is one of the patient's pointer queries:
 * `X-MedLedger-Pointer-State: current|pending`, and when pending since when (`…-Pending-Since`) and
 * the hash it sent (`…-Pending-Hash`; none yet while the write waits in the gatekeeper's short
 * coalescing window, src/gatekeeper/publish/pending.ts). A gatekeeper from before issue 19 sends none
 * of these: every pointer is then checked as before (match or mismatch).
 *
 * Pure functions, so the decision can be tested without a browser (test/integrity-state.test.ts).
 */
import type { Hex } from 'viem';
import { POINTER_HEADERS } from '../../../../protocol/headers.js';

/** Header names as the gatekeeper sends them (read case-insensitively: fetch's Headers.get). */
export { POINTER_HEADERS };

/** A pointer change the gatekeeper has not yet seen mined. */
export interface Pending {
  /** The hash it sent to the chain; undefined while the change waits to be sent. */
  hash?: Hex;
  /** ISO time it has been pending since, when the gatekeeper said (and it parses). */
  since?: string;
}

/**
 * current: the records match the hash on chain. publishing: they do not yet, but they are exactly what
 * the provider has sent to the chain and is waiting to see mined (or about to send: no hash yet).
 * mismatch: anything else, including a pending hash that differs from the records (the provider
 * changed more than it is publishing).
 */
export type PointerStatus = 'current' | 'publishing' | 'mismatch';

const HASH = /^0x[0-9a-f]{64}$/;

/** The pending change a response announces, or undefined (current, no headers, or a hash that does not parse). */
export function pendingOf(headers: { get(name: string): string | null } | undefined): Pending | undefined {
  if (headers?.get(POINTER_HEADERS.state)?.trim().toLowerCase() !== 'pending') return undefined;
  const hash = headers.get(POINTER_HEADERS.pendingHash)?.trim().toLowerCase() || undefined;
  if (hash !== undefined && !HASH.test(hash)) return undefined;
  const since = headers.get(POINTER_HEADERS.pendingSince)?.trim();
  return { hash: hash as Hex | undefined, since: since && !Number.isNaN(Date.parse(since)) ? new Date(since).toISOString() : undefined };
}

export function pointerStatus(onChain: Hex, computed: Hex, pending: Pending | undefined): PointerStatus {
  if (computed.toLowerCase() === onChain.toLowerCase()) return 'current';
  if (!pending) return 'mismatch';
  return pending.hash === undefined || pending.hash === computed.toLowerCase() ? 'publishing' : 'mismatch';
}

/** "just now", "12 seconds ago", "3 minutes ago", or the date and time (UTC) for anything older than an hour. */
export function sinceWords(iso: string, nowMs: number): string {
  const seconds = Math.round((nowMs - Date.parse(iso)) / 1000);
  if (seconds < 5) return 'just now'; // also a gatekeeper clock slightly ahead of this one
  if (seconds < 60) return `${seconds} seconds ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return minutes === 1 ? 'a minute ago' : `${minutes} minutes ago`;
  return `on ${iso.slice(0, 10)} at ${iso.slice(11, 16)} UTC`;
}

/**
 * When the chart checks a publishing pointer again by itself, after `tries` checks of its own: about
 * once a block on a network with 2-second blocks for the first 30 seconds (a batch is normally mined
 * within one or two), then every 10 seconds up to about two minutes (a node that is slow or catching
 * up); undefined once that is over, when only "Check again" looks again.
 */
export function recheckDelayMs(tries: number): number | undefined {
  if (tries < SOON_TRIES) return 2_000;
  if (tries < SOON_TRIES + 9) return 10_000;
  return undefined;
}

/** Checks in the first 30 seconds: after them the wait is "longer than usual". */
export const SOON_TRIES = 15;
