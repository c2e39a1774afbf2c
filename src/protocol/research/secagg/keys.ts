/**
 * Key derivation, mask expansion and share encryption. Every key is HKDF-SHA256 (RFC 5869) with the
 * session id as salt and a label naming its use and the sites it belongs to as info, so a key (and the
 * mask it expands to) is never reused across rounds, studies, pairs or directions even if a site
 * reused its x25519 keys. Masks are the ChaCha20 keystream (RFC 8439) of such a key read as
 * little-endian 64-bit words: uniform mod 2^64, as Bonawitz et al.'s PRG(seed).
 */
import { chacha20, xchacha20poly1305 } from '@noble/ciphers/chacha';
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';
import type { Hex } from 'viem';

export const KEY_BYTES = 32;
const PRG_NONCE = new Uint8Array(12);

/** HKDF-SHA256 of `secret`, salted with the session id, for the use `label` by `parties` (in order). */
export function deriveKey(secret: Uint8Array, sessionId: Hex, label: string, parties: readonly string[]): Uint8Array {
  // JSON keeps the info unambiguous whatever the site names contain.
  const info = utf8ToBytes(JSON.stringify(['medledger/secagg/v1', label, ...parties]));
  return hkdf(sha256, secret, fromHex(sessionId), info, KEY_BYTES);
}

/** x25519 agreement; throws (noble) on a low-order public key, whose shared secret would be zero. */
export function agree(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(privateKey, publicKey);
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/** `length` words uniform mod 2^64 from a 32-byte key. */
export function expandMask(key: Uint8Array, length: number): bigint[] {
  const stream = chacha20(key, PRG_NONCE, new Uint8Array(8 * length));
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  return Array.from({ length }, (_, i) => view.getBigUint64(8 * i, true));
}

/** XChaCha20-Poly1305 (random 24-byte nonce): confidentiality and integrity of one share message. */
export function seal(key: Uint8Array, nonce: Uint8Array, associated: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, associated).encrypt(plaintext);
}

/** The plaintext, or an Error when the ciphertext, nonce, key or associated data were changed. */
export function open(key: Uint8Array, nonce: Uint8Array, associated: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, associated).decrypt(ciphertext);
}

export const NONCE_BYTES = 24;

export function toHex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

/** Bytes of a 0x-hex string; `bytes` checks the length. Throws a plain error naming `what`. */
export function fromHex(hex: unknown, bytes?: number, what = 'value'): Uint8Array {
  if (typeof hex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`${what} is not 0x-prefixed hex`);
  const out = hexToBytes(hex.slice(2));
  if (bytes !== undefined && out.length !== bytes) throw new Error(`${what} is ${out.length} bytes, not ${bytes}`);
  return out;
}

export function commitment(sessionId: Hex, site: string, seed: Uint8Array): Uint8Array {
  const label = utf8ToBytes(JSON.stringify(['medledger/secagg/v1', 'self-mask-commitment', sessionId, site]));
  return sha256(concatBytes(label, seed));
}
