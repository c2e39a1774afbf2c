/**
 * Weekly case counts per (condition, region) from a provider's FHIR records: the only thing a
 * provider shares for outbreak surveillance. No row, identifier, date of birth or exact date leaves;
 * only counts per ISO week, with small cells suppressed.
 *
 * Rules, in the order they apply:
 * - Consent: only the Patients passed in are counted (the caller passes those who consented to
 *   surveillance use); a Condition whose subject is not among them is ignored.
 * - Condition: matched by code to one of {@link INFECTIOUS_CONDITIONS} (SNOMED CT, or ICD-10 by
 *   category prefix). `entered-in-error` and `refuted` verification statuses are not cases;
 *   provisional and unconfirmed ones are (surveillance counts clinical diagnoses, not only lab-confirmed).
 * - Date: onsetDateTime, else onsetPeriod.start, else recordedDate, at day precision or finer; the
 *   calendar day as written (the patient's local day) picks the ISO week. Year- or month-only dates
 *   cannot be placed in a week and are left out.
 * - Episodes: one patient's records of one condition within `episodeDays` of the onset last counted
 *   are the same episode (a follow-up visit is not a new case).
 * - Region: Patient.address.state, or the first digits of postalCode (`regionBy`), from the current
 *   home address; `unknown` where there is none.
 * - Small cells: a count from 1 to `minCount - 1` is reported as `<5` (mask) or left out (drop).
 *   Zeros are reported: they identify nobody, and a consumer must tell "none" from "suppressed".
 *   No totals over regions or weeks are published, so a suppressed cell cannot be recovered by
 *   subtraction within one release; re-releasing corrected counts can expose differences, so a
 *   consumer should take one release per period.
 */
import type { Address, CodeableConcept, Condition, Patient } from '@medplum/fhirtypes';
import { dateRange } from '../records/date.js';
import { patientIdOf } from '../records/extract.js';
import { addIsoWeeks, calendarDay, formatIsoWeek, isoWeekOf, isoWeeksBetween, parseIsoWeek, type IsoWeek } from './iso-week.js';

const SNOMED = 'http://snomed.info/sct';
const ICD10_SYSTEMS = new Set(['http://hl7.org/fhir/sid/icd-10', 'http://hl7.org/fhir/sid/icd-10-cm']);

/**
 * The notifiable infections counted, each with its SNOMED CT concept and ICD-10 categories, and
 * one syndrome: acute respiratory infection (ARI), which sentinel general-practice surveillance
 * counts by diagnosis rather than by pathogen (EU case definition, Commission Implementing
 * Decision (EU) 2018/945; ICD-10 J00–J06 acute upper and J20–J22 acute lower respiratory
 * infections). Only the listed SNOMED codes match: descendants (e.g. influenza A subtypes) need a
 * terminology server's expansion (`<< 6142004`) appended here. A coding matches the first entry
 * that lists it, so influenza is counted as influenza, not also as ARI.
 */
export const INFECTIOUS_CONDITIONS = {
  influenza: { snomed: ['6142004'], icd10: ['J09', 'J10', 'J11'] },
  salmonellosis: { snomed: ['302231008'], icd10: ['A02'] },
  campylobacteriosis: { snomed: ['4834000'], icd10: ['A04.5'] },
  'covid-19': { snomed: ['840539006'], icd10: ['U07.1'] },
  // Upper respiratory infection, acute viral pharyngitis, viral sinusitis, acute bronchitis.
  'acute-respiratory-infection': {
    snomed: ['54150009', '195662009', '444814009', '10509002'],
    icd10: ['J00', 'J01', 'J02', 'J03', 'J04', 'J05', 'J06', 'J20', 'J21', 'J22'],
  },
} as const satisfies Record<string, { snomed: readonly string[]; icd10: readonly string[] }>;
export type InfectiousCondition = keyof typeof INFECTIOUS_CONDITIONS;

export interface WeeklyCaseCell {
  condition: InfectiousCondition;
  region: string;
  /** ISO week, `2024-W03`. */
  week: string;
  /** The count, or `<5` (`<minCount`) where it was from 1 to minCount − 1 and masked. */
  cases: number | `<${number}`;
}

export interface AggregateOptions {
  /** Smallest count published as a number (default 5: counts 1–4 suppressed). */
  minCount?: number;
  /** `mask` (default) publishes `<5`; `drop` leaves the cell out. */
  suppression?: 'mask' | 'drop';
  /** Region from `state` (default) or the first `postalPrefix` characters of the postal code. */
  regionBy?: 'state' | { postalPrefix: number };
  /** Days within which a patient's further records of one condition are the same episode (default 28). */
  episodeDays?: number;
  /** First and last ISO week reported (`2024-W01`); default: the first and last week with a case. */
  from?: string;
  to?: string;
}

