/**
 * Outbreak surveillance on the real series in data/outbreaks (src/ml):
 * - forecasts: MAE of ARIMA 2 and 4 weeks ahead beside the naive and seasonal-naive baselines, over
 *   104 rolling origins (the last two years) of influenza (DE 2001–06), Salmonella Agona (UK
 *   1990–95) and Campylobacter (DE 2002–11); the ARIMA configuration is chosen per series on 48
 *   origins that end 4 weeks before those (no week that chose it is scored), and refitted at every
 *   origin; ARIMA's MAE with a 95 % block-bootstrap interval;
 * - prediction intervals: on the same test origins, the share of actuals inside each method's 80 %
 *   and 95 % bands per horizon 1–4 (empirical, forecast-intervals.ts), and inside the bands of
 *   ARIMA's own model variance, for comparison;
 * - alerts: sensitivity (flagged within 2 weeks of the start) to 200 seeded outbreaks of 3 × the
 *   series' sd (over the previous year) injected one at a time into the last 153 weeks (where a
 *   3-year Farrington baseline exists), and alarms per year on the series as it is, for EARS
 *   C1/C2/C3 and the Farrington-style detector (that one also at 5 × sd); `alertSensitivity` /
 *   `falseAlarmsPerYear` are the Farrington-style detector on Salmonella Agona (the series
 *   Farrington et al. 1996 used);
 * - R(t) (Cori et al., 7-day windows) on 1918 influenza and SARS 2003: the first window's mean and
 *   the first day the 97.5 % bound drops below 1.
 */
import { earsC1, earsC2, earsC3, evaluateByInjection, farrington, type Detector } from '../src/ml/aberration.js';
import { arimaForecaster, evaluateForecasts, naiveForecaster, seasonalNaiveForecaster, type ArimaSpec, type ForecastEvaluation, type Forecaster } from '../src/ml/forecast.js';
import { intervalCoverage, originForecasts } from '../src/ml/forecast-intervals.js';
import { fitAndForecast, loadArima, type Arima } from '../src/ml/arima.js';
import { bootstrapInterval } from '../src/ml/bootstrap.js';
import { loadCampylobacterDe, loadFlu1918, loadInfluenzaDe, loadSalmonellaAgona, loadSars2003 } from '../src/ml/outbreak-data.js';
import { estimateRt } from '../src/ml/rt.js';

const DETECTORS: Record<string, Detector> = { c1: earsC1, c2: earsC2, c3: earsC3, farrington };
const INJECTION = { k: 3, trials: 200, seed: 1, withinWeeks: 2, from: 3 * 52 + 3 };

