/**
 * Surveillance through a real gatekeeper: a provider reports weekly counts per condition and region
 * to its public-health authority only (a signed request; anyone else 403, unsigned 401), counting
 * only patients with an active surveillance Consent, counts 1–4 suppressed; the authority's
 * collector sums what it gets into series and the manager's API forecasts them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Condition, Consent, Patient } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import type { Decision } from '../src/gatekeeper/audit/audit.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { surveillanceConsent, surveillanceConsenters } from '../src/consent/surveillance.js';
import type { LedgerClient } from '../src/sdk/index.js';
import { GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import type { WeeklyCaseCell } from '../src/ml/aggregate.js';
import { createOutbreakSource, surveillanceReporting } from '../src/manager/outbreak-source.js';
import { buildManager } from '../src/manager/server.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, sendRaw, startTestGatekeeper } from './helpers/gatekeeper.js';

let f: Fixture;
let provider: LedgerClient;
let authority: LocalAccount;
let stranger: LocalAccount;
let gk: RunningGatekeeper;
const decisions: Decision[] = [];
const WEEKS = 'from=2024-W09&to=2024-W12';

const SNOMED = 'http://snomed.info/sct';
const patient = (id: string): Patient => ({ resourceType: 'Patient', id, address: [{ use: 'home', state: 'MA' }] });
const condition = (id: string, patientId: string, code: string, onset: string): Condition => ({
  resourceType: 'Condition', id, subject: { reference: `Patient/${patientId}` }, code: { coding: [{ system: SNOMED, code }] }, onsetDateTime: onset,
});
const FLU = '6142004';

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  authority = await f.newAccount();
  stranger = await f.newAccount();
  gk = await startTestGatekeeper(provider, {
    surveillance: surveillanceReporting([{ role: 'public-health', address: authority.address }, { role: 'third-party', address: stranger.address }]),
    onDecision: (d) => decisions.push(d),
  });
  const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const consents: Consent[] = [
    // p0–p5 opted in; p6 opted out; p7 never answered; p8 opted in, then denied; p9's consent period is over.
    ...ids.slice(0, 6).map((id) => surveillanceConsent(id)),
    surveillanceConsent('p6', { active: false }),
    surveillanceConsent('p8'),
    { ...surveillanceConsent('p8', { id: 'p8-deny' }), provision: { type: 'deny', purpose: surveillanceConsent('p8').provision!.purpose } },
    { ...surveillanceConsent('p9'), provision: { ...surveillanceConsent('p9').provision, period: { end: '2024-01-01' } } },
  ];
  await gk.store.createMany([
    ...ids.map(patient),
    ...consents,
    // Influenza in 2024-W10 for all ten: six of them consented.
    ...ids.map((id) => condition(`${id}-flu`, id, FLU, '2024-03-05')),
    // Acute respiratory infection in W11 for two consenting patients: a small cell.
    condition('p0-ari', 'p0', '195662009', '2024-03-12'),
    condition('p1-ari', 'p1', '10509002', '2024-03-13'),
    // Salmonellosis only for patients who did not consent: no series at all.
    condition('p7-sal', 'p7', '302231008', '2024-03-05'),
    condition('p8-sal', 'p8', '302231008', '2024-03-05'),
  ]);
});

after(async () => {
  await gk?.close();
  await f?.close();
});

const cellsAs = async (account: LocalAccount, query = WEEKS) => (await clientFor(gk, provider, account).get<{ cells: WeeklyCaseCell[] }>(`/surveillance/weekly-cases?${query}`)).body.cells;
const cellOf = (cells: WeeklyCaseCell[], condition: string, week: string) => cells.find((c) => c.condition === condition && c.region === 'MA' && c.week === week)?.cases;

test('consent: only patients with an active surveillance Consent are counted', () => {
  const now = new Date('2024-06-01');
  const permit = surveillanceConsent('a');
  assert.deepEqual([...surveillanceConsenters([permit, surveillanceConsent('b', { active: false })], now)], ['a']);
  const otherPurpose = { ...permit, provision: { type: 'permit' as const, purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' }] } };
  assert.equal(surveillanceConsenters([otherPurpose], now).size, 0);
  assert.equal(surveillanceConsenters([{ ...permit, provision: { ...permit.provision, period: { start: '2024-07-01' } } }], now).size, 0);
  assert.equal(surveillanceConsenters([{ ...permit, status: 'draft' }], now).size, 0);
});

test('the authority gets weekly counts of consenting patients only, 1–4 suppressed, nothing else', async () => {
  const cells = await cellsAs(authority);
  assert.equal(cellOf(cells, 'influenza', '2024-W10'), 6); // p0–p5, not p6–p9
  assert.equal(cellOf(cells, 'influenza', '2024-W09'), 0);
  assert.equal(cellOf(cells, 'acute-respiratory-infection', '2024-W11'), '<5');
  assert.equal(cells.filter((c) => c.condition === 'salmonellosis').length, 0, 'no consenting patient has salmonellosis');
  assert.equal(cells.length, 2 * 4); // two series × four weeks
  for (const c of cells) assert.deepEqual(Object.keys(c).sort(), ['cases', 'condition', 'region', 'week']);
  const text = JSON.stringify(cells);
  for (const id of ['p0', 'p7', '2024-03-05', 'Patient']) assert.ok(!text.includes(id), `the report mentions ${id}`);

  // Two more withdraw: five, then four — and four is a suppressed cell.
  await gk.store.update(surveillanceConsent('p5', { active: false }));
  assert.equal(cellOf(await cellsAs(authority), 'influenza', '2024-W10'), 5);
  await gk.store.update(surveillanceConsent('p4', { active: false }));
  assert.equal(cellOf(await cellsAs(authority), 'influenza', '2024-W10'), '<5');
});

test('refused: anyone but the authority (403), an unsigned request (401), a bad range (400)', async () => {
  for (const who of [stranger, provider.account!]) {
    await assert.rejects(cellsAs(who), (err: GatekeeperRequestError) => err.status === 403 && /not a public-health authority/.test(err.message));
  }
  const unsigned = await sendRaw(gk, provider, 'none', { method: 'GET', path: `/surveillance/weekly-cases?${WEEKS}` });
  assert.equal(unsigned.status, 401);
  for (const query of ['', 'from=2024-09&to=2024-W12', 'from=2024-W12&to=2024-W09', 'from=2000-W01&to=2024-W01']) {
    await assert.rejects(cellsAs(authority, query), (err: GatekeeperRequestError) => err.status === 400, query);
  }
  // Every decision is audited, the refusals too.
  const audited = decisions.filter((d) => d.path.startsWith('/surveillance/'));
  assert.ok(audited.some((d) => d.permitted && d.requester.toLowerCase() === authority.address.toLowerCase()));
  assert.ok(audited.some((d) => !d.permitted && d.requester.toLowerCase() === stranger.address.toLowerCase() && d.status === 403));
});

test('a gatekeeper that reports to nobody answers 404', async () => {
  const silent = await startTestGatekeeper(provider);
  try {
    await assert.rejects(clientFor(silent, provider, authority).get(`/surveillance/weekly-cases?${WEEKS}`), (err: GatekeeperRequestError) => err.status === 404);
  } finally {
    await silent.close();
  }
});

test('the authority\'s collector sums the reports into series, and the manager API serves them', async () => {
  const gatekeepers = [{ name: 'test-provider', url: gk.url, provider: gk.chain.provider }];
  const now = () => new Date('2024-03-27T12:00:00Z'); // 2024-W13
  const source = createOutbreakSource({ authority, gatekeepers, chainId: provider.chainId, weeks: 6, now });
  const { series, failed } = await source.series();
  assert.deepEqual(failed, []);
  const flu = series.find((s) => s.condition === 'influenza' && s.region === 'MA')!;
  assert.deepEqual(flu.weeks, ['2024-W08', '2024-W09', '2024-W10', '2024-W11', '2024-W12', '2024-W13']);
  assert.deepEqual(flu.suppressed, [false, false, true, false, false, false]);
  assert.equal(flu.counts[2], 2.5);
  assert.ok(series.some((s) => s.source === 'reference' && s.condition === 'salmonellosis'));

  // Someone the provider does not report to gets the reference series and the refusal, named.
  const refused = await createOutbreakSource({ authority: stranger, gatekeepers, chainId: provider.chainId, now }).series();
  assert.ok(refused.series.every((s) => s.source === 'reference'));
  assert.match(refused.failed[0] ?? '', /test-provider: gatekeeper answered 403/);

  const app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [],
    keystoreOf: () => undefined, hub: { subscribe: () => () => undefined } as never, webRoot: '/nonexistent', demo: false, outbreak: source,
  });
  const list = (await app.inject('/api/outbreak/series')).json() as { series: { condition: string; region: string; source: string; suppressedWeeks: number }[] };
  const listed = list.series.find((s) => s.condition === 'influenza' && s.region === 'MA');
  assert.deepEqual([listed?.source, listed?.suppressedWeeks], ['providers', 1]);
  const report = await app.inject('/api/outbreak/forecast?condition=influenza&region=MA&horizon=2');
  assert.equal(report.statusCode, 200);
  const body = report.json() as { counts: number[]; forecastWeeks: string[]; unavailable: Record<string, string> };
  assert.deepEqual(body.counts, flu.counts);
  assert.deepEqual(body.forecastWeeks, ['2024-W14', '2024-W15']);
  // Six weeks are too few to calibrate any band: each method says so instead of guessing.
  assert.deepEqual(Object.keys(body.unavailable).sort(), ['arima', 'naive', 'seasonalNaive']);
});
