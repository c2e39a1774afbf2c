/**
 * Pure parsers for CLI arguments, each throwing a one-line message on bad input.
 */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * An expiry as unix seconds (0 = never): `never`, a duration from `now` (`90m`, `12h`, `1d`, `2w`),
 * an ISO date/time, or unix seconds.
 */
export function parseExpiry(text: string, nowSeconds: number): number {
  const value = text.trim();
  if (value === 'never' || value === '0') return 0;
  const duration = /^(\d+)([smhdw])$/.exec(value);
  if (duration) return nowSeconds + Number(duration[1]) * UNITS[duration[2]!]!;
  if (/^\d{9,11}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new Error(`cannot read expiry "${text}": use never, a duration like 1d or 12h, or an ISO date`);
}

/** A relationship id: a decimal or 0x-hex integer. Returns undefined when `text` is not a number. */
export function parseRelationshipId(text: string): bigint | undefined {
  if (/^[0-9]+$/.test(text) || /^0x[0-9a-fA-F]+$/.test(text)) {
    const id = BigInt(text);
    if (id === 0n || id >= 1n << 192n) throw new Error(`"${text}" is not a relationship id`);
    return id;
  }
  return undefined;
}

/** A 32-byte hex hash. */
export function parseHash(text: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new Error(`"${text}" is not a 32-byte hex hash`);
  return text.toLowerCase() as `0x${string}`;
}
