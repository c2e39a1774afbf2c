/**
 * ML fed only by consented data, with model provenance on chain (issue 6): the model registry's
 * rules and events; consented extraction through a real gatekeeper, where a revoked patient is out
 * of the next training set and the on-chain record names the consent set actually used; federated
 * averaging over four UCI hospitals, each a provider with its own store and gatekeeper, recording
 * every round, with only aggregates leaving a site.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { decodeEventLog, keccak256, stringToHex, zeroAddress, type Address, type Hex } from 'viem';
import { modelRegistryAbi } from '../src/chain/generated/contracts.js';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { consentSetHash } from '../src/ml/consent-set.js';
import { HEART_FEATURES, HEART_HOSPITALS, loadHeartDisease, type HeartHospital } from '../src/ml/data.js';
import { CARDIO_VIEW, LOINC, SNOMED } from '../src/ml/features.js';
import { fedTrain, type RoundReport } from '../src/ml/federated.js';
import { federatedConsentSetHash, openProviderSite, trainFederatedAndRecord, type ProviderSite } from '../src/ml/federated-research.js';
import { hashModel, trainLogistic } from '../src/ml/logistic.js';
import { takeLabels, takeRows } from '../src/ml/matrix.js';
import { extractConsentedRows } from '../src/ml/research.js';
import { heartPatientAddress, heartPatientId, heartRowToFhir, heartRowsFromFhir, researchConsent } from '../src/ml/uci-fhir.js';
import { readSummary } from '../src/sdk/summary.js';
import { grantViewer, LedgerError, revokeAccreditation, revokeViewer, type LedgerClient } from '../src/sdk/index.js';
import { lastModelRound, modelHistory, modelIdOf, modelRecordOf, recordModelRound, sortAddresses, writeModelRegistry } from '../src/sdk/models.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor } from './helpers/gatekeeper.js';
import { testDatabase } from './helpers/db.js';

const h = (s: string): Hex => keccak256(stringToHex(s));
const ZERO: Hex = `0x${'0'.repeat(64)}`;

let f: Fixture;
/** Four accredited providers, each running its own gatekeeper over its own store (the four UCI hospitals). */
let providers: LedgerClient[];
let gatekeepers: RunningGatekeeper[] = [];

before(async () => {
  f = await startFixture();
  providers = [];
  for (let i = 0; i < 4; i++) providers.push(await f.newProvider());
  gatekeepers = await Promise.all(providers.map(async (ledger) => startGatekeeper({ ledger, database: await testDatabase() })));
});
after(async () => {
  for (const gk of gatekeepers) await gk.close();
  await f?.close();
});

async function refusal(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LedgerError, String(err));
    return err;
  }
  assert.fail('expected the contract to refuse');
}

// ---------------------------------------------------------------------------------------------
// Contract

test('model registry: a round is recorded with its consent set and providers, looked up by recorder and model hash', async (t) => {
  const recorder = f.as(await f.newAccount());
  const other = f.as(await f.newAccount());
  const four = providers.map((p) => p.account!.address);
  const modelId = modelIdOf('registry-rules');

  const first = await recordModelRound(recorder, { modelId, round: 1, modelHash: h('m1'), consentSetHash: h('c1'), providers: four });
  assert.deepEqual(first.providers, sortAddresses(four));
  const second = await recordModelRound(recorder, { modelId, round: 2, modelHash: h('m2'), consentSetHash: h('c1'), providers: four });
  const single = await recordModelRound(recorder, { modelId: modelIdOf('one-provider'), round: 1, modelHash: h('m3'), consentSetHash: h('c3'), providers: four.slice(0, 1) });
  t.diagnostic(`gas recordModelRound: 4 providers first round ${first.gasUsed}, next round ${second.gasUsed}; 1 provider first round ${single.gasUsed}`);
  assert.ok(first.gasUsed <= 130_000n && second.gasUsed <= 110_000n, `gas ${first.gasUsed} / ${second.gasUsed}`);

  const record = await modelRecordOf(other, { recorder: recorder.account!.address, modelHash: h('m2') });
  assert.deepEqual(record, { consentSetHash: h('c1'), round: 2, recordedAt: second.blockNumber });
  // A record is its recorder's claim: nobody else has one for this model.
  assert.equal(await modelRecordOf(other, { recorder: other.account!.address, modelHash: h('m2') }), undefined);
  assert.equal(await lastModelRound(other, { recorder: recorder.account!.address, modelId }), 2);

  // The event carries everything, indexed by model id, model hash and recorder.
  const history = await modelHistory(other, { modelId });
  assert.deepEqual(
    history.map((r) => [r.round, r.modelHash, r.consentSetHash, r.recorder, r.providers]),
    [
      [1, h('m1'), h('c1'), recorder.account!.address, sortAddresses(four)],
      [2, h('m2'), h('c1'), recorder.account!.address, sortAddresses(four)],
    ],
  );
  assert.deepEqual((await modelHistory(other, { modelHash: h('m3') })).map((r) => r.modelId), [modelIdOf('one-provider')]);
  const receipt = await other.publicClient.getTransactionReceipt({ hash: first.transactionHash });
  const event = decodeEventLog({ abi: modelRegistryAbi, ...receipt.logs[0]! });
  assert.equal(receipt.logs[0]!.address.toLowerCase(), other.modelRegistry!.toLowerCase(), 'recorded in the ModelRegistry, not MedLedger');
  assert.equal(event.eventName, 'ModelRoundRecorded');
});

