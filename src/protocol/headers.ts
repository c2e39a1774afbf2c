/**
 * HTTP header names a gatekeeper and its clients agree on. The signed-request headers carry an
 * EIP-712 signature (request-signature.ts); the break-glass header carries a provider's stated
 * emergency reason (src/sdk/emergency.ts, src/gatekeeper/auth/break-glass.ts).
 */
export const HEADERS = {
  address: 'x-medledger-address',
  chainId: 'x-medledger-chain-id',
  nonce: 'x-medledger-nonce',
  expiry: 'x-medledger-expiry',
  signature: 'x-medledger-signature',
  dataHash: 'x-medledger-data-hash',
} as const;

/** Request header that carries the stated reason to a gatekeeper: `<salt>.<percent-encoded reason>`. */
export const BREAK_GLASS_HEADER = 'x-medledger-break-glass';

/**
 * Response headers of a search whose query is exactly one of a patient's pointer queries (issue 19):
 * whether the chain already carries the hash of this answer's records or a newer one is on its way
 * (src/gatekeeper/publish/freshness.ts sends them; the EHR Manager's integrity check reads them).
 */
export const POINTER_HEADERS = {
  /** `current` or `pending`. */
  state: 'x-medledger-pointer-state',
  /** When pending: since when (ISO 8601), the oldest write or send not yet mined. */
  pendingSince: 'x-medledger-pointer-pending-since',
  /** When pending and its hash was sent: the hash sent and not yet mined (0x…). */
  pendingHash: 'x-medledger-pointer-pending-hash',
} as const;
