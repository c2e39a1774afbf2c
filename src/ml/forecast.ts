/**
 * Weekly case-count forecasts 1–4 weeks ahead, always judged beside two baselines a forecast must
 * beat to be worth anything: naive (next weeks = this week) and seasonal naive (next weeks = the
 * same weeks last year).
 *
 * Evaluation is rolling-origin (Tashman 2000; Hyndman & Athanasopoulos, FPP3 §5.10): at each origin
 * t the model sees y[0..t] only, forecasts y[t+1..t+H], and errors are averaged per horizon over the
 * origins. ARIMA is refitted at every origin (a fixed small order fits in 1–10 ms, so there is no
 * need to refit only every k weeks), and no model ever sees the week it forecasts.
 */
import { fitAndForecast, type Arima, type ArimaOptions } from './arima.js';

/** Forecasts `horizon` values following `history` (whose last element is the origin week). */
export type Forecaster = (history: readonly number[], horizon: number) => number[];

/** ŷ(t+h) = y(t). */
export const naiveForecaster: Forecaster = (history, horizon) => Array.from({ length: horizon }, () => lastOf(history));

/** ŷ(t+h) = y(t+h−period·⌈h/period⌉): for h ≤ 52 with weekly data, the same week a year earlier. */
export function seasonalNaiveForecaster(period = 52): Forecaster {
  return (history, horizon) =>
    Array.from({ length: horizon }, (_, i) => {
      const h = i + 1;
      const index = history.length - 1 + h - period * Math.ceil(h / period);
      if (index < 0) throw new Error(`seasonal naive needs ${period} weeks of history, has ${history.length}`);
      return history[index] as number;
    });
}

/** An ARIMA configuration: orders as the `arima` package takes them, and the scale it is fitted on. */
export interface ArimaSpec {
  order: ArimaOptions;
  /**
   * `log1p`: fit log(1 + y), forecast back with expm1. Counts vary more when they are high; on the
   * log scale the variance is closer to constant, and expm1 of the log-scale forecast estimates the
   * median, which is the point forecast MAE rewards.
   */
  transform: 'log1p' | 'none';
}

/** Tallies over an ARIMA forecaster's fits, for reporting. */
export interface ArimaStats {
  fits: number;
  /** Fits that failed or forecast something absurd (non-finite, or over 10× the series maximum), replaced by naive. */
  fallbacks: number;
  /** Fits during which ctsa warned (e.g. "non-stationary AR part"); their forecasts are still used if sane. */
  warned: number;
  ms: number;
}
export const newArimaStats = (): ArimaStats => ({ fits: 0, fallbacks: 0, warned: 0, ms: 0 });

/** ARIMA refitted on the whole history at each call; counts clamped at 0; absurd output falls back to naive. */
export function arimaForecaster(ARIMA: Arima, spec: ArimaSpec, stats: ArimaStats = newArimaStats()): Forecaster {
  const log = spec.transform === 'log1p';
  return (history, horizon) => {
    const started = performance.now();
    stats.fits++;
    const cap = 10 * Math.max(...history) + 10;
    try {
      const fit = fitAndForecast(ARIMA, history.map((v) => (log ? Math.log1p(v) : v)), horizon, spec.order);
      if (fit.warnings.length > 0) stats.warned++;
      const forecast = fit.forecast.map((v) => Math.max(0, log ? Math.expm1(v) : v));
      if (forecast.length === horizon && forecast.every((v) => Number.isFinite(v) && v <= cap)) return forecast;
    } catch {
      // ctsa refuses series too short for the order; treated like an absurd fit.
    } finally {
      stats.ms += performance.now() - started;
    }
    stats.fallbacks++;
    return naiveForecaster(history, horizon);
  };
}

/**
 * The candidates {@link selectArimaSpec} chooses from: small orders on both scales, with and without
 * a seasonal difference (y_t − y_{t−52}), which is what lets ARIMA use last year's season.
 */
export const ARIMA_CANDIDATES: ArimaSpec[] = (['log1p', 'none'] as const).flatMap((transform) =>
  [
    { p: 1, d: 1, q: 1 },
    { p: 2, d: 1, q: 0 },
    { p: 0, d: 1, q: 1 },
    { p: 1, d: 0, q: 0, P: 0, D: 1, Q: 0, s: 52 },
    { p: 2, d: 0, q: 0, P: 0, D: 1, Q: 0, s: 52 },
  ].map((order) => ({ order, transform })),
);

/** The last `count` origins t with y[t+horizon] observed, leaving out the `skip` latest (a later test window). */
export function lastOrigins(length: number, count: number, horizon: number, skip = 0): number[] {
  const end = length - 1 - horizon - skip;
  if (end - count + 1 < 0) throw new Error(`series of ${length} too short for ${count} origins`);
  return Array.from({ length: count }, (_, i) => end - count + 1 + i);
}

