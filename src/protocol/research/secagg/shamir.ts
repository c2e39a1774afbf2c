/**
 * Shamir's t-of-n secret sharing (Shamir, "How to share a secret", CACM 1979) over the prime field
 * p = 2^255 − 19. A secret is a field element written as 32 little-endian bytes; the share for the
 * site at position i of the session's sorted site list is the polynomial's value at x = i + 1.
 * Any t shares give the secret back by Lagrange interpolation at 0; t − 1 shares are uniformly
 * distributed whatever the secret, so they say nothing about it.
 */
import { invert, mod } from '@noble/curves/abstract/modular';

export const FIELD_PRIME = (1n << 255n) - 19n;
/** A secret or a share: one field element, 32 bytes little-endian. */
export const FIELD_BYTES = 32;

export interface Share {
  /** The evaluation point, 1-based position of the holder in the session's sorted sites. */
  x: number;
  y: bigint;
}

/** A uniformly random field element from `random`, by rejection (drawing ≥ p happens with probability 2^-250). */
export function randomFieldElement(random: (n: number) => Uint8Array): bigint {
  for (;;) {
    const bytes = random(FIELD_BYTES).slice();
    if (bytes.length !== FIELD_BYTES) throw new Error(`the random source returned ${bytes.length} bytes, not ${FIELD_BYTES}`);
    bytes[FIELD_BYTES - 1]! &= 0x7f;
    const value = bytesToField(bytes);
    if (value < FIELD_PRIME) return value;
  }
}

/** Shares of `secret` at x = 1 … n, any `threshold` of which recover it. */
export function splitSecret(secret: bigint, threshold: number, n: number, random: (n: number) => Uint8Array): Share[] {
  const coefficients = [secret];
  for (let k = 1; k < threshold; k++) coefficients.push(randomFieldElement(random));
  return Array.from({ length: n }, (_, i) => ({ x: i + 1, y: evaluate(coefficients, BigInt(i + 1)) }));
}

function evaluate(coefficients: readonly bigint[], x: bigint): bigint {
  let y = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) y = mod(y * x + coefficients[k]!, FIELD_PRIME);
  return y;
}

/** The polynomial through `shares` (distinct x), evaluated at `at` (0: the secret). */
export function interpolate(shares: readonly Share[], at = 0n): bigint {
  let result = 0n;
  for (const [i, si] of shares.entries()) {
    let numerator = 1n;
    let denominator = 1n;
    for (const [j, sj] of shares.entries()) {
      if (i === j) continue;
      numerator = mod(numerator * (at - BigInt(sj.x)), FIELD_PRIME);
      denominator = mod(denominator * (BigInt(si.x) - BigInt(sj.x)), FIELD_PRIME);
    }
    result = mod(result + si.y * numerator * invert(denominator, FIELD_PRIME), FIELD_PRIME);
  }
  return result;
}

/**
 * The secret from at least `threshold` shares. Shares past the first `threshold` must lie on the
 * same polynomial; a share that does not (corrupted, or from another secret) is an error.
 */
export function combineShares(shares: readonly Share[], threshold: number): bigint {
  if (shares.length < threshold) throw new Error(`${shares.length} shares, fewer than the threshold ${threshold}`);
  if (new Set(shares.map((s) => s.x)).size !== shares.length) throw new Error('two shares at the same point');
  const basis = shares.slice(0, threshold);
  for (const extra of shares.slice(threshold)) {
    if (interpolate(basis, BigInt(extra.x)) !== extra.y) throw new Error(`the share at x = ${extra.x} does not match the others`);
  }
  return interpolate(basis);
}

export function fieldToBytes(value: bigint): Uint8Array {
  const bytes = new Uint8Array(FIELD_BYTES);
  let v = value;
  for (let i = 0; i < FIELD_BYTES; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
}

export function bytesToField(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}
