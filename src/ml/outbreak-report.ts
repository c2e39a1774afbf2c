/**
 * One surveillance series as the public-health view, the API and the CLI show it: the weekly counts,
 * forecasts 1–4 weeks ahead from ARIMA, naive and seasonal naive, each with its 80 % and 95 %
 * prediction intervals (forecast-intervals.ts: empirical quantiles of the method's own past errors),
 * and the aberration alerts with what fired (outbreak-alerts.ts).
 *
 * ARIMA's configuration is chosen as in the benchmark (forecast.ts selectArimaSpec) on the latest
 * origins whose targets are known; seasonal candidates only when the series has three years, as
 * their seasonal difference needs a year before the first fit and another to learn from.
 */
import type { Arima } from './arima.js';
import { ARIMA_CANDIDATES, arimaForecaster, lastOrigins, naiveForecaster, newArimaStats, seasonalNaiveForecaster, selectArimaSpec, type ArimaSpec, type Forecaster } from './forecast.js';
import { bandAt, originForecasts, type ForecastBand, type IntervalOptions } from './forecast-intervals.js';
import { outbreakAlerts, type OutbreakAlert } from './outbreak-alerts.js';
import { weeksAfter, type SurveillanceSeries } from './surveillance.js';

export const FORECAST_METHODS = ['arima', 'naive', 'seasonalNaive'] as const;
export type ForecastMethod = (typeof FORECAST_METHODS)[number];
export const MAX_HORIZON = 4;

const PERIOD = 52;
const INTERVALS: Required<IntervalOptions> = { calibration: 104, minErrors: 26 };
const SELECTION_ORIGINS = 48;

export interface OutbreakReport extends Omit<SurveillanceSeries, 'counts'> {
  /** Counts as the models saw them (a suppressed week as the middle of its range). */
  counts: number[];
  horizon: number;
  /** Labels of the forecast weeks. */
  forecastWeeks: string[];
  /** Each method's forecast with its bands, or null with the reason in `unavailable`. */
  forecasts: Record<ForecastMethod, ForecastBand | null>;
  unavailable: Partial<Record<ForecastMethod, string>>;
  /** The ARIMA configuration chosen, and how often it fell back to naive (a fit the package refused). */
  arima: { spec: ArimaSpec; fits: number; fallbacks: number } | null;
  intervals: { method: 'empirical quantiles of rolling-origin errors, log(1 + y) scale'; calibrationWeeks: number; minErrors: number };
  alerts: OutbreakAlert[];
}

/** Fewest selection origins worth choosing on, and the weeks of history before the first of them. */
const MIN_SELECTION_ORIGINS = 8;
const MIN_HISTORY = 10;

/** The ARIMA configuration for a live forecast, or why there is none. */
function chooseArima(ARIMA: Arima, counts: readonly number[], horizon: number): ArimaSpec | string {
  // Origins t with t + horizon observed, after MIN_HISTORY weeks of history.
  const available = counts.length - horizon - MIN_HISTORY;
  if (available < MIN_SELECTION_ORIGINS) return `ARIMA needs at least ${MIN_HISTORY + MIN_SELECTION_ORIGINS + horizon} weeks to choose its configuration; the series has ${counts.length}`;
  const candidates = counts.length >= 3 * PERIOD ? ARIMA_CANDIDATES : ARIMA_CANDIDATES.filter((c) => !c.order.s);
  return selectArimaSpec(ARIMA, counts, lastOrigins(counts.length, Math.min(SELECTION_ORIGINS, available), horizon), horizon, candidates);
}

/** The report for `series`, forecasting `horizon` (1–4) weeks past its last week. */
export function outbreakReport(ARIMA: Arima, series: SurveillanceSeries, horizon: number): OutbreakReport {
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > MAX_HORIZON) throw new Error(`horizon must be 1 to ${MAX_HORIZON} weeks, not ${horizon}`);
  const { counts } = series;
  const origin = counts.length - 1;
  const unavailable: OutbreakReport['unavailable'] = {};
  const stats = newArimaStats();
  const spec = chooseArima(ARIMA, counts, horizon);
  const forecasters: Partial<Record<ForecastMethod, Forecaster>> = { naive: naiveForecaster, seasonalNaive: seasonalNaiveForecaster(PERIOD) };
  if (typeof spec === 'string') unavailable.arima = spec;
  else forecasters.arima = arimaForecaster(ARIMA, spec, stats);

  const forecasts: OutbreakReport['forecasts'] = { arima: null, naive: null, seasonalNaive: null };
  for (const method of FORECAST_METHODS) {
    const forecast = forecasters[method];
    if (!forecast) continue;
    const band = bandAt(counts, originForecasts(counts, forecast, horizon), origin, horizon, INTERVALS);
    if (band) forecasts[method] = band;
    else unavailable[method] = `too few past weeks to calibrate its intervals (${INTERVALS.minErrors} past forecasts per horizon needed${method === 'seasonalNaive' ? ', each with a year of history' : ''})`;
  }
  return {
    ...series,
    horizon,
    forecastWeeks: weeksAfter(series.weeks[origin] ?? '', horizon),
    forecasts,
    unavailable,
    arima: typeof spec === 'string' ? null : { spec, fits: stats.fits, fallbacks: stats.fallbacks },
    intervals: { method: 'empirical quantiles of rolling-origin errors, log(1 + y) scale', calibrationWeeks: INTERVALS.calibration, minErrors: INTERVALS.minErrors },
    alerts: outbreakAlerts(counts, series.weeks, { period: PERIOD }),
  };
}
