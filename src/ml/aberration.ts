/**
 * Aberration (outbreak) detection on a count series: EARS C1, C2, C3 and a Farrington-style weekly
 * detector, and their evaluation by injecting outbreaks of known size into real series.
 *
 * All detectors are prospective: the decision at week t uses y[0..t] only, as it would on the day.
 *
 * EARS (CDC Early Aberration Reporting System; Hutwagner et al. 2003, J Urban Health 80(Suppl 1);
 * definitions as in Fricker, Hegler & Dunfee 2008, Stat Med 27:3407):
 * - C1 (MILD):   baseline y[t−7..t−1]; C1_t = (y_t − mean)/σ; alarm when C1_t > 3.
 * - C2 (MEDIUM): the same with a 2-unit guard band, baseline y[t−9..t−3], so an outbreak's first
 *   days do not inflate its own baseline; alarm when C2_t > 3.
 * - C3 (ULTRA):  C3_t = Σ_{i=t−2..t} max(0, C2_i − 1); alarm when C3_t > 2.
 * σ is the baseline's sample standard deviation, floored at `minSigma` (default 1 case): a
 * constant baseline has σ = 0 and would otherwise alarm on any single extra case (or divide by 0).
 * With the floor, an all-zero baseline needs 4 cases to alarm.
 *
 * EARS was designed for daily syndromic counts; on weekly data with seasons its 7-unit baseline is
 * 7 weeks of a moving season. The Farrington-style detector (Farrington et al. 1996, JRSS A 159:547;
 * the `surveillance` package's algo.farrington) compares week t with the same weeks ±w of the
 * previous b years instead.
 */
import { normalDraw, seededRandom } from '../random.js';

export interface Detection {
  /** The detector's statistic at each week; NaN where there is not enough history yet. */
  statistic: number[];
  /** The count y_t must exceed to alarm (C3: given the two previous weeks' C2); NaN where not computable. */
  upperBound: number[];
  /** The count the baseline expects at t (EARS: the baseline mean; Farrington: μ); NaN where not computable. */
  expected: number[];
  alarm: boolean[];
}
export type Detector = (series: readonly number[]) => Detection;

export interface EarsOptions {
  /** Baseline length in units (default 7, as EARS). */
  baseline?: number;
  /** Floor for the baseline standard deviation, in cases (default 1). */
  minSigma?: number;
}

function baselineMoments(series: readonly number[], t: number, lag: number, length: number, minSigma: number) {
  const window = series.slice(t - lag - length, t - lag);
  const mean = window.reduce((a, b) => a + b, 0) / length;
  const variance = window.reduce((a, b) => a + (b - mean) ** 2, 0) / (length - 1);
  return { mean, sigma: Math.max(Math.sqrt(variance), minSigma) };
}

function shewhart(series: readonly number[], lag: number, { baseline = 7, minSigma = 1 }: EarsOptions): Detection {
  const n = series.length;
  const statistic = new Array<number>(n).fill(NaN);
  const upperBound = new Array<number>(n).fill(NaN);
  const expected = new Array<number>(n).fill(NaN);
  for (let t = lag + baseline; t < n; t++) {
    const { mean, sigma } = baselineMoments(series, t, lag, baseline, minSigma);
    statistic[t] = ((series[t] as number) - mean) / sigma;
    upperBound[t] = mean + 3 * sigma;
    expected[t] = mean;
  }
  return { statistic, upperBound, expected, alarm: statistic.map((s) => s > 3) };
}

/** EARS C1-MILD: 7-unit baseline right before t, alarm above mean + 3σ. */
export const earsC1 = (series: readonly number[], options: EarsOptions = {}): Detection => shewhart(series, 0, options);

/** EARS C2-MEDIUM: 7-unit baseline ending 2 units before t, alarm above mean + 3σ. */
export const earsC2 = (series: readonly number[], options: EarsOptions = {}): Detection => shewhart(series, 2, options);

