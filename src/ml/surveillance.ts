/**
 * The surveillance series a public-health authority forecasts and watches: the providers' weekly
 * counts (each provider's gatekeeper reports its consenting patients' cases, small cells suppressed:
 * aggregate.ts, src/gatekeeper/http/surveillance.ts), summed over providers per condition and
 * region, and real regional surveillance series from data/outbreaks as reference (named and cited).
 *
 * A suppressed cell (`<5`: 1–4 cases) has no number; the models need one, so it enters as the
 * middle of what it can be (2.5 for `<5`), and the series marks the week as suppressed so the chart
 * and any reader can tell. A week any provider suppressed is suppressed in the sum.
 */
import type { Condition, Patient } from '@medplum/fhirtypes';
import type { GatekeeperClient } from '../sdk/gatekeeper.js';
import { aggregateWeeklyCases, type WeeklyCaseCell } from './aggregate.js';
import { addIsoWeeks, formatIsoWeek, isoWeekOf, isoWeeksBetween, parseIsoWeek } from './iso-week.js';
import { loadCampylobacterDe, loadInfluenzaDe, loadSalmonellaAgona } from './outbreak-data.js';

export interface SurveillanceSeries {
  /** A condition of aggregate.ts INFECTIOUS_CONDITIONS. */
  condition: string;
  region: string;
  /** What the series is, in words. */
  label: string;
  source: 'providers' | 'reference';
  /** Where a reference series comes from. */
  citation?: string;
  /** Week labels: ISO weeks (`2024-W03`), the 52-week convention of the R `surveillance` data (`1990-w01`), or the Monday (`2001-12-31`). */
  weeks: string[];
  /** What the models see: counts, a suppressed cell as the middle of its range. */
  counts: number[];
  /** Weeks where a provider reported 1–4 cases without the number. */
  suppressed: boolean[];
  /** Providers whose counts are in the sum (providers' series only). */
  providers?: number;
}

/** Longest range a provider reports at once (10 years of weeks). */
export const MAX_REPORT_WEEKS = 522;

/**
 * What a provider's gatekeeper reports (SurveillanceReporting.aggregate): aggregateWeeklyCases over
 * the consenting patients' records for the ISO weeks `from`–`to`, counts 1–4 masked as `<5`.
 */
export function reportWeeklyCases(conditions: Condition[], patients: Patient[], { from, to }: { from: string; to: string }): WeeklyCaseCell[] {
  const span = isoWeeksBetween(parseIsoWeek(from), parseIsoWeek(to));
  if (span < 0 || span >= MAX_REPORT_WEEKS) throw new Error(`from ${from} to ${to} is not a range of 1 to ${MAX_REPORT_WEEKS} weeks`);
  return aggregateWeeklyCases(conditions, patients, { from, to, minCount: 5, suppression: 'mask' });
}

/** The ISO weeks of the last `weeks` weeks up to the one holding `now`. */
export function lastWeeks(now: Date, weeks: number): { from: string; to: string } {
  const current = isoWeekOf(now.toISOString().slice(0, 10));
  return { from: formatIsoWeek(addIsoWeeks(current, 1 - weeks)), to: formatIsoWeek(current) };
}

/** A gatekeeper to ask, signed as the authority. */
export interface ReportingProvider {
  name: string;
  client: GatekeeperClient;
}

/** Each provider's report for the weeks, asked with a signed request; a provider that fails is named in `failed`. */
export async function collectWeeklyCases(providers: readonly ReportingProvider[], weeks: { from: string; to: string }): Promise<{ reports: WeeklyCaseCell[][]; failed: string[] }> {
  const query = `/surveillance/weekly-cases?from=${weeks.from}&to=${weeks.to}`;
  const answers = await Promise.allSettled(providers.map((p) => p.client.get<{ cells: WeeklyCaseCell[] }>(query)));
  const reports: WeeklyCaseCell[][] = [];
  const failed: string[] = [];
  answers.forEach((a, i) => {
    if (a.status === 'fulfilled') reports.push(a.value.body.cells);
    else failed.push(`${providers[i]!.name}: ${(a.reason as Error).message}`);
  });
  return { reports, failed };
}