test('model registry: refusals name the broken rule', async () => {
  const recorder = f.as(await f.newAccount());
  const other = f.as(await f.newAccount());
  const [a, b] = sortAddresses(providers.slice(0, 2).map((p) => p.account!.address)) as [Address, Address];
  const modelId = modelIdOf('refusals');
  const base = { modelId, round: 1, modelHash: h('r1'), consentSetHash: h('c'), providers: [a] };

  for (const bad of [{ modelId: ZERO }, { modelHash: ZERO }, { consentSetHash: ZERO }, { round: 0 }]) {
    assert.equal((await refusal(recordModelRound(recorder, { ...base, ...bad }))).errorName, 'InvalidModelRecord', JSON.stringify(bad));
  }
  // Providers: given, ascending, no duplicates, no zero address (raw calls: the SDK would sort).
  const raw = (list: Address[]) => writeModelRegistry(recorder, [modelId, 1, h('r1'), h('c'), list]);
  for (const list of [[], [b, a], [a, a], [zeroAddress, a]]) assert.equal((await refusal(raw(list))).errorName, 'ProvidersNotSorted', list.join(','));
  // Only accredited providers may be named: never a patient's (or anyone else's) address.
  const notProvider = await refusal(recordModelRound(recorder, { ...base, providers: [a, other.account!.address] }));
  assert.equal(notProvider.errorName, 'NotAccredited');
  assert.equal(notProvider.errorArgs[0], other.account!.address);

  await recordModelRound(recorder, base);
  // Rounds only go up; the same model hash is recorded once per recorder.
  const again = await refusal(recordModelRound(recorder, { ...base, modelHash: h('r2') }));
  assert.deepEqual([again.errorName, again.errorArgs], ['RoundNotAfter', [1]]);
  assert.equal((await refusal(recordModelRound(recorder, { ...base, round: 5 }))).errorName, 'ModelAlreadyRecorded');
  await recordModelRound(recorder, { ...base, round: 5, modelHash: h('r5') }); // rounds may skip
  // Another recorder's model id and records are their own: the same id and hash do not collide.
  await recordModelRound(other, base);
  assert.equal((await modelRecordOf(other, { recorder: other.account!.address, modelHash: h('r1') }))?.round, 1);
  assert.equal(await lastModelRound(other, { recorder: recorder.account!.address, modelId }), 5);

  // A provider that lost its accreditation can no longer be named.
  const lapsed = await f.newProvider();
  await revokeAccreditation(f.governor, { provider: lapsed.account!.address });
  assert.equal((await refusal(recordModelRound(recorder, { ...base, round: 6, modelHash: h('r6'), providers: [lapsed.account!.address] }))).errorName, 'NotAccredited');
});

// ---------------------------------------------------------------------------------------------
// Consented extraction through a gatekeeper

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CORONARY = { name: 'coronaryDisease', kind: 'condition', snomed: '53741008' } as const;

/** A patient's chart at the provider: demographics, a blood pressure, a cholesterol and maybe coronary disease. */
function chart(patientId: string, { systolic, cholesterol, coronary }: { systolic: number; cholesterol: number; coronary: boolean }): Resource[] {
  const subject = { reference: `Patient/${patientId}` };
  const obs = (category: string, code: string, value: number, unit: string): Resource => ({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: LAB, code: category }] }],
    code: { coding: [{ system: LOINC, code }] },
    subject,
    effectiveDateTime: '2024-03-01',
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  });
  return [
    obs('vital-signs', '8480-6', systolic, 'mm[Hg]'),
    obs('laboratory', '2093-3', cholesterol, 'mg/dL'),
    ...(coronary
      ? [{ resourceType: 'Condition', subject, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }], code: { coding: [{ system: SNOMED, code: '53741008' }] } } as Resource]
      : []),
  ];
}

