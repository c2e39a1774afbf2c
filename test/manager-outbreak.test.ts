/**
 * The manager's public-health API (src/manager/outbreak-routes.ts) on the real reference series:
 * the series list, a forecast with its 80 % / 95 % bands beside the baselines and its alerts, and
 * clear 400/404 errors. In process (Fastify inject): no chain, no gatekeeper.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildManager } from '../src/manager/server.js';
import type { OutbreakSource } from '../src/manager/outbreak-routes.js';
import { referenceSeries } from '../src/ml/surveillance.js';

function manager(outbreak?: OutbreakSource) {
  return buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [],
    keystoreOf: () => undefined, hub: { subscribe: () => () => undefined } as never, webRoot: '/nonexistent', demo: false, outbreak,
  });
}
const app = manager({ series: async () => ({ series: referenceSeries(), failed: [] }) });

test('GET /api/outbreak/series lists conditions × regions with their source and citation, not their counts', async () => {
  const res = await app.inject('/api/outbreak/series');
  assert.equal(res.statusCode, 200);
  const { series } = res.json() as { series: Record<string, unknown>[] };
  assert.deepEqual(series.map((s) => `${s.condition}/${s.region}`), ['salmonellosis/UK', 'influenza/DE', 'campylobacteriosis/DE']);
  const salmonella = series[0]!;
  assert.deepEqual([salmonella.source, salmonella.weeks, salmonella.first, salmonella.last, salmonella.suppressedWeeks], ['reference', 312, '1990-w01', '1995-w52', 0]);
  assert.match(String(salmonella.citation), /Farrington, Andrews, Beale & Catchpole \(1996\)/);
  assert.ok(!('counts' in salmonella));
});

test('GET /api/outbreak/forecast: counts, three forecasts with 80/95 % bands, alerts with what fired', async () => {
  const res = await app.inject('/api/outbreak/forecast?condition=salmonellosis&region=UK&horizon=3');
  assert.equal(res.statusCode, 200);
  type Band = { mean: number[]; lower80: number[]; upper80: number[]; lower95: number[]; upper95: number[] };
  const body = res.json() as {
    weeks: string[]; counts: number[]; horizon: number; forecastWeeks: string[];
    forecasts: Record<'arima' | 'naive' | 'seasonalNaive', Band>;
    alerts: { week: string; detector: string; observed: number; expected: number; threshold: number; why: string }[];
    intervals: { method: string };
  };
  assert.equal(body.weeks.length, 312);
  assert.equal(body.counts.length, 312);
  assert.equal(body.horizon, 3);
  assert.deepEqual(body.forecastWeeks, ['1996-w01', '1996-w02', '1996-w03']);
  for (const method of ['arima', 'naive', 'seasonalNaive'] as const) {
    const band = body.forecasts[method];
    assert.equal(band.mean.length, 3, method);
    for (let h = 0; h < 3; h++) assert.ok(band.lower95[h]! <= band.lower80[h]! && band.upper80[h]! <= band.upper95[h]!, method);
  }
  // Seasonal naive is last year's same weeks.
  assert.deepEqual(body.forecasts.seasonalNaive.mean, body.counts.slice(312 - 52, 312 - 49));
  assert.match(body.intervals.method, /empirical/);
  assert.ok(body.alerts.length > 0);
  for (const a of body.alerts) {
    assert.equal(a.observed, body.counts[body.weeks.indexOf(a.week)]);
    assert.ok(['farrington', 'ears-c2'].includes(a.detector));
    assert.ok(a.threshold > a.expected && a.why.length > 20);
  }
  // The same request again gives the same answer (from the report cache).
  const again = await app.inject('/api/outbreak/forecast?condition=salmonellosis&region=UK&horizon=3');
  assert.deepEqual(again.json(), body);
});

test('GET /api/outbreak/forecast: a missing or malformed parameter is 400, an unknown series 404, each with a clear error', async () => {
  const cases: [string, number, RegExp][] = [
    ['', 400, /give condition and region/],
    ['?condition=salmonellosis', 400, /give condition and region/],
    ['?condition=salmonellosis&region=UK&horizon=5', 400, /horizon must be a whole number of weeks from 1 to 4/],
    ['?condition=salmonellosis&region=UK&horizon=0', 400, /horizon/],
    ['?condition=salmonellosis&region=UK&horizon=two', 400, /horizon/],
    ['?condition=plague&region=UK', 404, /no series for condition "plague"; known: salmonellosis, influenza, campylobacteriosis/],
    ['?condition=salmonellosis&region=FR', 404, /no salmonellosis series for region "FR"; its regions: UK/],
  ];
  for (const [query, status, error] of cases) {
    const res = await app.inject(`/api/outbreak/forecast${query}`);
    assert.equal(res.statusCode, status, query);
    assert.match((res.json() as { error: string }).error, error, query);
  }
  const none = manager();
  for (const url of ['/api/outbreak/series', '/api/outbreak/forecast?condition=salmonellosis&region=UK']) {
    const res = await none.inject(url);
    assert.equal(res.statusCode, 404);
    assert.match((res.json() as { error: string }).error, /no surveillance series/);
  }
});