export async function benchMlOutbreak(log: (line: string) => void = console.log): Promise<Record<string, number>> {
  const started = performance.now();
  const out: Record<string, number> = {};
  const round = (v: number, digits = 3) => Number(v.toFixed(digits));

  const ARIMA = await loadArima();
  let fits = 0;
  let fitMs = 0;
  let fallbacks = 0;
  for (const [key, series] of [['flu', loadInfluenzaDe()], ['sal', loadSalmonellaAgona()], ['campy', loadCampylobacterDe()]] as const) {
    const e = evaluateForecasts(ARIMA, series.cases);
    fits += e.arimaStats.fits;
    fitMs += e.arimaStats.ms;
    fallbacks += e.arimaStats.fallbacks;
    for (const h of [2, 4]) {
      out[`${key}ArimaMae${h}`] = round(e.mae.arima[h - 1] as number);
      out[`${key}NaiveMae${h}`] = round(e.mae.naive[h - 1] as number);
      out[`${key}SeasonalMae${h}`] = round(e.mae.seasonalNaive[h - 1] as number);
    }
    log(`  ${series.name}: ARIMA ${JSON.stringify(e.spec.order)} on ${e.spec.transform}; MAE h=2 ${out[`${key}ArimaMae2`]} (naive ${out[`${key}NaiveMae2`]}, seasonal ${out[`${key}SeasonalMae2`]}), h=4 ${out[`${key}ArimaMae4`]} (naive ${out[`${key}NaiveMae4`]}, seasonal ${out[`${key}SeasonalMae4`]})`);
    Object.assign(out, benchIntervals(ARIMA, key, series.cases, e, log));
  }
  // How far coverage is from nominal, averaged over the three series and horizons 1–4.
  for (const [method, name] of [['Arima', 'arima'], ['ArimaModel', 'arimaModel'], ['Naive', 'naive'], ['Seasonal', 'seasonal']] as const) {
    for (const level of [80, 95]) {
      const gaps = ['flu', 'sal', 'campy'].flatMap((key) => [1, 2, 3, 4].map((h) => Math.abs((out[`${key}${method}Coverage${level}H${h}`] as number) - level / 100)));
      out[`${name}CoverageGap${level}`] = round(gaps.reduce((a, g) => a + g, 0) / gaps.length);
    }
  }
  log(`  mean |coverage − nominal| 80 % / 95 %: empirical ARIMA ${out.arimaCoverageGap80} / ${out.arimaCoverageGap95}, naive ${out.naiveCoverageGap80} / ${out.naiveCoverageGap95}, seasonal ${out.seasonalCoverageGap80} / ${out.seasonalCoverageGap95}; ARIMA model variance ${out.arimaModelCoverageGap80} / ${out.arimaModelCoverageGap95}`);
  out.forecastTestOrigins = 104;
  out.forecastSelectionGap = HORIZON;
  out.arimaMsPerFit = round(fitMs / fits, 2);
  out.arimaFallbacks = fallbacks;

  for (const [key, series] of [['sal', loadSalmonellaAgona()], ['flu', loadInfluenzaDe()]] as const) {
    for (const [name, detect] of Object.entries(DETECTORS)) {
      const r = evaluateByInjection(series.cases, detect, INJECTION);
      const prefix = `${key}${name[0]?.toUpperCase()}${name.slice(1)}`;
      out[`${prefix}Sensitivity`] = round(r.sensitivity);
      out[`${prefix}FalseAlarmsPerYear`] = round(r.falseAlarmsPerYear, 2);
      log(`  ${series.name} ${name}: sensitivity ${out[`${prefix}Sensitivity`]} at k=${INJECTION.k}, ${out[`${prefix}FalseAlarmsPerYear`]} alarms/year un-injected`);
    }
  }
  for (const [key, series] of [['sal', loadSalmonellaAgona()], ['flu', loadInfluenzaDe()]] as const) {
    out[`${key}FarringtonSensitivityK5`] = round(evaluateByInjection(series.cases, farrington, { ...INJECTION, k: 5 }).sensitivity);
  }
  log(`  farrington at k=5: Salmonella ${out.salFarringtonSensitivityK5}, influenza ${out.fluFarringtonSensitivityK5}`);
  out.alertSensitivity = out.salFarringtonSensitivity as number;
  out.falseAlarmsPerYear = out.salFarringtonFalseAlarmsPerYear as number;
  out.alertOutbreakSizeSd = INJECTION.k;
  out.alertTrials = INJECTION.trials;

  for (const [key, epidemic] of [['flu1918', loadFlu1918()], ['sars2003', loadSars2003()]] as const) {
    const rt = estimateRt(epidemic.incidence, epidemic.serialInterval);
    out[`${key}RtFirst`] = round(rt[0]?.mean as number, 2);
    out[`${key}RtMax`] = round(Math.max(...rt.map((r) => r.mean)), 2);
    // Days are 1-based in the data files.
    out[`${key}DayRtBelow1`] = (rt.find((r) => r.upper < 1)?.end ?? NaN) + 1;
    log(`  ${epidemic.name}: R(t) starts ${out[`${key}RtFirst`]}, peaks ${out[`${key}RtMax`]}, credibly < 1 from day ${out[`${key}DayRtBelow1`]}`);
  }

  out.seconds = round((performance.now() - started) / 1000, 1);
  return out;
}

const HORIZON = 4;
/** Non-overlapping blocks of this many origins are resampled for the MAE intervals (errors of neighbouring origins share targets). */
const MAE_BLOCK = HORIZON;
const round3 = (v: number) => Number(v.toFixed(3));

/**
 * Interval coverage and MAE intervals on one series, on the evaluation's own test origins (after
 * the selection window, gap ≥ horizon): the share of actuals inside each method's empirical 80 % and
 * 95 % bands per horizon (forecast-intervals.ts), the same for ARIMA's model-variance bands (what the
 * package's predict() variance gives, Gaussian on the fitted scale), and a 95 % moving-block
 * bootstrap interval (Künsch 1989, blocks of 4 origins) on ARIMA's MAE at h = 2 and 4.
 */