test('consented extraction: a revoked patient is absent from the next training set; the model record names the consent set used', async () => {
  // The first provider's store; the federated test's research Consents there do not cover these patients.
  const provider = providers[0]!;
  const gk = gatekeepers[0]!;
  const researcher = f.as(await f.newAccount());
  const people = [
    { name: 'ann', gender: 'female', birthDate: '1950-04-02', systolic: 151, cholesterol: 241, coronary: true },
    { name: 'bob', gender: 'male', birthDate: '1961-09-15', systolic: 137, cholesterol: 263, coronary: false },
    { name: 'cat', gender: 'female', birthDate: '1972-01-20', systolic: 119, cholesterol: 188, coronary: false },
  ] as const;
  const patients: Record<string, { client: LedgerClient; address: Address }> = {};
  for (const p of people) {
    const client = await f.newPatient(provider, `urn:test:ml|${p.name}`);
    const local = await gk.store.create({ resourceType: 'Patient', name: [{ family: p.name }], gender: p.gender, birthDate: p.birthDate, identifier: [{ system: 'urn:test:mrn', value: p.name }] });
    await linkPatient(gk.store, provider, local.id!, `urn:test:ml|${p.name}`, PEPPER);
    await publishRecord(gk.store, provider, await gk.store.read('Patient', local.id!));
    for (const r of chart(local.id!, p)) await publishRecord(gk.store, provider, await gk.store.create(r));
    patients[p.name] = { client, address: client.account!.address };
    // The patient shares every pointer the provider holds for them with the researcher.
    const summary = await readSummary(client, client.account!.address);
    const rel = summary.relationships[0]!;
    assert.deepEqual(rel.pointers.map((x) => x.query).sort(), ['Condition?category=problem-list-item', 'Observation?category=laboratory', 'Observation?category=vital-signs', 'Patient'].filter((q) => p.coronary || !q.startsWith('Condition')));
    for (const { query } of rel.pointers) await grantViewer(client, { relationshipId: BigInt(rel.id), viewer: researcher.account!.address, scope: query, expiresAt: 0 });
  }
  const extract = () =>
    extractConsentedRows({
      ledger: researcher,
      researcher: researcher.account!.address,
      gatekeeperFor: (p) => (p === provider.account!.address ? clientFor(gk, provider, researcher.account!) : undefined),
      view: CARDIO_VIEW,
      label: CORONARY,
      salt: 'study-42-secret',
      asOf: new Date('2025-01-01'),
    });
  const column = (rows: Awaited<ReturnType<typeof extract>>['rows'], name: string) => {
    const c = rows.columns.indexOf(name);
    return Array.from({ length: rows.x.rows }, (_, i) => rows.x.data[i * rows.x.cols + c]!).sort((a, b) => a - b);
  };

  const all = await extract();
  const everyone = people.map((p) => patients[p.name]!.address);
  assert.deepEqual(all.consentingPatients, sortAddresses(everyone));
  assert.deepEqual(all.skipped, []);
  assert.equal(all.consentSetHash, consentSetHash(everyone));
  assert.deepEqual(all.providers, [provider.account!.address]);
  assert.deepEqual(column(all.rows, 'systolicBp'), [119, 137, 151]);

  // Bob withdraws every grant he gave the researcher.
  const bob = patients.bob!;
  const bobSummary = await readSummary(bob.client, bob.address);
  for (const g of bobSummary.relationships[0]!.grants) await revokeViewer(bob.client, { relationshipId: BigInt(bobSummary.relationships[0]!.id), viewer: g.viewer, scope: g.scope });

  const data = await extract();
  const remaining = [patients.ann!.address, patients.cat!.address];
  assert.deepEqual(data.consentingPatients, sortAddresses(remaining));
  assert.equal(data.consentSetHash, consentSetHash(remaining));
  assert.notEqual(data.consentSetHash, all.consentSetHash);
  assert.equal(data.rows.x.rows, 2);
  assert.deepEqual(column(data.rows, 'systolicBp'), [119, 151], "Bob's 137 mmHg is gone");
  assert.deepEqual(column(data.rows, 'totalCholesterol'), [188, 241]);
  assert.deepEqual([...data.labels!].sort(), [0, 1]);
  // Ages come from birth dates shifted by up to 180 days: within a year of the true 52 and 74.
  column(data.rows, 'age').forEach((age, i) => assert.ok(Math.abs(age - [52, 74][i]!) <= 1, `age ${age}`));
  // De-identified: pseudonyms only; no local id, name or identifier survives.
  const locals = (await gk.store.search('Patient', '_count=10')).resources.map((r) => r.id!);
  for (const id of data.rows.patients) assert.match(id, /^[0-9a-f]{32}$/);
  assert.ok(!data.rows.patients.some((id) => locals.includes(id)));

  // Train on exactly this set and record it; anyone can look the model up by its file's hash.
  const features = data.rows.columns.map((name) => ({ name, kind: 'numeric' as const }));
  const model = trainLogistic({ features, x: data.rows.x, y: data.labels! }, { lambda: 3 });
  const modelHash = hashModel(model);
  await recordModelRound(researcher, { modelId: modelIdOf('cardio-study-42'), round: 1, modelHash, consentSetHash: data.consentSetHash, providers: data.providers });
  const anyone = f.as(await f.newAccount());
  const record = await modelRecordOf(anyone, { recorder: researcher.account!.address, modelHash });
  assert.equal(record?.consentSetHash, consentSetHash(remaining));
  const [event] = await modelHistory(anyone, { modelHash });
  assert.deepEqual(event!.providers, [provider.account!.address]);
});

