/**
 * Loaders for the real outbreak / surveillance series in `data/outbreaks` (see its
 * README: converted from the R packages `surveillance` and `EpiEstim`, GPL-2). They are the
 * benchmark data for forecasting (src/ml/forecast.ts), aberration detection (src/ml/aberration.ts)
 * and R(t) (src/ml/rt.ts). Read-only: the files are vendored as published (GPL data, README beside).
 *
 * Every loader checks the row count the README states, so a truncated or swapped file fails loudly
 * instead of quietly changing benchmark numbers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './data-dir.js';

/** `data/outbreaks` in the repository (or under `$MEDLEDGER_DATASETS_DIR`, see data-dir.ts). */
export function outbreakDataDir(root = dataDir()): string {
  return join(root, 'outbreaks');
}

/** Rows per file, header excluded, as listed in the data README. */
export const EXPECTED_ROWS = {
  'salmonella-agona-uk-weekly.csv': 312,
  'influenza-meningococcal-de-weekly.csv': 312,
  'campylobacter-de-weekly.csv': 522,
  'flu1918-baltimore-daily.csv': 92,
  'flu1918-baltimore-serial-interval.csv': 12,
  'sars2003-hongkong-daily.csv': 107,
  'sars2003-hongkong-serial-interval.csv': 25,
} as const;
export type OutbreakFile = keyof typeof EXPECTED_ROWS;

/** A weekly count series; `labels[i]` names week i (`1990-w01` in the 52-week convention, or the ISO Monday). */
export interface WeeklySeries {
  name: string;
  /** Weeks per year for seasonal baselines: the `surveillance` sets use 52 by convention. */
  period: 52;
  labels: string[];
  cases: number[];
}

/** A daily incidence series with the serial-interval distribution EpiEstim ships for it. */
export interface DailyEpidemic {
  name: string;
  incidence: number[];
  /** `serialInterval[k]` = P(serial interval = k days), k = 0.. ; sums to 1, `[0]` is 0. */
  serialInterval: number[];
}

/** Parses one of the data CSVs into records keyed by header; empty field → null (README: "missing"). */
export function readOutbreakCsv(file: OutbreakFile, dir = outbreakDataDir()): Record<string, number | string | null>[] {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.length > 0);
  const header = (lines.shift() ?? '').split(',');
  if (lines.length !== EXPECTED_ROWS[file]) {
    throw new Error(`${file}: ${lines.length} rows, the data README says ${EXPECTED_ROWS[file]}`);
  }
  return lines.map((line) => {
    const fields = line.split(',');
    const row: Record<string, number | string | null> = {};
    header.forEach((name, i) => {
      const raw = fields[i] ?? '';
      const n = Number(raw);
      row[name] = raw === '' ? null : Number.isFinite(n) ? n : raw;
    });
    return row;
  });
}

const count = (row: Record<string, number | string | null>, column: string): number => {
  const v = row[column];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`not a case count in column ${column}: ${String(v)}`);
  return v;
};
const weekLabel = (row: Record<string, number | string | null>) => `${row.year}-w${String(row.week).padStart(2, '0')}`;

/** Salmonella Agona, UK, 1990–1995, 312 weeks (Farrington et al. 1996). */
export function loadSalmonellaAgona(dir?: string): WeeklySeries {
  const rows = readOutbreakCsv('salmonella-agona-uk-weekly.csv', dir);
  return { name: 'salmonella-agona-uk', period: 52, labels: rows.map(weekLabel), cases: rows.map((r) => count(r, 'cases')) };
}

/** Influenza notifications, Germany, 2001–2006, 312 weeks (RKI SurvStat, `influMen`). */
export function loadInfluenzaDe(dir?: string): WeeklySeries {
  const rows = readOutbreakCsv('influenza-meningococcal-de-weekly.csv', dir);
  return { name: 'influenza-de', period: 52, labels: rows.map(weekLabel), cases: rows.map((r) => count(r, 'influenza')) };
}

/** Campylobacteriosis, Germany, 2002–2011, 522 ISO weeks labelled by their Monday (`campyDE`). */
export function loadCampylobacterDe(dir?: string): WeeklySeries {
  const rows = readOutbreakCsv('campylobacter-de-weekly.csv', dir);
  return { name: 'campylobacter-de', period: 52, labels: rows.map((r) => String(r.week_monday)), cases: rows.map((r) => count(r, 'cases')) };
}

function loadDaily(name: string, incidenceFile: OutbreakFile, siFile: OutbreakFile, dir?: string): DailyEpidemic {
  const incidence = readOutbreakCsv(incidenceFile, dir).map((r) => count(r, 'incidence'));
  const si = readOutbreakCsv(siFile, dir);
  const serialInterval: number[] = [];
  si.forEach((r, i) => {
    // The distribution is indexed by day; a gap or reordering would shift every weight.
    if (r.interval_days !== i) throw new Error(`${siFile}: row ${i} has interval_days ${String(r.interval_days)}`);
    serialInterval.push(Number(r.probability));
  });
  return { name, incidence, serialInterval };
}

/** Pandemic influenza, Baltimore 1918, 92 days, SI mean 2.6 d (EpiEstim `Flu1918`). */
export const loadFlu1918 = (dir?: string) =>
  loadDaily('flu1918-baltimore', 'flu1918-baltimore-daily.csv', 'flu1918-baltimore-serial-interval.csv', dir);

/** SARS, Hong Kong 2003, 107 days, SI mean 8.4 d (EpiEstim `SARS2003`). */
export const loadSars2003 = (dir?: string) =>
  loadDaily('sars2003-hongkong', 'sars2003-hongkong-daily.csv', 'sars2003-hongkong-serial-interval.csv', dir);