/** The providers' reports summed per (condition, region) over the union of their weeks. */
export function combineReports(reports: readonly WeeklyCaseCell[][]): SurveillanceSeries[] {
  const series = new Map<string, { condition: string; region: string; byWeek: Map<string, { count: number; suppressed: boolean }>; providers: Set<number> }>();
  reports.forEach((cells, provider) => {
    for (const cell of cells) {
      const key = JSON.stringify([cell.condition, cell.region]);
      const s = series.get(key) ?? { condition: cell.condition, region: cell.region, byWeek: new Map(), providers: new Set<number>() };
      series.set(key, s);
      s.providers.add(provider);
      const week = s.byWeek.get(cell.week) ?? { count: 0, suppressed: false };
      if (typeof cell.cases === 'number') week.count += cell.cases;
      else {
        week.count += Number(cell.cases.slice(1)) / 2; // `<5`: 1–4, entered as 2.5
        week.suppressed = true;
      }
      s.byWeek.set(cell.week, week);
    }
  });
  return [...series.values()]
    .sort((a, b) => a.condition.localeCompare(b.condition) || a.region.localeCompare(b.region))
    .map(({ condition, region, byWeek, providers }) => {
      const weeks = [...byWeek.keys()].sort();
      return {
        condition,
        region,
        label: `${condition.replace(/-/g, ' ')}, ${region}: weekly cases reported by ${providers.size} provider${providers.size === 1 ? '' : 's'}`,
        source: 'providers' as const,
        weeks,
        counts: weeks.map((w) => byWeek.get(w)!.count),
        suppressed: weeks.map((w) => byWeek.get(w)!.suppressed),
        providers: providers.size,
      };
    });
}

/** Real regional surveillance series (data/outbreaks, GPL-2; see its README). */
export function referenceSeries(dir?: string): SurveillanceSeries[] {
  const reference = (condition: string, region: string, label: string, citation: string, s: { labels: string[]; cases: number[] }): SurveillanceSeries => ({
    condition, region, label, source: 'reference', citation, weeks: s.labels, counts: s.cases, suppressed: s.cases.map(() => false),
  });
  return [
    reference('salmonellosis', 'UK', 'Salmonella Agona, United Kingdom, weekly reported cases 1990–1995', 'Farrington, Andrews, Beale & Catchpole (1996), J. R. Statist. Soc. A 159:547–563; R package surveillance, data set salmonella.agona (GPL-2)', loadSalmonellaAgona(dir)),
    reference('influenza', 'DE', 'Influenza, Germany, weekly notifications 2001–2006', 'Robert Koch Institute, SurvStat; R package surveillance, data set influMen (GPL-2)', loadInfluenzaDe(dir)),
    reference('campylobacteriosis', 'DE', 'Campylobacteriosis, Germany, weekly reported cases 2002–2011', 'Robert Koch Institute, SurvStat; Manitz & Höhle (2013), Biometrical Journal 55:509–526; R package surveillance, data set campyDE (GPL-2)', loadCampylobacterDe(dir)),
  ];
}

/** The series of `condition` in `region`; throws a one-line message naming what there is instead. */
export function findSeries(all: readonly SurveillanceSeries[], condition: string, region: string): SurveillanceSeries {
  const ofCondition = all.filter((s) => s.condition === condition);
  if (ofCondition.length === 0) throw new Error(`no series for condition ${JSON.stringify(condition)}; known: ${[...new Set(all.map((s) => s.condition))].join(', ') || 'none'}`);
  const series = ofCondition.find((s) => s.region === region);
  if (!series) throw new Error(`no ${condition} series for region ${JSON.stringify(region)}; its regions: ${ofCondition.map((s) => s.region).join(', ')}`);
  return series;
}

/** The `count` week labels after `last`, in its own convention (ISO week, 52-week `1990-w01`, or a Monday's date). */
export function weeksAfter(last: string, count: number): string[] {
  const iso = /^\d{4}-W\d{2}$/.test(last) ? parseIsoWeek(last) : undefined;
  const conventional = /^(\d{4})-w(\d{2})$/.exec(last);
  const monday = /^\d{4}-\d{2}-\d{2}$/.test(last) ? Date.parse(`${last}T00:00:00Z`) : NaN;
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    if (iso) return formatIsoWeek(addIsoWeeks(iso, n));
    if (conventional) {
      const index = Number(conventional[1]) * 52 + Number(conventional[2]) - 1 + n;
      return `${Math.floor(index / 52)}-w${String((index % 52) + 1).padStart(2, '0')}`;
    }
    if (Number.isFinite(monday)) return new Date(monday + n * 7 * 86_400_000).toISOString().slice(0, 10);
    return `${last}+${n}`;
  });
}