/** Mean absolute error per horizon (index h−1) of each forecaster over the origins. */
export function rollingOriginMae(
  series: readonly number[],
  forecasters: Record<string, Forecaster>,
  origins: readonly number[],
  horizon: number,
): Record<string, number[]> {
  const result: Record<string, number[]> = {};
  for (const [name, forecast] of Object.entries(forecasters)) {
    const sums = new Array<number>(horizon).fill(0);
    for (const t of origins) {
      if (t + horizon >= series.length) throw new Error(`origin ${t} + ${horizon} is past the series end`);
      const predicted = forecast(series.slice(0, t + 1), horizon);
      for (let h = 1; h <= horizon; h++) sums[h - 1]! += Math.abs((predicted[h - 1] as number) - (series[t + h] as number));
    }
    result[name] = sums.map((s) => s / origins.length);
  }
  return result;
}

/** The candidate with the lowest MAE averaged over horizons 1..horizon on the (validation) origins. */
export function selectArimaSpec(ARIMA: Arima, series: readonly number[], origins: readonly number[], horizon: number, candidates = ARIMA_CANDIDATES): ArimaSpec {
  const forecasters = Object.fromEntries(candidates.map((spec, i) => [String(i), arimaForecaster(ARIMA, spec)]));
  const mae = rollingOriginMae(series, forecasters, origins, horizon);
  const score = (i: number) => mean(mae[String(i)] as number[]);
  const best = candidates.map((_, i) => i).reduce((a, b) => (score(b) < score(a) ? b : a));
  return candidates[best] as ArimaSpec;
}

export interface ForecastEvaluation {
  /** The ARIMA configuration chosen on the selection origins. */
  spec: ArimaSpec;
  /** MAE per horizon (index h−1) on the test origins. */
  mae: { arima: number[]; naive: number[]; seasonalNaive: number[] };
  arimaStats: ArimaStats;
  testOrigins: number;
  /** The origins that chose the spec and those that scored it (see {@link forecastWindows}). */
  windows: ForecastWindows;
}

export interface ForecastWindows {
  /** Origins whose errors choose the ARIMA configuration. */
  selection: number[];
  /** Origins whose errors are reported. */
  test: number[];
}

/**
 * The selection and test origins of a rolling-origin evaluation, with no week used twice: the last
 * selection origin's last target (origin + horizon) is at or before the first test origin, so every
 * week that chose the model is history the first test forecast was allowed to see, and no week a
 * test forecast is scored on ever chose it (the gap between the last selection origin and the first
 * test origin is ≥ horizon). Test origins are the last `test` with all `horizon` targets observed.
 */
export function forecastWindows(length: number, { horizon, test, validation }: { horizon: number; test: number; validation: number }): ForecastWindows {
  const testOrigins = lastOrigins(length, test, horizon);
  const selection = lastOrigins(length, validation, horizon, test + horizon - 1);
  const overlap = selectionOverlap({ selection, test: testOrigins }, horizon);
  if (overlap > 0) throw new Error(`selection targets overlap the test targets by ${overlap} weeks`);
  return { selection, test: testOrigins };
}

/** Weeks after the first test origin that a selection origin forecasts (0 when the windows are apart). */
export function selectionOverlap(windows: ForecastWindows, horizon: number): number {
  if (windows.selection.length === 0 || windows.test.length === 0) return 0;
  return Math.max(0, Math.max(...windows.selection) + horizon - Math.min(...windows.test));
}

/**
 * The benchmark protocol: choose the ARIMA configuration on `validation` origins, then score it
 * and both baselines on the `test` origins after them, the windows apart (forecastWindows). (The
 * package's AutoARIMA, `{ order: { auto: true } }`, takes 0.25–0.6 s a fit here, 100× a fixed
 * order, so it is not among the candidates.)
 */
export function evaluateForecasts(
  ARIMA: Arima,
  series: readonly number[],
  { horizon = 4, test = 104, validation = 48, period = 52 } = {},
): ForecastEvaluation {
  const windows = forecastWindows(series.length, { horizon, test, validation });
  const spec = selectArimaSpec(ARIMA, series, windows.selection, horizon);
  const arimaStats = newArimaStats();
  const forecasters = { arima: arimaForecaster(ARIMA, spec, arimaStats), naive: naiveForecaster, seasonalNaive: seasonalNaiveForecaster(period) };
  const mae = rollingOriginMae(series, forecasters, windows.test, horizon) as ForecastEvaluation['mae'];
  return { spec, mae, arimaStats, testOrigins: windows.test.length, windows };
}

const lastOf = (xs: readonly number[]) => {
  if (xs.length === 0) throw new Error('empty history');
  return xs[xs.length - 1] as number;
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
