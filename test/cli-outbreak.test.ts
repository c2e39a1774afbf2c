/**
 * `medledger outbreak` with the real binary: a forecast table and `--json` on the real Salmonella
 * Agona series, one-line errors with exit code 1, and a forecast on the weekly counts a provider's
 * gatekeeper reports to the demo public-health officer (a running `medledger start --chain-only`),
 * named with --gatekeeper or found in the data directory's gatekeeper directory.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { createLedgerClient } from '../src/chain/client.js';
import { openChain, type ChainRuntime } from '../src/chain/runtime.js';
import { readConfig } from '../src/config.js';
import { surveillanceConsent } from '../src/consent/surveillance.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { loadUsers, unlockUser } from '../src/keys/users.js';
import { announceGatekeepers } from '../src/manager/gatekeeper-directory.js';
import { surveillanceReporting } from '../src/manager/outbreak-source.js';
import { tempDir } from '../bench/harness/chain.js';
import { cliEnv, runCli, startCli, type StartedCli, cliSucceeds, cliFailsInOneLine } from './helpers/cli.js';
import { testDatabase } from './helpers/db.js';

const dataDir = tempDir('medledger-cli-outbreak-');
const env = cliEnv(dataDir);
let started: StartedCli | undefined;
let runtime: ChainRuntime | undefined;
let gk: RunningGatekeeper | undefined;

after(async () => {
  await gk?.close();
  await runtime?.stop();
  await started?.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

const ok = async (args: string[]) => (await cliSucceeds(args, env)).stdout;

const fails = (args: string[], message: RegExp) => cliFailsInOneLine(args, env, message, { quiet: true });

test('outbreak forecast: a table of the three forecasts with their bands, and the alerts', async () => {
  const out = await ok(['outbreak', 'forecast', '--condition', 'salmonellosis', '--region', 'UK']);
  assert.match(out, /^Salmonella Agona, United Kingdom/);
  assert.match(out, /source: Farrington, Andrews, Beale & Catchpole \(1996\)/);
  for (const week of ['1996-w01', '1996-w02', '1996-w03', '1996-w04']) assert.match(out, new RegExp(`^${week}\\s+\\d`, 'm'));
  assert.match(out, /arima: forecast \[80 %\] \[95 %\]\s+naive: .*seasonalNaive/);
  assert.match(out, /alerts in the last 52 weeks/);
  assert.match(out, /1995-w04 {2}Farrington-style: 10 cases/);
});

test('outbreak forecast --json --horizon 2: the API\'s report', async () => {
  const report = JSON.parse(await ok(['outbreak', 'forecast', '--condition', 'salmonellosis', '--region', 'UK', '--horizon', '2', '--json'])) as {
    horizon: number; forecastWeeks: string[]; counts: number[]; forecasts: Record<string, { mean: number[]; lower95: number[]; upper95: number[] }>; alerts: unknown[];
  };
  assert.equal(report.horizon, 2);
  assert.deepEqual(report.forecastWeeks, ['1996-w01', '1996-w02']);
  assert.equal(report.counts.length, 312);
  assert.deepEqual(Object.keys(report.forecasts), ['arima', 'naive', 'seasonalNaive']);
  for (const band of Object.values(report.forecasts)) assert.equal(band.upper95.length, 2);
  assert.ok(report.alerts.length > 0);
  const listed = JSON.parse(await ok(['outbreak', 'series', '--json'])) as { series: { condition: string; region: string }[] };
  assert.deepEqual(listed.series.map((s) => `${s.condition}/${s.region}`), ['salmonellosis/UK', 'influenza/DE', 'campylobacteriosis/DE']);
});

test('outbreak forecast: one-line errors and exit code 1', async () => {
  await fails(['outbreak', 'forecast', '--condition', 'plague', '--region', 'UK'], /^medledger: no series for condition "plague"; known: salmonellosis, influenza, campylobacteriosis$/m);
  await fails(['outbreak', 'forecast', '--condition', 'salmonellosis', '--region', 'FR'], /^medledger: no salmonellosis series for region "FR"; its regions: UK$/m);
  await fails(['outbreak', 'forecast', '--condition', 'salmonellosis', '--region', 'UK', '--horizon', '6'], /--horizon must be a whole number of weeks from 1 to 4/);
  await fails(['outbreak', 'forecast', '--condition', 'salmonellosis', '--region', 'UK', '--gatekeeper', 'st-marys'], /use provider=url/);
  await fails(['outbreak', 'forecast', '--condition', 'salmonellosis', '--region', 'UK', '--gatekeeper', 'st-marys=http://127.0.0.1:9'], /needs --as <public-health user>/);
});

test('outbreak forecast --gatekeeper: the counts a provider reports to the public-health officer', { timeout: 300_000 }, async () => {
  started = await startCli(env);
  runtime = await openChain(readConfig({ ...env }));
  const stMarys = createLedgerClient(runtime.deployment, { account: unlockUser(dataDir, 'st-marys') });
  gk = await startGatekeeper({ ledger: stMarys, database: await testDatabase(), surveillance: surveillanceReporting(loadUsers(dataDir)) });
  // Six consenting patients with influenza two weeks ago, one who declined.
  const onset = new Date(Date.now() - 14 * 86_400_000).toISOString().slice(0, 10);
  const ids = Array.from({ length: 7 }, (_, i) => `p${i}`);
  await gk.store.createMany([
    ...ids.map((id) => ({ resourceType: 'Patient' as const, id, address: [{ use: 'home' as const, state: 'MA' }] })),
    ...ids.map((id, i) => surveillanceConsent(id, { active: i < 6 })),
    ...ids.map((id) => ({ resourceType: 'Condition' as const, subject: { reference: `Patient/${id}` }, code: { coding: [{ system: 'http://snomed.info/sct', code: '6142004' }] }, onsetDateTime: onset })),
  ]);
  const args = ['outbreak', 'forecast', '--condition', 'influenza', '--region', 'MA', '--gatekeeper', `st-marys=${gk.url}`, '--weeks', '60', '--json'];
  const report = JSON.parse(await ok(['--as', 'dana', ...args])) as { source: string; counts: number[]; providers: number };
  assert.equal(report.source, 'providers');
  assert.equal(report.providers, 1);
  assert.equal(report.counts.length, 60);
  assert.deepEqual(report.counts.filter((c) => c > 0), [6]);
  // Beside a running system (its gatekeepers announced in the data directory) no --gatekeeper is needed.
  announceGatekeepers(dataDir, new Map([[stMarys.account!.address, gk.url]]));
  const found = JSON.parse(await ok(['--as', 'dana', ...args.filter((a, i) => a !== '--gatekeeper' && args[i - 1] !== '--gatekeeper')])) as { counts: number[] };
  assert.deepEqual(found.counts, report.counts);
  // A user the provider does not report to is refused by the gatekeeper, and so has no such series.
  const r = await runCli(['--as', 'carol', ...args], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not reported: st-marys: gatekeeper answered 403: 0x[0-9a-fA-F]{40} is not a public-health authority/);
  assert.match(r.stderr, /medledger: no influenza series for region "MA"; its regions: DE/);
});
