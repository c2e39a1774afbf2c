/**
 * Plausibility limits per LOINC code (src/protocol/plausibility.ts): every lab and vital sign of the
 * demo terminology has limits in its UCUM unit; impossible values are refused by the gatekeeper on
 * create, update, patch and transaction with a 422 OperationOutcome (issue code business-rule) and
 * nothing is stored; unlikely values are stored (the form asks for a confirmation); unknown codes pass.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { LABS, VITALS, type Range } from '../src/demo/terminology.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { impossibleValues, judgeBloodPressure, judgeValue, LIMITS } from '../src/protocol/plausibility.js';
import { GatekeeperRequestError, type GatekeeperClient } from '../src/sdk/gatekeeper.js';
import type { LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, sendRaw, startTestGatekeeper } from './helpers/gatekeeper.js';

const UCUM = 'http://unitsofmeasure.org';

test('every numeric lab and vital sign of the terminology has limits in its own UCUM unit', () => {
  const coded = [...Object.values(LABS), ...Object.values(VITALS).filter((v) => v.code !== VITALS.bloodPressure.code)];
  for (const t of coded) {
    const limits = LIMITS[t.code];
    assert.ok(limits, `limits for ${t.display} (${t.code})`);
    assert.equal(limits.unit, t.unit.code, `${t.display} limits are in ${t.unit.code}`);
    for (const band of [limits.impossible, limits.unlikely]) assert.ok(band.low === undefined || band.high === undefined || band.low < band.high);
    // The unlikely band lies inside the possible one, and the normal range inside the likely one.
    assert.ok(limits.unlikely.low! >= (limits.impossible.low ?? 0) && limits.unlikely.high! <= limits.impossible.high!, t.display);
    if ('range' in t) {
      for (const sex of ['female', 'male'] as const) {
        const r: Range = t.range(sex);
        if (r.low !== undefined) assert.equal(judgeValue(t.code, r.low).level, 'ok', `${t.display} low normal`);
        if (r.high !== undefined) assert.equal(judgeValue(t.code, r.high).level, 'ok', `${t.display} high normal`);
      }
    }
  }
});

test('HbA1c: −5 % and 99,999 % are impossible, 16 % unlikely, 6.1 % ok; the words name the limits', () => {
  const negative = judgeValue(LABS.hba1c.code, -5);
  assert.equal(negative.level, 'impossible');
  assert.match(negative.message!, /HbA1c of -5 % is impossible.*between 2 and 25 %/);
  assert.equal(judgeValue(LABS.hba1c.code, 99999).level, 'impossible');
  assert.equal(judgeValue(LABS.hba1c.code, 1.9).level, 'impossible');
  assert.equal(judgeValue(LABS.hba1c.code, 25.1).level, 'impossible');
  assert.equal(judgeValue(LABS.hba1c.code, 25).level, 'unlikely');
  assert.match(judgeValue(LABS.hba1c.code, 16).message!, /very unusual.*Confirm/);
  assert.equal(judgeValue(LABS.hba1c.code, 15).level, 'ok');
  assert.equal(judgeValue(LABS.hba1c.code, 6.1).level, 'ok');
});

test('negative amounts are impossible for every code; an unknown code is never judged', () => {
  for (const code of Object.keys(LIMITS)) assert.equal(judgeValue(code, -1).level, 'impossible', code);
  assert.equal(judgeValue('12345-6', -1e9).level, 'ok');
  assert.equal(judgeValue(VITALS.bodyTemperature.code, 49).level, 'impossible');
  assert.equal(judgeValue(VITALS.bodyTemperature.code, 41.5).level, 'ok');
  assert.equal(judgeValue(VITALS.bodyTemperature.code, 42.5).level, 'unlikely');
  assert.equal(judgeValue(LABS.glucose.code, 3500).level, 'impossible');
  assert.equal(judgeValue(LABS.glucose.code, 700).level, 'unlikely');
});

test('blood pressure: systolic at or below diastolic is impossible; 270/140 unlikely; 128/82 ok', () => {
  assert.equal(judgeBloodPressure(80, 120).level, 'impossible');
  assert.match(judgeBloodPressure(80, 80).message!, /top number \(systolic\) must be higher/);
  assert.equal(judgeBloodPressure(270, 140).level, 'unlikely');
  assert.equal(judgeBloodPressure(128, 82).level, 'ok');
});

const observation = (value: number, unit: { unit: string; system?: string; code?: string } = { unit: '%', system: UCUM, code: '%' }): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: LABS.hba1c.code }] },
  subject: { reference: 'Patient/p1' },
  valueQuantity: { value, ...unit },
});

const panel = (systolic: number, diastolic: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: VITALS.bloodPressure.code }] },
  subject: { reference: 'Patient/p1' },
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: VITALS.systolic.code }] }, valueQuantity: { value: systolic, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'http://loinc.org', code: VITALS.diastolic.code }] }, valueQuantity: { value: diastolic, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
  ],
});

test('impossibleValues reads the value and the components, in the limits unit only', () => {
  assert.deepEqual(impossibleValues(observation(6.1)), []);
  assert.equal(impossibleValues(observation(-5))[0]?.expression, 'Observation.valueQuantity');
  assert.equal(impossibleValues(observation(-5, { unit: '%' })).length, 1, 'unit text naming the UCUM unit');
  assert.deepEqual(impossibleValues(observation(-5, { unit: 'mmol/mol', system: UCUM, code: 'mmol/mol' })), [], 'another unit is not comparable');
  assert.deepEqual(impossibleValues({ ...observation(-5), code: { coding: [{ system: 'http://loinc.org', code: '99999-9' }] } }), [], 'unknown code');
  assert.equal(impossibleValues(panel(600, 80))[0]?.expression, 'Observation.component[0].valueQuantity');
  assert.equal(impossibleValues(panel(80, 120))[0]?.expression, 'Observation.component');
  assert.deepEqual(impossibleValues(panel(128, 82)), []);
  assert.deepEqual(impossibleValues({ resourceType: 'Condition', valueQuantity: { value: -5 } }), []);
});

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let own: GatekeeperClient;
let patientId: string;

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  await f.newPatient(provider, 'urn:test|plausible');
  gk = await startTestGatekeeper(provider);
  patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Plausible' }] })).id;
  await linkPatient(gk.store, provider, patientId, 'urn:test|plausible', PEPPER);
  own = clientFor(gk, provider, provider.account!);
});
after(async () => {
  await gk?.close();
  await f?.close();
});

const forPatient = (o: Observation): Observation => ({ ...o, subject: { reference: `Patient/${patientId}` } });

async function refusal(p: Promise<unknown>): Promise<GatekeeperRequestError> {
  const err = await p.then(
    () => assert.fail('the write was not refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GatekeeperRequestError);
  return err;
}

async function hba1cCount(): Promise<number> {
  return (await own.get<Bundle>(`/fhir/R4/Observation?code=${LABS.hba1c.code}&_total=accurate`)).body.total!;
}

test('the gatekeeper refuses an impossible HbA1c on create with a 422 OperationOutcome in words, and stores nothing', async () => {
  const path = '/fhir/R4/Observation';
  const body = JSON.stringify(forPatient(observation(-5)));
  const raw = await sendRaw(gk, provider, { account: provider.account! }, { method: 'POST', path, body, contentType: 'application/fhir+json' });
  assert.equal(raw.status, 422);
  assert.equal(raw.body.resourceType, 'OperationOutcome');
  assert.equal(raw.body.issue?.[0]?.code, 'business-rule');
  assert.match(raw.body.issue?.[0]?.diagnostics ?? '', /HbA1c of -5 % is impossible/);
  const err = await refusal(own.post(path, forPatient(observation(99999))));
  assert.equal(err.status, 422);
  assert.match(err.message, /gatekeeper answered 422: HbA1c of 99999 % is impossible/);
  assert.equal(await hba1cCount(), 0);
  // Unlikely is stored (the form asked for the confirmation); so is a normal value.
  await own.post(path, forPatient(observation(16)));
  const saved = (await own.post<Observation>(path, forPatient(observation(6.1)))).body;
  assert.equal(await hba1cCount(), 2);

  // Update, patch and transaction refuse it too.
  assert.equal((await refusal(own.put(`${path}/${saved.id}`, { ...saved, valueQuantity: { ...saved.valueQuantity, value: -5 } }))).status, 422);
  const patch = JSON.stringify([{ op: 'replace', path: '/valueQuantity/value', value: 30 }]);
  const patched = await sendRaw(gk, provider, { account: provider.account! }, { method: 'PATCH', path: `${path}/${saved.id}`, body: patch, contentType: 'application/json-patch+json' });
  assert.equal(patched.status, 422);
  const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: forPatient(panel(80, 120)), request: { method: 'POST', url: 'Observation' } }] };
  const tx = await refusal(own.post('/fhir/R4', bundle));
  assert.equal(tx.status, 422);
  assert.match(tx.detail, /entry 0: A blood pressure of 80\/120 mmHg is impossible/);
  assert.equal((await own.get<Observation>(`${path}/${saved.id}`)).body.valueQuantity?.value, 6.1, 'the stored value is unchanged');
});

test('a search the store cannot answer: the error carries the OperationOutcome text', async () => {
  const err = await refusal(own.get('/fhir/R4/Observation?foo=bar'));
  assert.equal(err.status, 400);
  assert.match(err.detail, /Unknown search parameter "foo"/);
  assert.match(err.message, /^gatekeeper answered 400: Unknown search parameter "foo"/);
});