/** EARS C3-ULTRA: the C2 excesses over 1σ of t and the two units before, summed; alarm above 2. */
export function earsC3(series: readonly number[], options: EarsOptions = {}): Detection {
  const c2 = earsC2(series, options);
  const excess = c2.statistic.map((s) => Math.max(0, s - 1)); // NaN stays NaN
  const n = series.length;
  const statistic = new Array<number>(n).fill(NaN);
  const upperBound = new Array<number>(n).fill(NaN);
  for (let t = 2; t < n; t++) {
    const previous = (excess[t - 1] as number) + (excess[t - 2] as number);
    statistic[t] = previous + (excess[t] as number);
    if (Number.isNaN(statistic[t])) continue;
    // C3_t > 2 ⇔ C2_t > 3 − previous ⇔ y_t > mean + σ·(3 − previous), when previous ≤ 2.
    const { mean, sigma } = baselineMoments(series, t, 2, options.baseline ?? 7, options.minSigma ?? 1);
    upperBound[t] = previous > 2 ? -Infinity : mean + sigma * (3 - previous);
  }
  return { statistic, upperBound, expected: c2.expected, alarm: statistic.map((s) => s > 2) };
}

export interface FarringtonOptions {
  /** Past years in the baseline (default 3). */
  years?: number;
  /** Weeks either side of the same week in each past year (default 3: 7 weeks a year). */
  window?: number;
  /** Weeks per year (default 52, the convention of the `surveillance` data). */
  period?: number;
  /** Normal quantile of the threshold (default 2.576, i.e. α = 0.01 two-sided, as algo.farrington). */
  z?: number;
  /** No alarm unless the last 4 weeks, t included, hold at least this many cases (default 5; Farrington's rule for rare organisms). */
  minRecentCases?: number;
}

/**
 * Farrington-style weekly detector. Expected count μ = the mean of the baseline (same week ±w in
 * each of the previous b years; no trend term), with quasi-Poisson overdispersion φ = max(1,
 * Pearson χ²/(n−1)). Past outbreaks in the baseline are down-weighted as in Farrington (1996):
 * points with Anscombe residual s > 1 get weight ∝ s⁻², then μ and φ are re-estimated. The
 * threshold comes from the 2/3-power transform, under which counts are near-normal:
 * U = μ·(1 + (2/3)·z·√τ/μ)^{3/2}, τ = φμ + Var(μ̂). Alarm when y_t > U.
 */
export function farrington(series: readonly number[], options: FarringtonOptions = {}): Detection {
  const { years = 3, window = 3, period = 52, z = 2.576, minRecentCases = 5 } = options;
  const n = series.length;
  const statistic = new Array<number>(n).fill(NaN);
  const upperBound = new Array<number>(n).fill(NaN);
  const expected = new Array<number>(n).fill(NaN);
  const alarm = new Array<boolean>(n).fill(false);
  for (let t = period + window; t < n; t++) {
    const baseline: number[] = [];
    for (let j = 1; j <= years; j++) {
      for (let k = -window; k <= window; k++) {
        const i = t - j * period + k;
        if (i >= 0) baseline.push(series[i] as number);
      }
    }
    const { mean, varianceOfMean, phi } = reweightedMean(baseline);
    const tau = phi * mean + varianceOfMean;
    const bound = mean * (1 + ((2 / 3) * z * Math.sqrt(tau)) / Math.max(mean, 1e-9)) ** 1.5;
    const y = series[t] as number;
    upperBound[t] = bound;
    expected[t] = mean;
    statistic[t] = bound > 0 ? y / bound : y > 0 ? Infinity : 0;
    const recent = series.slice(Math.max(0, t - 3), t + 1).reduce((a, b) => a + b, 0);
    alarm[t] = y > bound && recent >= minRecentCases;
  }
  return { statistic, upperBound, expected, alarm };
}

function reweightedMean(baseline: number[]) {
  const n = baseline.length;
  let weights = baseline.map(() => 1);
  let fit = weightedFit(baseline, weights);
  const residuals = baseline.map((y) => anscombe(y, fit.mean, fit.phi));
  if (residuals.some((s) => s > 1)) {
    const raw = residuals.map((s) => (s > 1 ? s ** -2 : 1));
    const scale = n / raw.reduce((a, b) => a + b, 0); // weights sum to n, as Farrington's γ does
    weights = raw.map((w) => w * scale);
    fit = weightedFit(baseline, weights);
  }
  return fit;
}

function weightedFit(ys: number[], ws: number[]) {
  const sw = ws.reduce((a, b) => a + b, 0);
  const mean = ys.reduce((a, y, i) => a + (ws[i] as number) * y, 0) / sw;
  const pearson = mean > 0 ? ys.reduce((a, y, i) => a + ((ws[i] as number) * (y - mean) ** 2) / mean, 0) : 0;
  const phi = Math.max(1, pearson / Math.max(1, ys.length - 1));
  // Var of a weighted mean of quasi-Poisson counts with common mean: φμ·Σw²/(Σw)².
  const varianceOfMean = (phi * mean * ws.reduce((a, w) => a + w * w, 0)) / (sw * sw);
  return { mean, phi, varianceOfMean };
}