// ---------------------------------------------------------------------------------------------
// Federated over the four UCI hospitals

const PER_HOSPITAL = 15;
/** Row 3 of every hospital never consented to research. */
const NEVER_CONSENTED = 2;

/** Leaves of a JSON-like value: every one must be a finite number (what may leave a site). */
function assertOnlyNumbers(value: unknown, path = 'result'): void {
  if (typeof value === 'number') return assert.ok(Number.isFinite(value), `${path} is ${value}`);
  assert.ok(value !== null && typeof value === 'object' && !ArrayBuffer.isView(value), `${path} is ${typeof value}`);
  for (const [k, v] of Object.entries(value)) assertOnlyNumbers(v, `${path}.${k}`);
}

test('federated over 4 hospital providers: only aggregates leave a site, each round is recorded with its providers and consent set', async (t) => {
  const stores: Record<HeartHospital, RunningGatekeeper> = {} as Record<HeartHospital, RunningGatekeeper>;
  const expectedConsenting: Record<HeartHospital, number[]> = {} as Record<HeartHospital, number[]>;
  for (const [k, hospital] of HEART_HOSPITALS.entries()) {
    const gk = gatekeepers[k]!;
    stores[hospital] = gk;
    const set = loadHeartDisease(hospital);
    const resources: Resource[] = [];
    for (let i = 0; i < PER_HOSPITAL; i++) {
      resources.push(...heartRowToFhir(hospital, i, set.x.data.subarray(i * 13, (i + 1) * 13), set.y[i]!));
      if (i !== NEVER_CONSENTED) resources.push(researchConsent(heartPatientId(hospital, i), true));
    }
    await gk.store.createMany(resources); // validated against FHIR R4
    expectedConsenting[hospital] = Array.from({ length: PER_HOSPITAL }, (_, i) => i).filter((i) => i !== NEVER_CONSENTED);
  }
  const open = () => Promise.all(HEART_HOSPITALS.map((hsp, k) => openProviderSite(stores[hsp].store, { name: hsp, provider: providers[k]!.account!.address })));
  const options = { features: HEART_FEATURES, lambda: 3, missingIndicatorShare: 0.1, rounds: 4 };
  const coordinator = f.as(await f.newAccount());
  const modelId = modelIdOf('uci-heart-federated');

  // The same rows in memory, straight from the files: what fedTrain reports is the reference.
  const reference = async (consenting: Record<HeartHospital, number[]>, rounds: number) => {
    const reports: RoundReport[] = [];
    const sites = HEART_HOSPITALS.map((hsp) => {
      const set = loadHeartDisease(hsp);
      return { name: hsp, x: takeRows(set.x, consenting[hsp]), y: takeLabels(set.y, consenting[hsp]) };
    });
    const { model } = await fedTrain(sites, { ...options, rounds }, (r) => void reports.push(r));
    return { model, reports };
  };
  const siteHash = (hsp: HeartHospital, rows: number[]) => consentSetHash(rows.map((i) => heartPatientAddress(hsp, i)));

  let sites: ProviderSite[] = await open();
  // Nothing but numbers crosses: counts, sums, sums of squares, coefficients.
  const cleveland = sites[0]!;
  const sums = await cleveland.featureSums();
  assertOnlyNumbers(sums);
  assert.equal(sums.rows, PER_HOSPITAL - 1);
  const { model: ref1 } = await reference(expectedConsenting, options.rounds);
  assertOnlyNumbers(await cleveland.encodedSums(ref1.encoder));
  const update = await cleveland.localUpdate(ref1.encoder, new Array(ref1.coefficients.length + 1).fill(0), { penaltyShare: 1, steps: 1, learningRate: 1 });
  assertOnlyNumbers(update);
  assert.ok(Array.isArray(update) && update.length === ref1.coefficients.length + 1);
  assert.deepEqual(Object.keys(sums).sort(), ['present', 'rows', 'sum']);
  for (const s of sites) assert.match(s.consentSetHash, /^0x[0-9a-f]{64}$/);

  const run = await trainFederatedAndRecord(coordinator, { modelId, sites, options });
  const { model, reports } = await reference(expectedConsenting, options.rounds);
  assert.equal(run.modelHash, hashModel(model), 'the federation over the stores trains exactly the model fedTrain trains on the same rows');
  assert.deepEqual(run.recorded.map((r) => r.modelHash), reports.map((r) => r.modelHash));
  t.diagnostic(`recordModelRound with 4 providers: ${run.recorded.map((r) => r.gasUsed).join(', ')} gas`);

  // On chain: one event per round, the four providers, and the consent set recomputed from scratch.
  const fourProviders = sortAddresses(providers.map((p) => p.account!.address));
  const expectedHash = federatedConsentSetHash(HEART_HOSPITALS.map((hsp, k) => ({ provider: providers[k]!.account!.address, consentSetHash: siteHash(hsp, expectedConsenting[hsp]) })));
  const history = await modelHistory(f.as(await f.newAccount()), { modelId, recorder: coordinator.account!.address });
  assert.deepEqual(history.map((e) => e.round), [1, 2, 3, 4]);
  for (const [i, e] of history.entries()) {
    assert.deepEqual(e.providers, fourProviders);
    assert.equal(e.consentSetHash, expectedHash);
    assert.equal(e.modelHash, reports[i]!.modelHash);
  }
  assert.equal(history.at(-1)!.modelHash, hashModel(model));
  assert.equal(run.consentSetHash, expectedHash);
  assert.deepEqual(run.sites.map((s) => [s.name, s.rows]), HEART_HOSPITALS.map((hsp) => [hsp, PER_HOSPITAL - 1]));

  // A Cleveland patient withdraws: the next run leaves them out, its rounds continue the history,
  // and its consent set is the new one.
  const withdrawing = 5;
  await stores.cleveland.store.update(researchConsent(heartPatientId('cleveland', withdrawing), false));
  sites = await open();
  const after = { ...expectedConsenting, cleveland: expectedConsenting.cleveland.filter((i) => i !== withdrawing) };
  const rerun = await trainFederatedAndRecord(coordinator, { modelId, sites, options: { ...options, rounds: 2 } });
  assert.equal(rerun.sites[0]!.rows, PER_HOSPITAL - 2);
  assert.equal(rerun.sites[0]!.consentSetHash, siteHash('cleveland', after.cleveland));
  assert.equal(rerun.modelHash, hashModel((await reference(after, 2)).model));
  const record = await modelRecordOf(coordinator, { recorder: coordinator.account!.address, modelHash: rerun.modelHash });
  assert.equal(record?.round, 6);
  assert.equal(record?.consentSetHash, federatedConsentSetHash(HEART_HOSPITALS.map((hsp, k) => ({ provider: providers[k]!.account!.address, consentSetHash: siteHash(hsp, after[hsp]) }))));
  assert.notEqual(record?.consentSetHash, expectedHash);
});

test('UCI rows → FHIR → rows is exact for every hospital (the federated test stores a subset, validated)', () => {
  for (const hospital of HEART_HOSPITALS) {
    const set = loadHeartDisease(hospital);
    const rows = Array.from({ length: set.x.rows }, (_, i) => i);
    const resources = rows.flatMap((i) => heartRowToFhir(hospital, i, set.x.data.subarray(i * 13, (i + 1) * 13), set.y[i]!));
    const back = heartRowsFromFhir(resources);
    assert.equal(back.x.rows, set.x.rows);
    for (let k = 0; k < set.x.data.length; k++) {
      const a = set.x.data[k]!;
      const b = back.x.data[k]!;
      assert.ok(a === b || (Number.isNaN(a) && Number.isNaN(b)), `${hospital} row ${Math.floor(k / 13)} ${HEART_FEATURES[k % 13]!.name}: ${a} vs ${b}`);
    }
    assert.deepEqual([...back.y], [...set.y]);
    assert.equal(back.addresses[0], heartPatientAddress(hospital, 0));
  }
});
