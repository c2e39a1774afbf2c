/**
 * Time and number helpers of the demo generator: days and years in milliseconds, clinic hours, FHIR
 * date formats. All in UTC, so a seed gives the same records in every time zone.
 */
import type { Random } from '../random.js';

export const DAY = 86_400_000;
export const YEAR = 365.25 * DAY;

export const clamp = (x: number, low: number, high: number): number => Math.min(high, Math.max(low, x));
export const round = (x: number, decimals: number): number => Math.round(x * 10 ** decimals) / 10 ** decimals;
export const startOfDay = (time: number): number => Math.floor(time / DAY) * DAY;

/** A day from `from` to `to`; from the year before `to` when `from` is not earlier (a young patient). */
export const before = (rng: Random, from: number, to: number): number => startOfDay(rng.uniform(Math.min(from, to - YEAR), to));

/** A time in clinic hours (UTC, 09:00–16:45 on the quarter hour) on the day of `time`. */
export function clinicTime(rng: Random, time: number): number {
  return startOfDay(time) + (rng.int(9 * 4, 16 * 4 + 3) * 15) * 60_000;
}

/** FHIR `date` (https://hl7.org/fhir/R4/datatypes.html#date). */
export const isoDate = (time: number): string => new Date(time).toISOString().slice(0, 10);
/** FHIR `dateTime` to the second, in UTC. */
export const isoDateTime = (time: number): string => `${new Date(time).toISOString().slice(0, 19)}Z`;
