/**
 * Signed gatekeeper requests (EIP-712, https://eips.ethereum.org/EIPS/eip-712). The requester's
 * Ethereum key signs the method, path with query, a hash of the body, the gatekeeper it is meant for,
 * the chain, a one-time nonce and an expiry; the gatekeeper recovers the address from the signature.
 * Both sides use these functions, so what is signed and what is checked cannot drift apart.
 */
import { bytesToHex, keccak256, recoverTypedDataAddress, stringToBytes, type Address, type Hex, type LocalAccount } from 'viem';

export const HEADERS = {
  address: 'x-medledger-address',
  chainId: 'x-medledger-chain-id',
  nonce: 'x-medledger-nonce',
  expiry: 'x-medledger-expiry',
  signature: 'x-medledger-signature',
  dataHash: 'x-medledger-data-hash',
} as const;

export const REQUEST_TYPES = {
  Request: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodyHash', type: 'bytes32' },
    { name: 'gatekeeper', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const;

/** Longest a signature may be valid for: bounds the nonce store and the damage of a leaked request. */
export const MAX_EXPIRY_SECONDS = 300;

export interface SignedRequestFields {
  method: string;
  /** Path and query exactly as sent, e.g. `/fhir/R4/Observation?category=laboratory`. */
  path: string;
  body?: string;
  /** The gatekeeper's provider address: a request signed for one gatekeeper is refused by another. */
  gatekeeper: Address;
  chainId: number;
}

export function bodyHash(body: string | undefined): Hex {
  return keccak256(stringToBytes(body ?? ''));
}

function typedData(f: SignedRequestFields, nonce: Hex, expiry: bigint) {
  return {
    domain: { name: 'MedLedger Gatekeeper', version: '1', chainId: f.chainId },
    types: REQUEST_TYPES,
    primaryType: 'Request',
    message: { method: f.method.toUpperCase(), path: f.path, bodyHash: bodyHash(f.body), gatekeeper: f.gatekeeper, nonce, expiry },
  } as const;
}

/** Signs a request; returns the headers to send with it. */
export async function signRequest(
  account: LocalAccount,
  fields: SignedRequestFields,
  options: { ttlSeconds?: number; now?: number } = {},
): Promise<Record<string, string>> {
  const nonce = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
  const expiry = BigInt((options.now ?? Math.floor(Date.now() / 1000)) + (options.ttlSeconds ?? 60));
  const signature = await account.signTypedData(typedData(fields, nonce, expiry));
  return {
    [HEADERS.address]: account.address,
    [HEADERS.chainId]: String(fields.chainId),
    [HEADERS.nonce]: nonce,
    [HEADERS.expiry]: expiry.toString(),
    [HEADERS.signature]: signature,
  };
}

/** Why a signature was refused; `status` is the HTTP status to answer with. */
export class SignatureError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 401,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

export interface VerifiedRequest {
  address: Address;
  nonce: Hex;
  expiry: number;
}

/**
 * Checks the signature headers of a request against what arrived. Does not check the nonce for
 * replay (that needs the store); the caller does, with the returned nonce and expiry.
 */
export async function verifyRequest(
  headers: Record<string, string | string[] | undefined>,
  fields: SignedRequestFields,
  now = Math.floor(Date.now() / 1000),
): Promise<VerifiedRequest> {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const address = h(HEADERS.address);
  const nonce = h(HEADERS.nonce);
  const expiryText = h(HEADERS.expiry);
  const signature = h(HEADERS.signature);
  const chainId = h(HEADERS.chainId);
  if (!address || !nonce || !expiryText || !signature) {
    throw new SignatureError(`missing signature headers (${Object.values(HEADERS).slice(0, 5).join(', ')})`, 401);
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new SignatureError('malformed address header', 400);
  if (!/^0x[0-9a-fA-F]{64}$/.test(nonce)) throw new SignatureError('nonce must be 32 bytes of hex', 400);
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new SignatureError('signature must be 65 bytes of hex', 400);
  if (!/^\d{1,12}$/.test(expiryText)) throw new SignatureError('malformed expiry', 400);
  if (chainId !== undefined && chainId !== String(fields.chainId)) {
    throw new SignatureError(`signed for chain ${chainId}, this gatekeeper is on chain ${fields.chainId}`, 401);
  }
  const expiry = Number(expiryText);
  if (expiry <= now) throw new SignatureError('signature expired', 401);
  if (expiry > now + MAX_EXPIRY_SECONDS) throw new SignatureError(`expiry more than ${MAX_EXPIRY_SECONDS} s ahead`, 401);
  let recovered: Address;
  try {
    recovered = await recoverTypedDataAddress({ ...typedData(fields, nonce as Hex, BigInt(expiry)), signature: signature as Hex });
  } catch {
    throw new SignatureError('signature cannot be recovered', 401);
  }
  if (recovered.toLowerCase() !== address.toLowerCase()) {
    throw new SignatureError('signature does not match the address (wrong key, gatekeeper, chain, path or body)', 401);
  }
  return { address: recovered, nonce: nonce as Hex, expiry };
}
