/**
 * What the EHR Manager tells a signed-in user, live: raised by the client from contract events
 * (src/client/apply.ts), by the manager from a gatekeeper's audit or the clock (src/manager), and
 * sent to the browser as server-sent events (src/manager/web/lib/notifications.ts). One type for
 * every end of that stream.
 */

export type NotificationKind =
  | 'new-record'
  | 'updated-record'
  | 'awaiting-approval'
  | 'status-changed'
  | 'grant-received'
  | 'grant-revoked'
  | 'audit-anchored'
  /** Off-chain, from a gatekeeper: someone other than the patient read through a grant. */
  | 'grant-used'
  /** Off-chain, from the clock: a grant's expiry passed. */
  | 'grant-expired'
  /** A provider opened an emergency read of the patient's record without consent (or closed it: payload.closed). */
  | 'break-glass'
  /** A guardian approved moving the patient's identity to a new key (told at the first approval, so one rogue guardian cannot act unseen). */
  | 'recovery-approved'
  /** Guardians scheduled moving the patient's identity to a new key: the current key can still cancel. */
  | 'recovery-scheduled'
  /** The user was named a guardian of a patient (or removed: payload.removed). */
  | 'guardian-named'
  /** The patient's identity moved to a new key (guardian recovery). */
  | 'key-moved'
  /** The patient named (changed, or removed: no permissions) a delegate. */
  | 'delegate-set';

export interface Notification {
  kind: NotificationKind;
  relationshipId?: string;
  blockNumber: string;
  payload: Record<string, unknown>;
  /**
   * When it happened (ISO 8601): the block's timestamp for one raised by an event, its own time for
   * an off-chain one. Set by the manager (src/manager/notification-routes.ts); absent when the chain
   * did not answer, and then the page uses the time it received it.
   */
  at?: string;
  /** Stable across the live stream and the history: `block:logIndex` for an event, `off:<uuid>` for an off-chain one (the page keeps read marks by it). */
  id?: string;
}

/**
 * What the browser signs (EIP-191) to prove it holds the key of `address` before the manager serves
 * that address's notifications, live or past: they are personal data. `time` is Unix seconds, so a
 * proof is only good for a few minutes (NOTIFICATION_PROOF_MAX_AGE_S).
 */
export const notificationProofMessage = (address: string, time: number): string =>
  `MedLedger EHR Manager: show my notifications\naddress: ${address.toLowerCase()}\ntime: ${time}`;

/** How far a proof's time may lie from the manager's clock, either way (seconds). */
export const NOTIFICATION_PROOF_MAX_AGE_S = 300;
