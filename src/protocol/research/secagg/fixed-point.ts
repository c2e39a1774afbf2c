/**
 * Real numbers as integers mod 2^64, so that masks (uniform mod 2^64) hide them perfectly and cancel
 * exactly. A value x is sent as round(x · 2^32) mod 2^64 (two's complement), i.e. a resolution of
 * 2^-32 ≈ 2.3e-10. Each value must lie in [-MAX_ABS_VALUE, MAX_ABS_VALUE] = ±2^24 (≈ ±1.7e7), and a
 * round has at most MAX_SITES = 64 sites, so a sum stays below 2^30 · 2^32 = 2^62 in magnitude and
 * never wraps past ±2^63: the decoded sum is exact up to one rounding (≤ 2^-33) per site (and the
 * nearest double to the result).
 */

export const MODULUS = 1n << 64n;
const MASK64 = MODULUS - 1n;
const HALF = 1n << 63n;
/** Fixed-point scale: values are multiples of 2^-32. */
export const FIXED_POINT_SCALE = 2 ** 32;
/** Largest magnitude of one site's value. */
export const MAX_ABS_VALUE = 2 ** 24;
/** Most sites in one round; with MAX_ABS_VALUE it keeps every sum inside the signed 64-bit range. */
export const MAX_SITES = 64;

/** One site's real vector as integers mod 2^64; throws on a value that is not finite or out of range. */
export function encodeFixedPoint(values: readonly number[]): bigint[] {
  return values.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`value ${i} is not a finite number`);
    if (Math.abs(x) > MAX_ABS_VALUE) throw new Error(`value ${i} (${x}) is outside ±${MAX_ABS_VALUE}, the range secure aggregation can sum`);
    // x · 2^32 is exact in binary floating point (a power of two), so only the rounding loses precision.
    return BigInt(Math.round(x * FIXED_POINT_SCALE)) & MASK64;
  });
}

/** A sum mod 2^64 back to real numbers (two's complement). */
export function decodeFixedPoint(values: readonly bigint[]): number[] {
  return values.map((v) => {
    const reduced = v & MASK64;
    const signed = reduced >= HALF ? reduced - MODULUS : reduced;
    // Whole and fractional parts separately, so the only rounding is to the nearest double at the end.
    return Number(signed >> 32n) + Number(signed & 0xffffffffn) / FIXED_POINT_SCALE;
  });
}

/** a + sign · b, element-wise mod 2^64, into `a`. */
export function addInto(a: bigint[], b: readonly bigint[], sign: 1 | -1 = 1): bigint[] {
  for (let i = 0; i < a.length; i++) a[i] = (a[i]! + (sign === 1 ? b[i]! : MODULUS - b[i]!)) & MASK64;
  return a;
}
