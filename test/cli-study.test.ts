/**
 * `medledger study` with the real binary, against a running `medledger start --chain-only` and three
 * providers' gatekeepers (the demo's st-marys and city-lab, and one more) serving heart rows of
 * patients enrolled by their own signatures: create (table and --json), status with each site's
 * consent count, run with secure aggregation over HTTP, results checked against the chain, and
 * one-line errors with exit code 1.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient, type LedgerClient } from '../src/chain/client.js';
import { openChain, type ChainRuntime } from '../src/chain/runtime.js';
import { readConfig } from '../src/config.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { unlockUser } from '../src/keys/users.js';
import { HEART_HOSPITALS, loadHeartDisease } from '../src/ml/data.js';
import { createHeartResearchSite } from '../src/ml/research/site.js';
import { heartRowToFhir } from '../src/ml/uci-fhir.js';
import { enrollWithSignatures, signEnrollment, studyOf } from '../src/sdk/studies.js';
import { hashIdentity, loadPepper } from '../src/sdk/identity.js';
import { accreditProvider } from '../src/sdk/registrar.js';
import { tempDir } from '../bench/harness/chain.js';
import { cliEnv, cliFailsInOneLine, cliSucceeds, startCli, type StartedCli } from './helpers/cli.js';
import { testDatabase } from './helpers/db.js';

const dataDir = tempDir('medledger-cli-study-');
const env = cliEnv(dataDir);
const ROWS = 12;
let started: StartedCli | undefined;
let runtime: ChainRuntime | undefined;
let carol: LedgerClient;
const sites: { name: string; gk: RunningGatekeeper; patients: LocalAccount[] }[] = [];
let studyId: Hex;

const ok = async (args: string[]) => (await cliSucceeds(args, env)).stdout;
const fails = (args: string[], message: RegExp) => cliFailsInOneLine(args, env, message, { quiet: true });
const gatekeepers = () => sites.flatMap((s) => ['--gatekeeper', `${s.name}=${s.gk.url}`]);

function writeDefinition(file: string, changes: { minSites?: number } = {}): string {
  const path = join(dataDir, file);
  const definition = {
    version: 1,
    title: 'Heart-disease risk across three providers',
    sponsor: { name: 'Carol Research', address: carol.account!.address },
    purpose: 'Learn which work-up findings predict coronary disease',
    data: { features: ['age', 'sex', 'cp', 'thalach'] },
    inclusion: 'adults with a heart work-up',
    model: { type: 'logistic-regression', rounds: 2, learningRate: 0.5, siteIntercept: true },
    privacy: { epsilon: 4, delta: 1e-5, clip: 1, minSites: changes.minSites ?? 3 },
    expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(),
  };
  writeFileSync(path, JSON.stringify(definition));
  return path;
}

before(async () => {
  started = await startCli(env);
  runtime = await openChain(readConfig({ ...env }));
  const deployment = runtime.deployment;
  carol = createLedgerClient(deployment, { account: unlockUser(dataDir, 'carol') });
  const third = privateKeyToAccount(generatePrivateKey());
  await runtime.fund(third.address);
  // Every site of a round must be an accredited provider (the demo's two are).
  const governor = createLedgerClient(deployment, { account: runtime.governor! });
  await accreditProvider(governor, { provider: third.address, identityHash: hashIdentity(`provider|${third.address}`, loadPepper(dataDir)) });
  const providers = [
    { name: 'st-marys', account: unlockUser(dataDir, 'st-marys') },
    { name: 'city-lab', account: unlockUser(dataDir, 'city-lab') },
    { name: third.address, account: third },
  ];
  for (const [i, { name, account }] of providers.entries()) {
    const gk = await startGatekeeper({ ledger: createLedgerClient(deployment, { account }), database: await testDatabase(), research: createHeartResearchSite() });
    const hospital = HEART_HOSPITALS[i]!;
    const set = loadHeartDisease(hospital);
    const patients = Array.from({ length: ROWS }, () => privateKeyToAccount(generatePrivateKey()));
    await gk.store.createMany(patients.flatMap((p, row) => heartRowToFhir(hospital, row, set.x.data.subarray(row * set.x.cols, (row + 1) * set.x.cols), set.y[row]!, p.address)));
    sites.push({ name, gk, patients });
  }
});

after(async () => {
  for (const s of sites) await s.gk.close();
  await runtime?.stop();
  await started?.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

test('study: one-line errors and exit code 1 before anything is registered', async () => {
  await fails(['study', 'create', '--definition', join(dataDir, 'missing.json'), '--as', 'carol'], /^medledger: cannot read .*missing\.json as JSON/m);
  await fails(['study', 'create', '--definition', writeDefinition('two-sites.json', { minSites: 2 }), '--as', 'carol'], /^medledger: invalid study: privacy\.minSites must be at least 3$/m);
  await fails(['study', 'create', '--definition', writeDefinition('no-sponsor.json')], /needs --as <sponsor>/);
  await fails(['study', 'status', '0x12'], /"0x12" is not a study id/);
  await fails(['study', 'status', `0x${'0'.repeat(64)}`], /no study 0x0{64} is registered on chain/);
  await fails(['study', 'run', `0x${'0'.repeat(64)}`, '--as', 'carol'], /no definition of study .* give --definition <file>/);
  await fails(['study', 'results', `0x${'0'.repeat(64)}`], /no study .* is registered/);
});

test('study create --json, then status: the chain\'s record and each site\'s consent count', async () => {
  const created = JSON.parse(await ok(['study', 'create', '--definition', writeDefinition('study.json'), '--as', 'carol', '--json'])) as { studyId: Hex; studyHash: Hex };
  studyId = created.studyId;
  assert.match(studyId, /^0x[0-9a-f]{64}$/);
  assert.equal((await studyOf(carol, studyId))?.studyHash, created.studyHash);
  // All patients of the first two sites consent, three of the third's (a count shown as "<5").
  const signed = await Promise.all(sites.flatMap((s, i) => (i < 2 ? s.patients : s.patients.slice(0, 3)).map((p) => signEnrollment(p, studyId, carol))));
  await enrollWithSignatures(carol, studyId, signed);

  const table = await ok(['study', 'status', studyId, '--as', 'carol', ...gatekeepers()]);
  assert.match(table, /^Heart-disease risk across three providers {2}0x/);
  assert.match(table, /^rounds {5}0 opened of 2; ε spent 0\.000000 of 4\.000000; at least 3 sites$/m);
  assert.match(table, new RegExp(`^enrolled {3}${2 * ROWS + 3} patients on chain$`, 'm'));
  assert.match(table, new RegExp(`^st-marys +${ROWS}$`, 'm'));
  assert.match(table, /^0x[0-9a-fA-F]{40} +<5$/m);
  const json = JSON.parse(await ok(['study', 'status', studyId, '--as', 'carol', '--json', ...gatekeepers()])) as { sites: { site: string; display: string }[]; chain: { rounds: number } };
  assert.deepEqual(json.sites.map((s) => s.display), [String(ROWS), String(ROWS), '<5']);
  assert.equal(json.chain.rounds, 0);
  // Someone else signs: the sites refuse to tell them, and the table says so.
  const stranger = await ok(['study', 'status', studyId, '--as', 'alice', ...gatekeepers()]);
  assert.match(stranger, /^st-marys +not answered: gatekeeper answered 403: .* is not the sponsor/m);
});

test('study run: rounds over the three sites, per-site results, the result on chain; results shows it; a second run is refused', { timeout: 300_000 }, async () => {
  const run = JSON.parse(await ok(['study', 'run', studyId, '--as', 'carol', '--json', ...gatekeepers()])) as {
    modelHash: Hex; consentSetHash: Hex; rounds: { sites: number }[]; sites: { name: string; evaluation?: { trainRows: number; testRows: number } }[]; card: { research: { studyId: Hex } };
  };
  assert.deepEqual(run.rounds.map((r) => r.sites), [3, 3]);
  assert.deepEqual(run.sites.map((s) => s.name), sites.map((s) => s.name));
  assert.deepEqual(run.sites.map((s) => s.evaluation!.trainRows + s.evaluation!.testRows), [ROWS, ROWS, 3]);
  assert.equal(run.card.research.studyId, studyId);
  const chain = (await studyOf(carol, studyId))!;
  assert.deepEqual([chain.result?.modelHash, chain.result?.consentSetHash, chain.rounds], [run.modelHash, run.consentSetHash, 2]);

  const table = await ok(['study', 'results', studyId]);
  assert.match(table, /^site +train rows +held-out rows +AUC +ECE/m);
  assert.match(table, /^st-marys +\d+ +\d+ /m);
  assert.match(table, new RegExp(`^model hash {8}${run.modelHash}$`, 'm'));
  assert.equal((JSON.parse(await ok(['study', 'results', studyId, '--json'])) as { modelHash: Hex }).modelHash, run.modelHash);
  await fails(['study', 'run', studyId, '--as', 'carol', ...gatekeepers()], /^medledger: study 0x[0-9a-f]{64} has already run \(2 of its rounds are opened on chain\)/m);
});
