/**
 * Outbreak surveillance on the real series in data/outbreaks (src/ml):
 * - forecasts: MAE of ARIMA 2 and 4 weeks ahead beside the naive and seasonal-naive baselines, over
 *   104 rolling origins (the last two years) of influenza (DE 2001–06), Salmonella Agona (UK
 *   1990–95) and Campylobacter (DE 2002–11); the ARIMA configuration is chosen per series on the 48
 *   origins before those, and refitted at every origin;
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
import { loadArima } from '../src/ml/arima.js';
import { evaluateForecasts } from '../src/ml/forecast.js';
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
  }
  out.forecastTestOrigins = 104;
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
