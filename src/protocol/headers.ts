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
