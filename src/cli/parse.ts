/**
 * Pure parsers for CLI arguments, each throwing a one-line message on bad input.
 */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Echoes an argument in an error: quoted, control characters escaped, bounded (one printable line). */
const quote = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** `seconds` if it is a whole, non-negative, exact number (so within the contract's uint64), else a one-line error. */
function expiryInRange(seconds: number, text: string): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new Error(`expiry ${quote(text)} is out of range`);
  return seconds;
}

/**
 * An expiry as unix seconds (0 = never): `never`, a duration from `now` (`90m`, `12h`, `1d`, `2w`),
 * an ISO date/time, or unix seconds.
 */
export function parseExpiry(text: string, nowSeconds: number): number {
  const value = text.trim();
  if (value === 'never' || value === '0') return 0;
  const duration = /^(\d+)([smhdw])$/.exec(value);
  if (duration) return expiryInRange(nowSeconds + Number(duration[1]) * UNITS[duration[2]!]!, text);
  if (/^\d{9,11}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return expiryInRange(Math.floor(ms / 1000), text);
  }
  throw new Error(`cannot read expiry ${quote(text)}: use never, a duration like 1d or 12h, or an ISO date`);
}

/** A duration in seconds: `30s`, `90m`, `12h`, `2d`, `1w`. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new Error(`cannot read duration "${text}": use e.g. 4h or 2d`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** A relationship id: a decimal or 0x-hex integer. Returns undefined when `text` is not a number. */
export function parseRelationshipId(text: string): bigint | undefined {
  if (/^[0-9]+$/.test(text) || /^0x[0-9a-fA-F]+$/.test(text)) {
    const id = BigInt(text);
    if (id === 0n || id >= 1n << 256n) throw new Error(`${quote(text)} is not a relationship id`);
    return id;
  }
  return undefined;
}

/** A 32-byte hex hash. */
export function parseHash(text: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new Error(`${quote(text)} is not a 32-byte hex hash`);
  return text.toLowerCase() as `0x${string}`;
}

/** A TCP port to listen on, 0 = a free one. */
export function parsePort(text: string, option = '--port'): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) throw new Error(`${option} must be an integer from 0 to 65535`);
  return port;
}

/** A `--gatekeeper provider=url` value: the provider as typed (a user name or address) and the URL without trailing slashes. */
export function parseGatekeeperSpec(text: string): { provider: string; url: string } {
  const m = /^([^=\s]+)=(https?:\/\/[^\s/]\S*)$/.exec(text);
  if (!m) throw new Error(`--gatekeeper ${quote(text)}: use provider=url, e.g. st-marys=http://127.0.0.1:8081`);
  return { provider: m[1]!, url: m[2]!.replace(/\/+$/, '') };
}
