/**
 * Outbreak surveillance (src/ml): the outbreak data sets (data/outbreaks), ISO weeks, the
 * provider's aggregate with small-cell suppression, forecast baselines and ARIMA wiring, EARS
 * C1–C3 and the Farrington-style detector, injection evaluation, and R(t) by Cori et al. Seconds,
 * no network.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Condition, Patient } from '@medplum/fhirtypes';
import { earsC1, earsC2, earsC3, evaluateByInjection, farrington, poissonDraw, simulateOutbreak } from '../src/ml/aberration.js';
import { aggregateWeeklyCases, infectiousConditionOf, onsetDayOf, regionOf, type WeeklyCaseCell } from '../src/ml/aggregate.js';
import { outbreakAlerts } from '../src/ml/outbreak-alerts.js';
import { outbreakReport } from '../src/ml/outbreak-report.js';
import { combineReports, lastWeeks, referenceSeries, weeksAfter } from '../src/ml/surveillance.js';
import { loadArima } from '../src/ml/arima.js';
import { arimaForecaster, evaluateForecasts, forecastWindows, lastOrigins, naiveForecaster, newArimaStats, rollingOriginMae, seasonalNaiveForecaster, selectionOverlap } from '../src/ml/forecast.js';
import { bandAt, intervalCoverage, originForecasts, quantile } from '../src/ml/forecast-intervals.js';
import { addIsoWeeks, formatIsoWeek, isoWeekOf, isoWeeksInYear, parseIsoWeek } from '../src/ml/iso-week.js';
import { loadCampylobacterDe, loadFlu1918, loadInfluenzaDe, loadSalmonellaAgona, loadSars2003 } from '../src/ml/outbreak-data.js';
import { normalDraw, seededRandom } from '../src/random.js';
import { estimateRt, gammaQuantile } from '../src/ml/rt.js';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const alarmsAt = (alarm: boolean[]) => alarm.flatMap((a, i) => (a ? [i] : []));

// ——— Data ———

test('outbreak data: row counts and case totals match the data README', () => {
  const salmonella = loadSalmonellaAgona();
  const influenza = loadInfluenzaDe();
  const campylobacter = loadCampylobacterDe();
  assert.equal(salmonella.cases.length, 312);
  assert.equal(sum(salmonella.cases), 897);
  assert.equal(salmonella.labels[0], '1990-w01');
  assert.equal(salmonella.labels[311], '1995-w52');
  assert.equal(influenza.cases.length, 312);
  assert.equal(sum(influenza.cases), 32_828);
  assert.equal(campylobacter.cases.length, 522);
  assert.equal(sum(campylobacter.cases), 604_962);
  assert.equal(campylobacter.labels[0], '2001-12-31');

  for (const [epidemic, days, cases, siDays] of [[loadFlu1918(), 92, 6202, 12], [loadSars2003(), 107, 1467, 25]] as const) {
    assert.equal(epidemic.incidence.length, days);
    assert.equal(sum(epidemic.incidence), cases);
    assert.equal(epidemic.serialInterval.length, siDays);
    assert.ok(Math.abs(sum(epidemic.serialInterval) - 1) < 1e-9);
    assert.equal(epidemic.serialInterval[0], 0);
  }
});

// ——— ISO weeks ———

test('ISO weeks: year boundaries and week 53', () => {
  const week = (d: string) => formatIsoWeek(isoWeekOf(d));
  assert.equal(week('2020-12-31'), '2020-W53'); // Thursday: 2020 has 53 weeks
  assert.equal(week('2021-01-03'), '2020-W53'); // Sunday of that week, already in the next calendar year
  assert.equal(week('2021-01-04'), '2021-W01'); // Monday
  assert.equal(week('2019-12-30'), '2020-W01'); // Monday before New Year, in 2020's week 1
  assert.equal(week('2018-12-31'), '2019-W01');
  assert.equal(week('2016-01-03'), '2015-W53');
  assert.equal(week('2017-01-01'), '2016-W52'); // 2016 has only 52
  assert.equal(week('2024-02-29'), '2024-W09');
  assert.equal(isoWeeksInYear(2020), 53);
  assert.equal(isoWeeksInYear(2015), 53);
  assert.equal(isoWeeksInYear(2021), 52);
  assert.equal(formatIsoWeek(addIsoWeeks({ year: 2020, week: 52 }, 1)), '2020-W53');
  assert.equal(formatIsoWeek(addIsoWeeks({ year: 2020, week: 53 }, 1)), '2021-W01');
  assert.equal(formatIsoWeek(addIsoWeeks({ year: 2021, week: 1 }, -1)), '2020-W53');
  assert.throws(() => parseIsoWeek('2021-W53'));
  assert.throws(() => isoWeekOf('2021-02-29'));
});

// ——— Aggregation ———

const SNOMED = 'http://snomed.info/sct';
const patient = (id: string, address: Patient['address']): Patient => ({ resourceType: 'Patient', id, address });
const condition = (patientId: string, code: { system: string; code: string }, onset: string, extra: Partial<Condition> = {}): Condition => ({
  resourceType: 'Condition',
  subject: { reference: `Patient/${patientId}` },
  code: { coding: [code] },
  onsetDateTime: onset,
  ...extra,
});
const FLU = { system: SNOMED, code: '6142004' };

test('aggregation: weekly counts per condition and region, small cells masked or dropped', () => {
  const patients = [
    ...Array.from({ length: 6 }, (_, i) => patient(`by${i}`, [{ use: 'home', state: 'BY' }])),
    patient('be0', [{ use: 'old', state: 'BY' }, { use: 'home', state: 'BE' }]),
    patient('nowhere', []),
  ];
  const conditions = [
    // 6 influenza cases in Bavaria in 2021-W01, one on its Sunday late in the evening (the local day counts, not UTC)
    ...Array.from({ length: 6 }, (_, i) => condition(`by${i}`, FLU, i === 5 ? '2021-01-10T23:30:00+01:00' : '2021-01-04')),
    // by0's follow-up visit 10 days later is the same episode; by1's record 60 days later is a new one.
    condition('by0', FLU, '2021-01-14'),
    condition('by1', FLU, '2021-03-05'),
    // Berlin (current home address, not the old one): one salmonellosis by ICD-10 subcode.
    condition('be0', { system: 'http://hl7.org/fhir/sid/icd-10', code: 'A02.0' }, '2021-01-05'),
    // Not counted: refuted, entered in error, month precision, not infectious, not a consenting patient.
    condition('by2', FLU, '2021-01-20', { verificationStatus: { coding: [{ code: 'refuted' }] } }),
    condition('by3', FLU, '2021-01-20', { verificationStatus: { coding: [{ code: 'entered-in-error' }] } }),
    condition('by4', FLU, '2021-01'),
    condition('by5', { system: SNOMED, code: '38341003' }, '2021-01-20'), // hypertension
    condition('stranger', FLU, '2021-01-04'),
    condition('nowhere', { system: SNOMED, code: '840539006' }, '2020-12-31'),
  ];

  const masked = aggregateWeeklyCases(conditions, patients, { from: '2020-W53', to: '2021-W02' });
  const cell = (c: string, r: string, w: string) => masked.find((x) => x.condition === c && x.region === r && x.week === w)?.cases;
  assert.equal(cell('influenza', 'BY', '2021-W01'), 6);
  assert.equal(cell('influenza', 'BY', '2021-W02'), 0); // the follow-up is not a case; zeros are published
  assert.equal(cell('influenza', 'BY', '2020-W53'), 0);
  assert.equal(cell('salmonellosis', 'BE', '2021-W01'), '<5');
  assert.equal(cell('covid-19', 'unknown', '2020-W53'), '<5');
  assert.equal(masked.length, 3 * 3); // three series × three weeks; by1's March episode is outside the range

  const dropped = aggregateWeeklyCases(conditions, patients, { from: '2020-W53', to: '2021-W02', suppression: 'drop' });
  assert.ok(dropped.every((c) => typeof c.cases === 'number'));
  assert.equal(dropped.length, masked.length - 2);

  // Without a range: first to last week with a case, so the March episode appears.
  const all = aggregateWeeklyCases(conditions, patients, { minCount: 1 });
  assert.equal(all.find((c) => c.condition === 'influenza' && c.week === '2021-W09')?.cases, 1);
  assert.equal(all[0]?.week, '2020-W53');

  // Nothing individual in the output: only these four keys.
  assert.deepEqual(Object.keys(masked[0] ?? {}).sort(), ['cases', 'condition', 'region', 'week']);
});

test('aggregation helpers: codes, onset precision, region by postal prefix', () => {
  assert.equal(infectiousConditionOf({ coding: [{ system: SNOMED, code: '4834000' }] }), 'campylobacteriosis');
  assert.equal(infectiousConditionOf({ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'J101' }] }), 'influenza');
  assert.equal(infectiousConditionOf({ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'A04.4' }] }), undefined);
  assert.equal(infectiousConditionOf({ coding: [{ system: 'http://loinc.org', code: '6142004' }] }), undefined);
  assert.equal(onsetDayOf({ resourceType: 'Condition', subject: {}, onsetPeriod: { start: '2021-01-03' } }), '2021-01-03');
  assert.equal(onsetDayOf({ resourceType: 'Condition', subject: {}, recordedDate: '2021-01-03T08:00:00Z' }), '2021-01-03');
  assert.equal(onsetDayOf({ resourceType: 'Condition', subject: {}, onsetDateTime: '2021' }), undefined);
  assert.equal(regionOf(patient('p', [{ postalCode: '80 331' }]), { postalPrefix: 2 }), '80');
  assert.equal(regionOf(patient('p', [{ state: 'BY', period: { end: '2019-01-01' } }])), 'unknown');
});

// ——— Forecast baselines and ARIMA ———

test('seasonal naive forecasts the value 52 weeks earlier; naive the last value', () => {
  const { cases } = loadInfluenzaDe();
  const t = 200;
  const history = cases.slice(0, t + 1);
  assert.deepEqual(seasonalNaiveForecaster(52)(history, 4), [cases[t + 1 - 52], cases[t + 2 - 52], cases[t + 3 - 52], cases[t + 4 - 52]]);
  assert.deepEqual(naiveForecaster(history, 3), [cases[t], cases[t], cases[t]]);
  assert.throws(() => seasonalNaiveForecaster(52)(cases.slice(0, 10), 1));
});

test('rolling-origin MAE: each origin sees only its past', () => {
  const series = [1, 2, 3, 4, 5, 6];
  // Naive from origins 2 and 3 with horizon 2: errors |3−4|,|3−5| and |4−5|,|4−6|.
  assert.deepEqual(lastOrigins(series.length, 2, 2), [2, 3]);
  assert.deepEqual(rollingOriginMae(series, { naive: naiveForecaster }, [2, 3], 2), { naive: [1, 2] });
  const seen: number[] = [];
  rollingOriginMae(series, { spy: (h, n) => (seen.push(h.length), new Array(n).fill(0)) }, [2, 3], 2);
  assert.deepEqual(seen, [3, 4]);
  assert.deepEqual(lastOrigins(series.length, 1, 2, 1), [2]);
});

test('model selection never sees a week the evaluation scores (gap ≥ horizon)', async () => {
  for (const [length, horizon, testCount, validation] of [[312, 4, 104, 48], [312, 1, 104, 48], [200, 2, 50, 30], [522, 4, 104, 48]] as const) {
    const windows = forecastWindows(length, { horizon, test: testCount, validation });
    assert.equal(windows.selection.length, validation);
    assert.equal(windows.test.length, testCount);
    const lastSelectionTarget = Math.max(...windows.selection) + horizon;
    const firstTestTarget = Math.min(...windows.test) + 1;
    assert.ok(lastSelectionTarget < firstTestTarget, `h=${horizon}: selection forecasts week ${lastSelectionTarget}, the test scores from week ${firstTestTarget}`);
    assert.ok(Math.min(...windows.test) - Math.max(...windows.selection) >= horizon);
    assert.equal(selectionOverlap(windows, horizon), 0);
  }
  // The windows the old protocol used (selection ending right before the test) overlap by horizon − 1 weeks.
  assert.equal(selectionOverlap({ selection: lastOrigins(312, 48, 4, 104), test: lastOrigins(312, 104, 4) }, 4), 3);
  // And the benchmark runs on the windows it reports.
  const { cases } = loadSalmonellaAgona();
  const evaluation = evaluateForecasts(await loadArima(), cases, { horizon: 2, test: 20, validation: 6 });
  assert.deepEqual(evaluation.windows, forecastWindows(cases.length, { horizon: 2, test: 20, validation: 6 }));
  assert.equal(selectionOverlap(evaluation.windows, 2), 0);
});

test('prediction intervals: about 80 % and 95 % of simulated Poisson counts fall inside', () => {
  const random = seededRandom(11);
  for (const level of [3, 12, 40]) {
    // A seasonal Poisson series: exchangeable errors are what empirical quantiles assume.
    const series = Array.from({ length: 360 }, (_, t) => poissonDraw(random, level * (1 + 0.5 * Math.sin((2 * Math.PI * t) / 52))));
    const origins = lastOrigins(series.length, 200, 4);
    for (const [name, forecaster] of [['naive', naiveForecaster], ['seasonal naive', seasonalNaiveForecaster(52)]] as const) {
      const c = intervalCoverage(series, forecaster, origins, 4);
      assert.equal(c.origins, 200);
      for (let h = 0; h < 4; h++) {
        assert.ok(Math.abs((c.coverage80[h] as number) - 0.8) <= 0.08, `${name}, mean ${level}, h=${h + 1}: 80 % band covers ${c.coverage80[h]}`);
        assert.ok(Math.abs((c.coverage95[h] as number) - 0.95) <= 0.04, `${name}, mean ${level}, h=${h + 1}: 95 % band covers ${c.coverage95[h]}`);
        assert.ok((c.width95[h] as number) > (c.width80[h] as number));
      }
    }
  }
});

test('prediction intervals use only weeks known at the origin, and widen with the errors', () => {
  const series = Array.from({ length: 120 }, (_, t) => 10 + (t % 7));
  const band = (s: number[]) => bandAt(s, originForecasts(s, naiveForecaster, 4), 99, 4);
  const full = band(series);
  assert.ok(full);
  // Changing every week after the origin changes nothing.
  assert.deepEqual(band([...series.slice(0, 100), ...series.slice(100).map((v) => v * 5)]), full);
  // Bands are ordered, hold the point forecast, and stay at or above 0.
  for (let h = 0; h < 4; h++) {
    const [l95, l80, m, u80, u95] = [full.lower95[h], full.lower80[h], full.mean[h], full.upper80[h], full.upper95[h]] as number[];
    assert.ok(0 <= l95! && l95! <= l80! && l80! <= m! && m! <= u80! && u80! <= u95!, `h=${h + 1}: ${[l95, l80, m, u80, u95]}`);
  }
  // A noisier past gives a wider band.
  const noisy = series.map((v, t) => (t % 2 ? v * 2 : v));
  const wide = band(noisy)!;
  assert.ok((wide.upper95[0] as number) - (wide.lower95[0] as number) > (full.upper95[0] as number) - (full.lower95[0] as number));
  // Too little history: no band rather than a made-up one.
  assert.equal(bandAt(series.slice(0, 20), originForecasts(series.slice(0, 20), naiveForecaster, 4), 19, 4), undefined);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0), 1);
});

test('ARIMA (wasm, awaited once) beats naive on an AR(1) series', async () => {
  const ARIMA = await loadArima();
  assert.equal(await loadArima(), ARIMA);
  const random = seededRandom(42);
  const series = [50];
  for (let i = 1; i < 120; i++) series.push(50 + 0.6 * ((series[i - 1] as number) - 50) + 5 * normalDraw(random));
  const stats = newArimaStats();
  const mae = rollingOriginMae(series, { arima: arimaForecaster(ARIMA, { order: { p: 1, d: 0, q: 0 }, transform: 'none' }, stats), naive: naiveForecaster }, lastOrigins(series.length, 20, 2), 2);
  assert.equal(stats.fits, 20);
  assert.equal(stats.fallbacks, 0);
  for (const h of [0, 1]) assert.ok((mae.arima?.[h] as number) < (mae.naive?.[h] as number), `h=${h + 1}: ${mae.arima?.[h]} vs ${mae.naive?.[h]}`);
});

test('ARIMA forecaster falls back to naive when the package refuses the series', async () => {
  const ARIMA = await loadArima();
  const stats = newArimaStats();
  assert.deepEqual(arimaForecaster(ARIMA, { order: { p: 1, d: 1, q: 1 }, transform: 'log1p' }, stats)([3, 4, 5], 2), [5, 5]);
  assert.equal(stats.fallbacks, 1);
});

// ——— Aberration detection ———

test('EARS C1/C2/C3: a flat series with a spike alarms at the spike, not before', () => {
  const series = new Array<number>(30).fill(5);
  series[20] = 20;
  assert.deepEqual(alarmsAt(earsC1(series).alarm), [20]);
  assert.deepEqual(alarmsAt(earsC2(series).alarm), [20]);
  // C3 sums C2 excesses over t−2..t, so by definition it keeps alarming for the two units after.
  assert.deepEqual(alarmsAt(earsC3(series).alarm), [20, 21, 22]);
  // Baseline σ = 0 is floored at 1 case: 3 above a flat baseline is not > 3σ, 4 is.
  assert.equal(earsC1([...new Array<number>(7).fill(0), 3]).alarm[7], false);
  assert.equal(earsC1([...new Array<number>(7).fill(0), 4]).alarm[7], true);
  // No statistic before there is a baseline (C1: 7, C2: 9, C3: 11 units).
  assert.ok(Number.isNaN(earsC1(series).statistic[6] as number) && !Number.isNaN(earsC1(series).statistic[7] as number));
  assert.ok(Number.isNaN(earsC2(series).statistic[8] as number) && !Number.isNaN(earsC2(series).statistic[9] as number));
  assert.ok(Number.isNaN(earsC3(series).statistic[10] as number) && !Number.isNaN(earsC3(series).statistic[11] as number));
});

test('EARS C1 by hand: (y − mean)/sd over the 7 units before', () => {
  const series = [2, 4, 4, 4, 5, 5, 7, 9];
  const mean = 31 / 7;
  const sd = Math.sqrt(series.slice(0, 7).reduce((a, y) => a + (y - mean) ** 2, 0) / 6);
  const c1 = earsC1(series);
  assert.ok(Math.abs((c1.statistic[7] as number) - (9 - mean) / sd) < 1e-12);
  assert.ok(Math.abs((c1.upperBound[7] as number) - (mean + 3 * sd)) < 1e-12);
  assert.ok(Math.abs((c1.expected[7] as number) - mean) < 1e-12);
  assert.equal(c1.alarm[7], (9 - mean) / sd > 3);
});

test('Farrington-style: a spike against the same weeks of past years alarms; the season does not', () => {
  // Four years of a smooth season, 5–25 cases a week, slightly different each year.
  const random = seededRandom(3);
  const series = Array.from({ length: 4 * 52 }, (_, t) => Math.round(15 + 10 * Math.sin((2 * Math.PI * t) / 52) + 2 * (random() - 0.5)));
  const quiet = farrington(series);
  assert.deepEqual(alarmsAt(quiet.alarm), []);
  const spiked = [...series];
  spiked[3 * 52 + 10]! += 25;
  assert.deepEqual(alarmsAt(farrington(spiked).alarm), [3 * 52 + 10]);
  // Too few recent cases: no alarm for 3 cases against an all-zero baseline.
  const rare = new Array<number>(3 * 52 + 5).fill(0);
  rare[rare.length - 1] = 3;
  assert.equal(farrington(rare).alarm.at(-1), false);
  rare[rare.length - 1] = 6;
  assert.equal(farrington(rare).alarm.at(-1), true);
});

test('a clear outbreak injected into the real Salmonella Agona series is flagged within 2 weeks', () => {
  const { cases } = loadSalmonellaAgona();
  const start = 250; // 1994-w42: a quiet week
  const outbreak = [10, 8, 3];
  const injected = cases.map((c, t) => c + (outbreak[t - start] ?? 0));
  for (const [name, detect] of [['C1', earsC1], ['C2', earsC2], ['C3', earsC3], ['Farrington', farrington]] as const) {
    assert.equal(detect(cases).alarm.slice(start, start + 2).some(Boolean), false, `${name} alarms there without the outbreak`);
    assert.ok(detect(injected).alarm.slice(start, start + 2).some(Boolean), `${name} missed the outbreak`);
  }
});

test('injection evaluation: seeded, and larger outbreaks are found more often', () => {
  const { cases } = loadSalmonellaAgona();
  const random = seededRandom(9);
  const shape = simulateOutbreak(random, 40);
  assert.ok(shape.length === 3 && (shape[0] as number) > 0 && sum(shape) > 20);
  const small = evaluateByInjection(cases, farrington, { k: 1, trials: 30, seed: 5, from: 159 });
  const large = evaluateByInjection(cases, farrington, { k: 20, trials: 30, seed: 5, from: 159 });
  assert.deepEqual(evaluateByInjection(cases, farrington, { k: 1, trials: 30, seed: 5, from: 159 }), small);
  assert.ok(large.sensitivity > small.sensitivity, `${large.sensitivity} vs ${small.sensitivity}`);
  assert.ok(large.sensitivity >= 0.8);
  assert.equal(small.falseAlarmsPerYear, large.falseAlarmsPerYear); // the clean series is the same
  assert.equal(large.weeksMonitored, 312 - 159);
});

// ——— R(t) ———

test('gamma quantiles: exponential closed form and a chi-square table value', () => {
  assert.ok(Math.abs(gammaQuantile(0.5, 1, 2) - 2 * Math.log(2)) < 1e-9);
  assert.ok(Math.abs(gammaQuantile(0.975, 10, 2) - 34.1696) < 1e-3); // χ²(20) 97.5 %
  assert.ok(Math.abs(gammaQuantile(0.025, 50, 1) - 37.111) < 1e-2);
});

test('R(t) by hand: constant incidence with a one-day serial interval gives R near 1', () => {
  const estimates = estimateRt(new Array<number>(10).fill(20), [0, 1], { window: 3 });
  assert.equal(estimates[0]?.start, 1);
  assert.equal(estimates.at(-1)?.end, 9);
  // Posterior shape 1 + 60, rate 1/5 + 60.
  assert.ok(Math.abs((estimates[0]?.mean as number) - 61 / 60.2) < 1e-12);
  assert.throws(() => estimateRt([1, 2, 3], [0.5, 0.5]));
});

test('R(t) on 1918 influenza (Baltimore) and SARS 2003 (Hong Kong): above 1, then below 1', () => {
  for (const epidemic of [loadFlu1918(), loadSars2003()]) {
    const rt = estimateRt(epidemic.incidence, epidemic.serialInterval);
    assert.equal(rt.length, epidemic.incidence.length - 7);
    // The peak of the weekly (7-day) incidence: daily counts are too noisy to place it.
    const weekly = rt.map((r) => r.cases);
    const peak = rt[weekly.indexOf(Math.max(...weekly))]?.end as number;
    const growing = rt.filter((r) => r.end < peak - 3);
    const declining = rt.filter((r) => r.start > peak + 3 && r.cases >= 12);
    assert.ok(growing.length > 0 && declining.length > 0);
    assert.ok((rt[0]?.mean as number) > 1, `${epidemic.name}: R does not start above 1`);
    const sortedGrowth = growing.map((r) => r.mean).sort((a, b) => a - b);
    assert.ok((sortedGrowth[Math.floor(sortedGrowth.length / 2)] as number) > 1, `${epidemic.name}: median R ≤ 1 before the peak`);
    assert.ok(growing.some((r) => r.lower > 1), `${epidemic.name}: never credibly above 1`);
    assert.ok(declining.some((r) => r.upper < 1), `${epidemic.name}: never credibly below 1`);
    const sortedDecline = declining.map((r) => r.mean).sort((a, b) => a - b);
    assert.ok((sortedDecline[Math.floor(sortedDecline.length / 2)] as number) < 1, `${epidemic.name}: median R ≥ 1 after the peak`);
  }
});

// ——— What the public-health view shows ———

test('alerts say what fired: detector, observed against expected, threshold', () => {
  const { cases, labels } = loadSalmonellaAgona();
  const alerts = outbreakAlerts(cases, labels);
  const farringtonAt = alarmsAt(farrington(cases).alarm);
  const c2At = alarmsAt(earsC2(cases).alarm);
  assert.deepEqual(alerts.filter((a) => a.detector === 'farrington').map((a) => a.index), farringtonAt);
  assert.deepEqual(alerts.filter((a) => a.detector === 'ears-c2').map((a) => a.index), c2At);
  for (const a of alerts) {
    assert.equal(a.observed, cases[a.index]);
    assert.equal(a.week, labels[a.index]);
    assert.ok(a.observed > a.threshold - 0.05 && a.threshold > a.expected, JSON.stringify(a));
    assert.match(a.why, new RegExp(`${a.observed} cases?`));
    assert.match(a.why, a.detector === 'farrington' ? /same weeks .* previous/ : /weeks t−9 to t−3/);
  }
  // The early-1995 rise Farrington et al. discuss: flagged against the previous years.
  assert.ok(alerts.some((a) => a.detector === 'farrington' && a.week === '1995-w04'));
});

test('providers\' reports add up per condition and region; a suppressed cell stays marked', () => {
  const cell = (condition: string, region: string, week: string, cases: number | '<5') => ({ condition, region, week, cases }) as WeeklyCaseCell;
  const [flu, salmonella] = combineReports([
    [cell('influenza', 'MA', '2024-W01', 7), cell('influenza', 'MA', '2024-W02', '<5'), cell('salmonellosis', 'MA', '2024-W01', 0)],
    [cell('influenza', 'MA', '2024-W01', 5), cell('influenza', 'MA', '2024-W02', 6)],
  ]);
  assert.deepEqual([flu?.condition, flu?.weeks, flu?.counts, flu?.suppressed, flu?.providers], ['influenza', ['2024-W01', '2024-W02'], [12, 8.5], [false, true], 2]);
  assert.deepEqual([salmonella?.counts, salmonella?.providers], [[0], 1]);
  assert.equal(flu?.source, 'providers');
});

test('week labels after the last one, in the series\' own convention', () => {
  assert.deepEqual(weeksAfter('2020-W52', 2), ['2020-W53', '2021-W01']);
  assert.deepEqual(weeksAfter('1995-w51', 3), ['1995-w52', '1996-w01', '1996-w02']);
  assert.deepEqual(weeksAfter('2011-12-26', 1), ['2012-01-02']);
  assert.deepEqual(lastWeeks(new Date('2021-01-05T12:00:00Z'), 3), { from: '2020-W52', to: '2021-W01' });
});

test('the forecast report on the Salmonella Agona series: three methods with their bands, and alerts', async () => {
  const salmonella = referenceSeries().find((s) => s.condition === 'salmonellosis' && s.region === 'UK')!;
  assert.match(salmonella.citation ?? '', /Farrington/);
  const report = outbreakReport(await loadArima(), salmonella, 4);
  assert.deepEqual(report.forecastWeeks, ['1996-w01', '1996-w02', '1996-w03', '1996-w04']);
  assert.deepEqual(report.unavailable, {});
  for (const method of ['arima', 'naive', 'seasonalNaive'] as const) {
    const band = report.forecasts[method]!;
    for (const key of ['mean', 'lower80', 'upper80', 'lower95', 'upper95'] as const) assert.equal(band[key].length, 4, `${method} ${key}`);
    for (let h = 0; h < 4; h++) assert.ok(band.lower95[h]! <= band.lower80[h]! && band.lower80[h]! <= band.upper80[h]! && band.upper80[h]! <= band.upper95[h]!);
  }
  assert.deepEqual(report.forecasts.naive!.mean, new Array(4).fill(salmonella.counts.at(-1)));
  assert.ok(report.alerts.length > 0);
  assert.throws(() => outbreakReport(report as never, salmonella, 5), /horizon must be 1 to 4/);

  // A series too short for a year of history: seasonal naive and ARIMA say why they are missing.
  const short = { ...salmonella, weeks: salmonella.weeks.slice(0, 40), counts: salmonella.counts.slice(0, 40), suppressed: salmonella.suppressed.slice(0, 40) };
  const shortReport = outbreakReport(await loadArima(), short, 2);
  assert.equal(shortReport.forecasts.seasonalNaive, null);
  assert.match(shortReport.unavailable.seasonalNaive ?? '', /year of history/);
  assert.ok(shortReport.forecasts.naive);
});