function benchIntervals(ARIMA: Arima, key: string, cases: number[], e: ForecastEvaluation, log: (line: string) => void): Record<string, number> {
  const out: Record<string, number> = {};
  const methods: Record<string, Forecaster> = { Arima: arimaForecaster(ARIMA, e.spec), Naive: naiveForecaster, Seasonal: seasonalNaiveForecaster(52) };
  for (const [name, forecast] of Object.entries(methods)) {
    const c = intervalCoverage(cases, forecast, e.windows.test, HORIZON);
    for (let h = 1; h <= HORIZON; h++) {
      out[`${key}${name}Coverage80H${h}`] = round3(c.coverage80[h - 1] as number);
      out[`${key}${name}Coverage95H${h}`] = round3(c.coverage95[h - 1] as number);
    }
  }
  const model = modelVarianceCoverage(ARIMA, e.spec, cases, e.windows.test);
  for (let h = 1; h <= HORIZON; h++) {
    out[`${key}ArimaModelCoverage80H${h}`] = round3(model.coverage80[h - 1] as number);
    out[`${key}ArimaModelCoverage95H${h}`] = round3(model.coverage95[h - 1] as number);
  }
  const forecasts = originForecasts(cases, methods.Arima as Forecaster, HORIZON);
  for (const h of [2, 4]) {
    const errors = e.windows.test.map((t) => Math.abs((forecasts(t)?.[h - 1] as number) - (cases[t + h] as number)));
    const blocks = Math.floor(errors.length / MAE_BLOCK);
    const mae = bootstrapInterval(blocks, (picked) => {
      const xs = picked.flatMap((b) => errors.slice(b * MAE_BLOCK, (b + 1) * MAE_BLOCK));
      return xs.reduce((a, x) => a + x, 0) / xs.length;
    });
    out[`${key}ArimaMae${h}Low`] = round3(mae.low);
    out[`${key}ArimaMae${h}High`] = round3(mae.high);
  }
  const show = (prefix: string, level: number) => [1, 2, 3, 4].map((h) => out[`${key}${prefix}Coverage${level}H${h}`]).join('/');
  log(`    coverage h=1..4, empirical 80 %: ARIMA ${show('Arima', 80)}, naive ${show('Naive', 80)}, seasonal ${show('Seasonal', 80)}; 95 %: ARIMA ${show('Arima', 95)}, naive ${show('Naive', 95)}, seasonal ${show('Seasonal', 95)}`);
  log(`    ARIMA model-variance bands: 80 % ${show('ArimaModel', 80)}, 95 % ${show('ArimaModel', 95)}; ARIMA MAE h=2 95 % CI ${out[`${key}ArimaMae2Low`]}–${out[`${key}ArimaMae2High`]}, h=4 ${out[`${key}ArimaMae4Low`]}–${out[`${key}ArimaMae4High`]}`);
  return out;
}

/** Coverage of the bands ARIMA's own forecast variance gives: ŷ ± z·√v on the fitted scale, back-transformed. */
function modelVarianceCoverage(ARIMA: Arima, spec: ArimaSpec, cases: number[], origins: readonly number[]) {
  const log1p = spec.transform === 'log1p';
  const inside = { coverage80: new Array<number>(HORIZON).fill(0), coverage95: new Array<number>(HORIZON).fill(0) };
  let scored = 0;
  for (const t of origins) {
    let fit: { forecast: number[]; variance: number[] };
    try {
      fit = fitAndForecast(ARIMA, cases.slice(0, t + 1).map((v) => (log1p ? Math.log1p(v) : v)), HORIZON, spec.order);
    } catch {
      continue;
    }
    scored++;
    const back = (v: number) => Math.max(0, log1p ? Math.expm1(v) : v);
    for (let h = 0; h < HORIZON; h++) {
      const [f, sd, y] = [fit.forecast[h] as number, Math.sqrt(fit.variance[h] as number), cases[t + h + 1] as number];
      if (y >= back(f - 1.2816 * sd) && y <= back(f + 1.2816 * sd)) inside.coverage80[h]!++;
      if (y >= back(f - 1.96 * sd) && y <= back(f + 1.96 * sd)) inside.coverage95[h]!++;
    }
  }
  return { coverage80: inside.coverage80.map((x) => x / scored), coverage95: inside.coverage95.map((x) => x / scored) };
}
