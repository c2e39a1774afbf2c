/**
 * 80 % and 95 % prediction intervals for weekly count forecasts, from the empirical quantiles of
 * each method's own rolling-origin errors at each horizon (Hyndman & Athanasopoulos, FPP3 §5.5
 * "prediction intervals from bootstrapped residuals", here with out-of-sample errors; Williams &
 * Goodman 1971, "A simple method for the construction of empirical confidence limits for economic
 * forecasts", JASA 66:752).
 *
 * Why empirical and not the ARIMA model's own variance (the `arima` package does return one):
 * - the same rule serves ARIMA, naive and seasonal naive, so their bands can be compared at all;
 * - the model variance holds only if the fitted model is the true one, with Gaussian errors on the
 *   fitted scale, and leaves out parameter and model-selection uncertainty; on the real series its
 *   80 % bands hold 82–89 % of the actuals (too wide) and its 95 % bands 89–99 %, while these
 *   empirical bands hold 77–84 % and 89–98 % (bench/ml-outbreak.ts measures both on the same
 *   weeks; the README table has the averages);
 * - counts are skewed and their spread grows with their level; errors are taken on the log(1 + y)
 *   scale, e = log1p(y[t+h]) − log1p(ŷ), so a band is wider in a season's peak than in its trough,
 *   and never below 0.
 *
 * For a forecast from origin T at horizon h the errors are those of the `calibration` origins t
 * before it whose target t + h is at or before T: only weeks known at T. Interval ends are
 * expm1(log1p(ŷ) + q) for the error quantiles q (R's type 7, linear between order statistics).
 */
import type { Forecaster } from './forecast.js';

/** A forecast with its bands, index h−1 for horizon h. */
export interface ForecastBand {
  mean: number[];
  lower80: number[];
  upper80: number[];
  lower95: number[];
  upper95: number[];
}

export interface IntervalOptions {
  /** Origins whose errors calibrate each horizon (default 104: two years of weeks). */
  calibration?: number;
  /** Fewest errors a horizon needs for a band (default 26); fewer and there is no band. */
  minErrors?: number;
}

const QUANTILES = { lower80: 0.1, upper80: 0.9, lower95: 0.025, upper95: 0.975 } as const;

/** The p-quantile of ascending `sorted`, linear between order statistics (R type 7). */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('quantile of nothing');
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + (at - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/**
 * A method's forecasts from each origin, computed once and shared by every band that needs them
 * (each origin's forecast depends only on the weeks up to it). A forecaster that cannot forecast
 * from an origin (seasonal naive with under a year of history) leaves it out.
 */
export function originForecasts(series: readonly number[], forecast: Forecaster, horizon: number) {
  const cache = new Map<number, number[] | null>();
  return (t: number): number[] | undefined => {
    if (t < 0 || t >= series.length) return undefined;
    if (!cache.has(t)) {
      let value: number[] | null = null;
      try {
        value = forecast(series.slice(0, t + 1), horizon);
      } catch {
        // Too little history for this method at this origin.
      }
      cache.set(t, value);
    }
    return cache.get(t) ?? undefined;
  };
}
export type OriginForecasts = ReturnType<typeof originForecasts>;

/**
 * The band of the forecast from origin `origin`, calibrated on the errors of the `calibration`
 * origins before it whose targets are known at `origin`; undefined when a horizon has too few.
 */
export function bandAt(series: readonly number[], forecasts: OriginForecasts, origin: number, horizon: number, options: IntervalOptions = {}): ForecastBand | undefined {
  const { calibration = 104, minErrors = 26 } = options;
  const mean = forecasts(origin);
  if (!mean) return undefined;
  const band: ForecastBand = { mean: mean.slice(0, horizon), lower80: [], upper80: [], lower95: [], upper95: [] };
  for (let h = 1; h <= horizon; h++) {
    const errors: number[] = [];
    for (let t = origin - h; t > origin - h - calibration && t >= 0; t--) {
      const predicted = forecasts(t)?.[h - 1];
      if (predicted !== undefined) errors.push(Math.log1p(series[t + h] as number) - Math.log1p(predicted));
    }
    if (errors.length < minErrors) return undefined;
    errors.sort((a, b) => a - b);
    const centre = Math.log1p(mean[h - 1] as number);
    for (const [end, p] of Object.entries(QUANTILES) as [keyof typeof QUANTILES, number][]) {
      band[end].push(Math.max(0, Math.expm1(centre + quantile(errors, p))));
    }
  }
  return band;
}

/** Share of actuals inside the 80 % and 95 % bands at each horizon (index h−1), ends included. */
export interface IntervalCoverage {
  coverage80: number[];
  coverage95: number[];
  /** Mean band width at each horizon. */
  width80: number[];
  width95: number[];
  /** Test origins that had a band (those with too few calibration errors are left out). */
  origins: number;
}

/**
 * Coverage of the bands from `testOrigins` (each with `horizon` targets observed): the band at each
 * origin uses only weeks up to it (bandAt), and is scored on the weeks after it.
 */
export function intervalCoverage(series: readonly number[], forecast: Forecaster, testOrigins: readonly number[], horizon: number, options: IntervalOptions = {}): IntervalCoverage {
  const forecasts = originForecasts(series, forecast, horizon);
  const inside = { coverage80: new Array<number>(horizon).fill(0), coverage95: new Array<number>(horizon).fill(0) };
  const width = { width80: new Array<number>(horizon).fill(0), width95: new Array<number>(horizon).fill(0) };
  let origins = 0;
  for (const T of testOrigins) {
    if (T + horizon >= series.length) throw new Error(`origin ${T} + ${horizon} is past the series end`);
    const band = bandAt(series, forecasts, T, horizon, options);
    if (!band) continue;
    origins++;
    for (let h = 0; h < horizon; h++) {
      const y = series[T + h + 1] as number;
      if (y >= (band.lower80[h] as number) && y <= (band.upper80[h] as number)) inside.coverage80[h]!++;
      if (y >= (band.lower95[h] as number) && y <= (band.upper95[h] as number)) inside.coverage95[h]!++;
      width.width80[h]! += (band.upper80[h] as number) - (band.lower80[h] as number);
      width.width95[h]! += (band.upper95[h] as number) - (band.lower95[h] as number);
    }
  }
  const share = (xs: number[]) => xs.map((x) => (origins ? x / origins : NaN));
  return { coverage80: share(inside.coverage80), coverage95: share(inside.coverage95), width80: share(width.width80), width95: share(width.width95), origins };
}
