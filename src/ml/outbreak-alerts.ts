/**
 * Aberration alerts on a weekly count series, each saying what fired: the detector, the count
 * observed, what the baseline expected, and the threshold it crossed (aberration.ts has the
 * detectors and their sources).
 *
 * Two detectors run, because they look at different baselines: the Farrington-style detector
 * compares a week with the same weeks of past years (it knows the season, and needs a year of
 * history before it says anything), EARS C2 with the weeks just before (it works on a short series,
 * but takes a season's rise for an aberration). C1 alarms on an outbreak's own first weeks and C3
 * keeps alarming for two weeks after each C2 signal, so they are left out here.
 */
import { earsC2, farrington, type Detection } from './aberration.js';

export type AlertDetector = 'farrington' | 'ears-c2';

export interface OutbreakAlert {
  /** Index of the week in the series. */
  index: number;
  week: string;
  detector: AlertDetector;
  observed: number;
  expected: number;
  /** The count above which the detector alarms. */
  threshold: number;
  /** What fired, in words. */
  why: string;
}

const round = (v: number) => Number(v.toFixed(1));

function describe(detector: AlertDetector, observed: number, expected: number, threshold: number, years: number): string {
  const cases = `${observed} case${observed === 1 ? '' : 's'}`;
  if (detector === 'farrington') {
    return `Farrington-style: ${cases}, where the same weeks (±3) of the previous ${years === 1 ? 'year' : `${years} years`} lead to expect ${round(expected)}; it alarms above ${round(threshold)} (99 % upper bound of a quasi-Poisson count)`;
  }
  return `EARS C2: ${cases}, where weeks t−9 to t−3 average ${round(expected)}; it alarms above their mean + 3 sd = ${round(threshold)}`;
}

/** Every week either detector alarms at, in week order (Farrington first within a week). */
export function outbreakAlerts(cases: readonly number[], weeks: readonly string[], { period = 52 } = {}): OutbreakAlert[] {
  if (weeks.length !== cases.length) throw new Error(`${weeks.length} week labels for ${cases.length} counts`);
  const runs: [AlertDetector, Detection][] = [
    ['farrington', farrington(cases, { period })],
    ['ears-c2', earsC2(cases)],
  ];
  const alerts: OutbreakAlert[] = [];
  for (let t = 0; t < cases.length; t++) {
    for (const [detector, d] of runs) {
      if (!d.alarm[t]) continue;
      const observed = cases[t] as number;
      const expected = d.expected[t] as number;
      const threshold = d.upperBound[t] as number;
      const years = Math.min(3, Math.floor((t + 3) / period));
      alerts.push({ index: t, week: weeks[t] as string, detector, observed, expected: round(expected), threshold: round(threshold), why: describe(detector, observed, expected, threshold, years) });
    }
  }
  return alerts;
}
