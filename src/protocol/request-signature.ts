/**
 * Signed gatekeeper requests (EIP-712, https://eips.ethereum.org/EIPS/eip-712). The requester's
 * Ethereum key signs the method, path with query, a hash of the body, the gatekeeper it is meant for,
 * the chain, a one-time nonce and an expiry; the gatekeeper recovers the address from the signature
 * (or, for a signer it has seen, checks the signature against the key it recovered then).
 * Both sides use these functions, so what is signed and what is checked cannot drift apart.
 */
import { invert, mod } from '@noble/curves/abstract/modular';
import { bytesToNumberBE } from '@noble/curves/abstract/utils';
import type { ProjPointType } from '@noble/curves/abstract/weierstrass';
import { secp256k1 } from '@noble/curves/secp256k1';
import { bytesToHex, getAddress, hexToBytes, keccak256, stringToBytes, type Address, type Hex, type LocalAccount } from 'viem';
import { keccak256Bytes } from './keccak.js';

import { HEADERS } from './headers.js';
export { HEADERS };

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
  /** Known signers' keys (createSignerKeys): a repeat signer is checked against its key, not recovered. */
  keys?: SignerKeys,
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
    throw new SignatureError(`signed for chain ${JSON.stringify(chainId.slice(0, 24))}, this gatekeeper is on chain ${fields.chainId}`, 401);
  }
  const expiry = Number(expiryText);
  if (expiry <= now) throw new SignatureError('signature expired', 401);
  if (expiry > now + MAX_EXPIRY_SECONDS) throw new SignatureError(`expiry more than ${MAX_EXPIRY_SECONDS} s ahead`, 401);
  const mismatch = () => new SignatureError('signature does not match the address (wrong key, gatekeeper, chain, path or body)', 401);
  let parsed: ParsedSignature;
  let digest: Uint8Array;
  try {
    parsed = parseSignature(signature as Hex);
    digest = requestDigest(fields, nonce as Hex, BigInt(expiry));
  } catch {
    throw new SignatureError('signature cannot be recovered', 401);
  }
  const known = keys?.check(address, digest, parsed);
  if (known === false) throw mismatch();
  if (known) return { address: known, nonce: nonce as Hex, expiry };
  let recovered: { address: Address; key: PublicKey };
  try {
    recovered = recoverKey(digest, parsed);
  } catch {
    throw new SignatureError('signature cannot be recovered', 401);
  }
  if (recovered.address.toLowerCase() !== address.toLowerCase()) throw mismatch();
  keys?.remember(recovered.address, recovered.key);
  return { address: recovered.address, nonce: nonce as Hex, expiry };
}

// The EIP-712 digest computed directly (https://eips.ethereum.org/EIPS/eip-712#definition-of-hashstruct):
// viem's generic hashTypedData walks the type description and converts through hex for every request,
// which costs a noticeable share of a signature recovery; the gatekeeper checks one fixed type, so its
// type hash and each chain's domain separator are computed once. test/gatekeeper-signature.test.ts
// checks the result against viem's hashTypedData.
const REQUEST_TYPEHASH = keccak256Bytes(`Request(${REQUEST_TYPES.Request.map((f) => `${f.type} ${f.name}`).join(',')})`);
const DOMAIN_TYPEHASH = keccak256Bytes('EIP712Domain(string name,string version,uint256 chainId)');
const EMPTY_BODY_HASH = keccak256Bytes('');
const domainSeparators = new Map<number, Uint8Array>();

