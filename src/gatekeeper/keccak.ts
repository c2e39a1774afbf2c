/**
 * keccak256 for the gatekeeper's hot path: every request hashes its EIP-712 digest (request-signature.ts)
 * and every decision the Merkle leaf of its AuditEvent (audit.ts, about 1.3 kB of JSON). js-sha3's
 * unrolled permutation is about five times faster than @noble/hashes (which viem uses) on Node 20, so
 * these two use it; the results are the same function (test/gatekeeper-signature.test.ts compares them).
 *
 * js-sha3 comes with solc (a dependency); it should be listed in package.json in its own right.
 */
import sha3 from 'js-sha3';
import type { Hex } from 'viem';

// Strings are encoded here (a lone surrogate becoming U+FFFD), not by js-sha3. TextEncoder, not
// Buffer, so the same module runs in the browser (the EHR Manager signs requests with it).
const utf8 = new TextEncoder();
const bytesOf = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? utf8.encode(data) : data);

/** keccak256 of bytes, or of a string's UTF-8. */
export function keccak256Bytes(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(sha3.keccak256.arrayBuffer(bytesOf(data)));
}

/** keccak256 of bytes, or of a string's UTF-8, as 0x-hex. */
export function keccak256Hex(data: Uint8Array | string): Hex {
  return `0x${sha3.keccak256(bytesOf(data))}`;
}
