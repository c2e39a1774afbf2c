/**
 * FHIR date, dateTime and instant values as time ranges.
 *
 * A FHIR date value stands for the whole interval its precision implies: `2020` is the year,
 * `2020-03` the month, `2020-03-05T10:00` the minute (https://hl7.org/fhir/R4/search.html#date).
 * Ranges are half-open, [start, end), in epoch milliseconds; an unbounded end is ±Infinity.
 * Values without a time zone (all dates, and times written without one) are read as UTC.
 */

export interface DateRange {
  readonly start: number;
  readonly end: number;
}

// Year, month, day, hour, minute, second, fraction, zone. A space stands for '+' in the zone because
// an unencoded '+' in a query string decodes to a space.
const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+ -]\d{2}:\d{2})?)?)?)?$/;

function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0–99 literal, unlike Date.UTC
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/** The range a FHIR date/dateTime/instant stands for; undefined when it is not one (or not a real date). */
export function dateRange(value: string): DateRange | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (h === undefined) {
    if (mo === undefined) return { start: utc(year, 1, 1), end: utc(year + 1, 1, 1) };
    if (d === undefined) return { start: utc(year, month, 1), end: utc(year, month + 1, 1) };
    return { start: utc(year, month, day), end: utc(year, month, day + 1) };
  }
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 60) return undefined; // 60: a leap second
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  // Precision: a minute, a second, or the fraction's last digit (at most a millisecond).
  const unit = s === undefined ? 60_000 : frac === undefined ? 1000 : 10 ** Math.max(0, 3 - frac.length);
  let offset = 0;
  if (zone && zone !== 'Z') {
    const [zh, zm] = zone.slice(1).split(':').map(Number) as [number, number];
    if (zh > 14 || zm > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm) * 60_000;
  }
  const start = utc(year, month, day, hour, minute, second, ms) - offset;
  return { start, end: start + unit };
}

function daysIn(year: number, month: number): number {
  return new Date(utc(year, month + 1, 1) - 86_400_000).getUTCDate();
}

/** The range of a FHIR Period: from the start of `start` to the end of `end`, open where absent. */
export function periodRange(period: { start?: string; end?: string }): DateRange | undefined {
  const start = period.start === undefined ? { start: -Infinity, end: -Infinity } : dateRange(period.start);
  const end = period.end === undefined ? { start: Infinity, end: Infinity } : dateRange(period.end);
  if (!start || !end || (period.start === undefined && period.end === undefined)) return undefined;
  return { start: start.start, end: end.end };
}

/** A range bound as PostgreSQL timestamptz text ('infinity' for an open end). */
export function toTimestamp(ms: number): string {
  if (ms === Infinity) return 'infinity';
  if (ms === -Infinity) return '-infinity';
  return new Date(ms).toISOString();
}
