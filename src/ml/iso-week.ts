/**
 * ISO 8601 weeks: Monday to Sunday, week 1 is the week holding the year's first Thursday (so it
 * always holds 4 January). Surveillance systems (ECDC TESSy, RKI SurvStat, WHO FluNet) report by ISO
 * week, which is why aggregation buckets by it. A year has 52 or 53 weeks; the days around 1 January
 * may belong to the neighbouring ISO year (2021-01-03 is 2020-W53, 2019-12-30 is 2020-W01).
 *
 * Pure UTC calendar arithmetic on `YYYY-MM-DD` strings: no time zones, the date is the date as written.
 */

export interface IsoWeek {
  year: number;
  week: number;
}

const DAY_MS = 86_400_000;
const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function utcDay(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime();
}

/** Epoch ms of a `YYYY-MM-DD` calendar date; throws on anything else or an impossible date. */
export function calendarDay(date: string): number {
  const m = CALENDAR_DATE.exec(date);
  if (!m) throw new Error(`not a calendar date (YYYY-MM-DD): ${date}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = utcDay(y, mo, d);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) throw new Error(`no such date: ${date}`);
  return ms;
}

/** Monday = 0 … Sunday = 6. */
const weekday = (ms: number) => (new Date(ms).getUTCDay() + 6) % 7;

/** The ISO week a calendar date falls in. */
export function isoWeekOf(date: string): IsoWeek {
  const day = calendarDay(date);
  // The week belongs to the year its Thursday is in.
  const thursday = day + (3 - weekday(day)) * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - utcDay(year, 1, 1)) / (7 * DAY_MS));
  return { year, week };
}

/** Epoch ms of the Monday starting an ISO week. */
export function isoWeekMonday({ year, week }: IsoWeek): number {
  const jan4 = utcDay(year, 1, 4);
  return jan4 - weekday(jan4) * DAY_MS + (week - 1) * 7 * DAY_MS;
}

/** 52 or 53: a year has week 53 when 28 December (always in the last week) falls in it. */
export function isoWeeksInYear(year: number): number {
  return isoWeekOf(`${String(year).padStart(4, '0')}-12-28`).week;
}

/** `2020-W53`, the ISO 8601 week notation. */
export function formatIsoWeek({ year, week }: IsoWeek): string {
  return `${String(year).padStart(4, '0')}-W${String(week).padStart(2, '0')}`;
}

/** Parses `2020-W53`; throws when the year has no such week. */
export function parseIsoWeek(text: string): IsoWeek {
  const m = /^(\d{4})-W(\d{2})$/.exec(text);
  const w = m ? { year: Number(m[1]), week: Number(m[2]) } : undefined;
  if (!w || w.week < 1 || w.week > isoWeeksInYear(w.year)) throw new Error(`not an ISO week: ${text}`);
  return w;
}

/** The ISO week `n` weeks after (negative: before) `w`. */
export function addIsoWeeks(w: IsoWeek, n: number): IsoWeek {
  const monday = new Date(isoWeekMonday(w) + n * 7 * DAY_MS).toISOString().slice(0, 10);
  return isoWeekOf(monday);
}

/** Whole weeks from `a` to `b` (positive when b is later). */
export function isoWeeksBetween(a: IsoWeek, b: IsoWeek): number {
  return Math.round((isoWeekMonday(b) - isoWeekMonday(a)) / (7 * DAY_MS));
}