/** A number as a 32-byte big-endian word (uint256 / uint64 encoding). */
function word(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31, v = value; i >= 0 && v > 0n; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function domainSeparator(chainId: number): Uint8Array {
  let separator = domainSeparators.get(chainId);
  if (!separator) {
    const buf = new Uint8Array(128);
    buf.set(DOMAIN_TYPEHASH, 0);
    buf.set(keccak256Bytes('MedLedger Gatekeeper'), 32);
    buf.set(keccak256Bytes('1'), 64);
    buf.set(word(BigInt(chainId)), 96);
    separator = keccak256Bytes(buf);
    domainSeparators.set(chainId, separator);
  }
  return separator;
}

/** The EIP-712 digest of a request: what signRequest signs (viem's hashTypedData of the same data). */
export function requestDigest(f: SignedRequestFields, nonce: Hex, expiry: bigint): Uint8Array {
  const struct = new Uint8Array(224);
  struct.set(REQUEST_TYPEHASH, 0);
  struct.set(keccak256Bytes(f.method.toUpperCase()), 32);
  struct.set(keccak256Bytes(f.path), 64);
  struct.set(f.body ? keccak256Bytes(f.body) : EMPTY_BODY_HASH, 96);
  struct.set(hexToBytes(f.gatekeeper), 140); // address: 20 bytes, left-padded to 32
  struct.set(hexToBytes(nonce), 160);
  struct.set(word(expiry), 192);
  const message = new Uint8Array(66);
  message[0] = 0x19;
  message[1] = 0x01;
  message.set(domainSeparator(f.chainId), 2);
  message.set(keccak256Bytes(struct), 34);
  return keccak256Bytes(message);
}

type PublicKey = ProjPointType<bigint>;
interface ParsedSignature {
  r: bigint;
  s: bigint;
  /** y parity of the signature's point R (v = 27/28 or 0/1). */
  recoveryBit: 0 | 1;
}

/** r ‖ s ‖ v of a 65-byte signature; throws unless 0 < r, s < n and v is 27/28 or 0/1 (as viem's recoverAddress). */
function parseSignature(signature: Hex): ParsedSignature {
  const v = Number.parseInt(signature.slice(130, 132), 16);
  const recoveryBit = v === 27 || v === 28 ? v - 27 : v;
  if (recoveryBit !== 0 && recoveryBit !== 1) throw new Error('invalid signature recovery byte');
  const { r, s } = secp256k1.Signature.fromCompact(signature.slice(2, 130));
  return { r, s, recoveryBit };
}

const addressOf = (key: PublicKey): Address => getAddress(bytesToHex(keccak256Bytes(key.toRawBytes(false).subarray(1)).subarray(12)));

/** Recovers the signing key and its address: viem's recoverAddress, with noble called directly (no hex round trips). */
function recoverKey(digest: Uint8Array, { r, s, recoveryBit }: ParsedSignature): { address: Address; key: PublicKey } {
  const key = new secp256k1.Signature(r, s).addRecoveryBit(recoveryBit).recoverPublicKey(digest);
  return { address: addressOf(key), key };
}

/** The address whose key made `signature` (65 bytes r ‖ s ‖ v, v = 27/28 or 0/1) over `digest`. */
export function recoverSigner(digest: Uint8Array, signature: Hex): Address {
  return recoverKey(digest, parseSignature(signature)).address;
}

/**
 * Whether `key` made the signature over `digest`, decided exactly as recovery would: recovery of
 * (r, s, bit) yields Q = r⁻¹(s·R − h·G) for the point R with x = r and y parity `bit`, so it yields
 * `key` if and only if u1·G + u2·key = R with u1 = h·s⁻¹, u2 = r·s⁻¹ — which is what is checked, x
 * and parity both (a plain ECDSA verify would ignore the parity). noble's constant-time multiply is
 * used with the key's precomputed table: multiplyUnsafe on a point with a table returns wrong points
 * in @noble/curves 1.9.1 (test/gatekeeper-signature.test.ts would catch a wrong answer either way).
 */
function signedBy(key: PublicKey, digest: Uint8Array, { r, s, recoveryBit }: ParsedSignature): boolean {
  const N = secp256k1.CURVE.n;
  const sInverse = invert(s, N);
  const R = secp256k1.ProjectivePoint.BASE.multiply(mod(bytesToNumberBE(digest) * sInverse, N)).add(key.multiply(mod(r * sInverse, N)));
  if (R.equals(secp256k1.ProjectivePoint.ZERO)) return false;
  const { x, y } = R.toAffine();
  return x === r && Number(y & 1n) === recoveryBit;
}

/**
 * The public keys of recent signers, for requesters who sign many requests. Checking a signature
 * against a known key with a precomputed table of its multiples (built on the key's second use, about
 * two recoveries' work) costs a third to a half of recovering the key, and decides the same
 * (signedBy). A key is only ever learnt from a recovery, so an address maps to the one key that
 * hashes to it. Least recently used keys are dropped beyond `max`.
 */
export interface SignerKeys {
  /** The signer's address (checksummed) if `address`'s key made the signature; false if it did not; undefined when the key is not known. */
  check(address: string, digest: Uint8Array, signature: ParsedSignature): Address | false | undefined;
  remember(address: Address, key: PublicKey): void;
}

/** Precomputed window of a remembered key: 2^(4-1) · 65 points, about 100 kB. */
const KEY_WINDOW = 4;

export function createSignerKeys(max = 128): SignerKeys {
  const known = new Map<string, { address: Address; key: PublicKey; precomputed: boolean }>();
  return {
    check(address, digest, signature) {
      const id = address.toLowerCase();
      const entry = known.get(id);
      if (!entry) return undefined;
      known.delete(id); // most recently used last
      known.set(id, entry);
      if (!entry.precomputed) {
        secp256k1.utils.precompute(KEY_WINDOW, entry.key);
        entry.precomputed = true;
      }
      try {
        return signedBy(entry.key, digest, signature) ? entry.address : false;
      } catch {
        return undefined; // a zero scalar (h ≡ 0 mod n): let recovery decide
      }
    },
    remember(address, key) {
      const id = address.toLowerCase();
      if (known.has(id)) return;
      if (known.size >= max) known.delete(known.keys().next().value!);
      known.set(id, { address, key, precomputed: false });
    },
  };
}