/** Anscombe residual of a quasi-Poisson count (the scale Farrington reweights on). */
const anscombe = (y: number, mu: number, phi: number) =>
  mu > 0 ? (1.5 * (y ** (2 / 3) - mu ** (2 / 3))) / (Math.sqrt(phi) * mu ** (1 / 6)) : 0;

// ——— Evaluation by injection ———

/** A Poisson draw: Knuth's product method for small means, a rounded normal above 30 (error negligible there). */
export function poissonDraw(random: () => number, mean: number): number {
  if (mean > 30) {
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normalDraw(random)));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

/**
 * Cases of one outbreak per week, starting at offset 0: a Poisson(size) total whose cases' onset
 * delays (weeks) are log-normal(0, 0.5) — about 50 % in the first week, 42 % in the second, the rest
 * in the third (clipped there). The shape follows Noufaily et al. 2013 (Stat Med 32:1206).
 */
export function simulateOutbreak(random: () => number, size: number, maxWeeks = 3): number[] {
  const weeks = new Array<number>(maxWeeks).fill(0);
  const total = Math.max(1, poissonDraw(random, size)); // an outbreak has at least one case
  for (let c = 0; c < total; c++) {
    const week = Math.min(maxWeeks - 1, Math.floor(Math.exp(0.5 * normalDraw(random))));
    weeks[week]!++;
  }
  // The outbreak starts at its first week with a case.
  while (weeks[0] === 0) weeks.push(weeks.shift() as number);
  return weeks;
}

export interface InjectionOptions {
  /** Outbreaks injected, one at a time (default 200). */
  trials?: number;
  /** Outbreak size as a multiple of the series' standard deviation over the 52 weeks before it (default 3). */
  k?: number;
  seed?: number;
  /** First week an outbreak may start and alarms are counted (default 0: the caller picks where every detector can run). */
  from?: number;
  /** Detected if an alarm falls in the start week or the `withinWeeks − 1` after it (default 2). */
  withinWeeks?: number;
}

export interface InjectionResult {
  /** Fraction of injected outbreaks detected within the window. */
  sensitivity: number;
  /** Alarms per 52 weeks on the un-injected series over the monitored weeks (real outbreaks in it count too). */
  falseAlarmsPerYear: number;
  /** Median delay in weeks from start to first alarm among detected outbreaks. */
  medianDelay: number;
  trials: number;
  weeksMonitored: number;
}

/**
 * Sensitivity of a detector to outbreaks of k·sd cases injected into a real series at seeded random
 * weeks, and its alarm rate on the series as it is. An alarm at a week where the un-injected series
 * already alarms is not credited to the outbreak (the detector would have fired anyway).
 */
export function evaluateByInjection(series: readonly number[], detect: Detector, options: InjectionOptions = {}): InjectionResult {
  const { trials = 200, k = 3, seed = 1, from = 0, withinWeeks = 2 } = options;
  const clean = detect(series).alarm;
  const weeksMonitored = series.length - from;
  const cleanAlarms = clean.slice(from).filter(Boolean).length;
  const random = seededRandom(seed);
  const lastStart = series.length - withinWeeks;
  if (lastStart < from) throw new Error('series too short for the injection window');
  let detected = 0;
  const delays: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const start = from + Math.floor(random() * (lastStart - from + 1));
    const size = k * standardDeviation(series.slice(Math.max(0, start - 52), start));
    const injected = [...series];
    simulateOutbreak(random, size).forEach((cases, i) => {
      if (start + i < injected.length) injected[start + i]! += cases;
    });
    // Detectors are prospective, so weeks after the detection window cannot change the verdict.
    const alarm = detect(injected.slice(0, start + withinWeeks)).alarm;
    for (let d = 0; d < withinWeeks; d++) {
      if (alarm[start + d] && !clean[start + d]) {
        detected++;
        delays.push(d);
        break;
      }
    }
  }
  delays.sort((a, b) => a - b);
  return {
    sensitivity: detected / trials,
    falseAlarmsPerYear: (cleanAlarms * 52) / weeksMonitored,
    medianDelay: delays.length ? (delays[Math.floor((delays.length - 1) / 2)] as number) : NaN,
    trials,
    weeksMonitored,
  };
}

function standardDeviation(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
}