/** The condition a coded concept names, if any. */
export function infectiousConditionOf(code: CodeableConcept | undefined): InfectiousCondition | undefined {
  for (const coding of code?.coding ?? []) {
    if (!coding.code) continue;
    for (const [name, codes] of Object.entries(INFECTIOUS_CONDITIONS) as [InfectiousCondition, (typeof INFECTIOUS_CONDITIONS)[InfectiousCondition]][]) {
      if (coding.system === SNOMED && (codes.snomed as readonly string[]).includes(coding.code)) return name;
      if (coding.system && ICD10_SYSTEMS.has(coding.system)) {
        // ICD-10 codes appear with and without the dot (A02.0, A020); a category matches its subcodes.
        const bare = coding.code.replace('.', '').toUpperCase();
        if (codes.icd10.some((c) => bare.startsWith(c.replace('.', '')))) return name;
      }
    }
  }
  return undefined;
}

/** The calendar day (YYYY-MM-DD) a case started, or undefined without a day-precise date. */
export function onsetDayOf(condition: Condition): string | undefined {
  const value = condition.onsetDateTime ?? condition.onsetPeriod?.start ?? condition.recordedDate;
  // dateRange validates the FHIR value; a range over a day long means year or month precision.
  const range = value === undefined ? undefined : dateRange(value);
  if (!value || !range || range.end - range.start > 86_400_000) return undefined;
  return value.slice(0, 10);
}

/** The region a patient is counted in. */
export function regionOf(patient: Patient, regionBy: AggregateOptions['regionBy'] = 'state'): string {
  const address = currentHomeAddress(patient.address ?? []);
  const region =
    regionBy === 'state'
      ? address?.state?.trim()
      : address?.postalCode?.replace(/\s/g, '').slice(0, regionBy.postalPrefix).padEnd(regionBy.postalPrefix, '?');
  return region ? region.toUpperCase() : 'unknown';
}

function currentHomeAddress(addresses: Address[]): Address | undefined {
  const current = addresses.filter((a) => !a.period?.end && a.use !== 'old' && a.use !== 'billing');
  return current.find((a) => a.use === 'home') ?? current[0];
}

const NOT_A_CASE = new Set(['entered-in-error', 'refuted']);

/** Weekly counts per (condition, region), small cells suppressed: what a provider shares. */
export function aggregateWeeklyCases(conditions: Condition[], patients: Patient[], options: AggregateOptions = {}): WeeklyCaseCell[] {
  const { minCount = 5, suppression = 'mask', regionBy = 'state', episodeDays = 28 } = options;
  const regionByPatient = new Map(patients.filter((p) => p.id).map((p) => [p.id as string, regionOf(p, regionBy)]));

  // (patient, condition) → onset days, to collapse episodes.
  const onsets = new Map<string, { patientId: string; condition: InfectiousCondition; days: string[] }>();
  for (const c of conditions) {
    const patientId = patientIdOf(c.subject);
    if (!patientId || !regionByPatient.has(patientId)) continue;
    if (c.verificationStatus?.coding?.some((s) => s.code && NOT_A_CASE.has(s.code))) continue;
    const condition = infectiousConditionOf(c.code);
    const day = onsetDayOf(c);
    if (!condition || !day) continue;
    const key = `${patientId}\u0000${condition}`;
    const entry = onsets.get(key) ?? { patientId, condition, days: [] };
    entry.days.push(day);
    onsets.set(key, entry);
  }

  // One series per (condition, region): week → count.
  const series = new Map<string, { condition: InfectiousCondition; region: string; byWeek: Map<string, number> }>();
  const weeks: IsoWeek[] = [];
  for (const { patientId, condition, days } of onsets.values()) {
    const region = regionByPatient.get(patientId) as string;
    const key = JSON.stringify([condition, region]);
    const s = series.get(key) ?? { condition, region, byWeek: new Map<string, number>() };
    series.set(key, s);
    let last = -Infinity;
    for (const day of days.sort()) {
      const ms = calendarDay(day);
      if (ms - last < episodeDays * 86_400_000) continue;
      last = ms;
      const week = isoWeekOf(day);
      weeks.push(week);
      const label = formatIsoWeek(week);
      s.byWeek.set(label, (s.byWeek.get(label) ?? 0) + 1);
    }
  }
  if (weeks.length === 0) return [];

  const first = options.from ? parseIsoWeek(options.from) : weeks.reduce((a, b) => (isoWeeksBetween(a, b) >= 0 ? a : b));
  const last = options.to ? parseIsoWeek(options.to) : weeks.reduce((a, b) => (isoWeeksBetween(a, b) <= 0 ? a : b));
  const span = isoWeeksBetween(first, last);

  const cells: WeeklyCaseCell[] = [];
  const ordered = [...series.values()].sort((a, b) => a.condition.localeCompare(b.condition) || a.region.localeCompare(b.region));
  for (const { condition, region, byWeek } of ordered) {
    for (let i = 0; i <= span; i++) {
      const week = formatIsoWeek(addIsoWeeks(first, i));
      const n = byWeek.get(week) ?? 0;
      if (n > 0 && n < minCount) {
        if (suppression === 'mask') cells.push({ condition, region, week, cases: `<${minCount}` });
      } else {
        cells.push({ condition, region, week, cases: n });
      }
    }
  }
  return cells;
}
