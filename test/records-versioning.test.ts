/**
 * Versions (https://hl7.org/fhir/R4/http.html): create → 1, update → n+1 (If-Match → 412),
 * vread, history newest first, delete → 410 on read, 404 for what never existed.
 * Runs on PGlite, or on PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OperationOutcomeError, getStatus } from '@medplum/core';
import type { Observation, Patient } from '@medplum/fhirtypes';
import type { Db } from '../src/records/db.js';
import { sql } from '../src/records/sql.js';
import { RecordStore } from '../src/records/store.js';
import { openTestDb } from './helpers/db.js';

let db: Db;
let store: RecordStore;
before(async () => {
  db = await openTestDb();
  store = await RecordStore.open(db);
});
after(() => db.close());

const status = (expected: number) => (err: unknown) => {
  assert.ok(err instanceof OperationOutcomeError, String(err));
  assert.equal(getStatus(err.outcome), expected, JSON.stringify(err.outcome));
  return true;
};

const observation = (value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/v1' },
  valueQuantity: { value, unit: '/min' },
});

test('create assigns a uuid, version 1 and lastUpdated, and does not touch its input', async () => {
  const input = observation(60);
  const saved = await store.create(input);
  assert.match(saved.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(saved.meta?.versionId, '1');
  assert.ok(Math.abs(Date.parse(saved.meta!.lastUpdated!) - Date.now()) < 60_000);
  assert.equal(input.id, undefined);
  assert.equal(input.meta, undefined);
});

test('a client-assigned id is kept; store-assigned meta replaces the client’s, other meta stays', async () => {
  const saved = await store.create<Patient>({
    resourceType: 'Patient',
    id: 'v1',
    meta: { versionId: '99', lastUpdated: '2000-01-01T00:00:00Z', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
  });
  assert.equal(saved.id, 'v1');
  assert.equal(saved.meta?.versionId, '1');
  assert.notEqual(saved.meta?.lastUpdated, '2000-01-01T00:00:00Z');
  assert.deepEqual(saved.meta?.security, [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }]);
});

test('creating an id that exists (or existed) is a 409', async () => {
  await store.create({ resourceType: 'Patient', id: 'dup' });
  await assert.rejects(store.create({ resourceType: 'Patient', id: 'dup' }), status(409));
  await store.delete('Patient', 'dup');
  await assert.rejects(store.create({ resourceType: 'Patient', id: 'dup' }), status(409));
  await assert.rejects(store.createMany([{ resourceType: 'Patient', id: 'twice' }, { resourceType: 'Patient', id: 'twice' }]), status(409));
  await assert.rejects(store.read('Patient', 'twice'), status(404));
});

test('update makes a new version; vread returns each; history is newest first', async () => {
  const v1 = await store.create(observation(60));
  const v2 = await store.update({ ...v1, valueQuantity: { value: 61, unit: '/min' } });
  const v3 = await store.update({ ...v2, valueQuantity: { value: 62, unit: '/min' } });
  assert.deepEqual([v1, v2, v3].map((v) => v.meta?.versionId), ['1', '2', '3']);
  assert.ok(v3.meta!.lastUpdated! >= v2.meta!.lastUpdated! && v2.meta!.lastUpdated! >= v1.meta!.lastUpdated!);
  assert.deepEqual(await store.read('Observation', v1.id), v3);
  assert.deepEqual(await store.vread('Observation', v1.id, '1'), v1);
  assert.deepEqual(await store.vread('Observation', v1.id, '2'), v2);
  assert.deepEqual(await store.history('Observation', v1.id), [v3, v2, v1]);
  await assert.rejects(store.vread('Observation', v1.id, '4'), status(404));
  await assert.rejects(store.vread('Observation', v1.id, 'x'), status(404));
  await assert.rejects(store.vread('Observation', v1.id, '0'), status(404));
});

test('If-Match: a stale version is a 412 and changes nothing; the current one (plain or W/"n") succeeds', async () => {
  const v1 = await store.create(observation(70));
  const v2 = await store.update({ ...v1, status: 'amended' }, { ifMatch: '1' });
  await assert.rejects(store.update({ ...v1, status: 'corrected' }, { ifMatch: '1' }), status(412));
  await assert.rejects(store.update({ ...v1, status: 'corrected' }, { ifMatch: 'W/"1"' }), status(412));
  assert.deepEqual(await store.read('Observation', v1.id), v2);
  const v3 = await store.update({ ...v2, status: 'corrected' }, { ifMatch: 'W/"2"' });
  assert.equal(v3.meta?.versionId, '3');
  assert.equal((await store.history('Observation', v1.id)).length, 3);
});

test('update needs an id; an id never seen is created with it (update as create), unless it must exist', async () => {
  await assert.rejects(store.update(observation(1)), status(400));
  await assert.rejects(store.update({ ...observation(1), id: 'never-created' }, { mustExist: true }), status(404));
  const created = await store.upsert({ ...observation(1), id: 'client-id' });
  assert.equal(created.created, true);
  assert.equal(created.resource.meta?.versionId, '1');
  assert.equal((await store.upsert({ ...observation(2), id: 'client-id' })).created, false);
  await assert.rejects(store.update({ resourceType: 'Nope', id: 'x' } as never), status(400));
});

test('delete: read is 410, the deletion is a version (vread 410), earlier versions stay readable', async () => {
  const v1 = await store.create(observation(80));
  const v2 = await store.update({ ...v1, status: 'amended' });
  const count = await store.countResources('Observation');
  await store.delete('Observation', v1.id);
  await assert.rejects(store.read('Observation', v1.id), status(410));
  await assert.rejects(store.vread('Observation', v1.id, '3'), status(410));
  assert.deepEqual(await store.vread('Observation', v1.id, '1'), v1);
  assert.deepEqual(await store.history('Observation', v1.id), [v2, v1]);
  assert.equal(await store.countResources('Observation'), count - 1);
  const { total } = await store.search('Observation', `_id=${v1.id}`);
  assert.equal(total, 0);
  const [row] = await db.query<{ deleted: boolean; content: unknown }>(
    sql`SELECT deleted, content FROM resource_history WHERE id = ${v1.id} AND version_id = 3`,
  );
  assert.deepEqual(row, { deleted: true, content: null });
  // Deleting again changes nothing.
  await store.delete('Observation', v1.id);
  assert.equal((await db.query(sql`SELECT 1 FROM resource_history WHERE id = ${v1.id}`)).length, 3);
  // Updating brings it back as the next version.
  const v4 = await store.update({ ...v2, status: 'corrected' });
  assert.equal(v4.meta?.versionId, '4');
  assert.deepEqual(await store.read('Observation', v1.id), v4);
});

test('unknown resources are 404; unsupported types are 400', async () => {
  await assert.rejects(store.read('Observation', 'nope'), status(404));
  await assert.rejects(store.history('Observation', 'nope'), status(404));
  await assert.rejects(store.vread('Observation', 'nope', '1'), status(404));
  await assert.rejects(store.delete('Observation', 'nope'), status(404));
  await assert.rejects(store.read('Nope', 'x'), status(400));
  await assert.rejects(store.read('Observation; DROP TABLE resources', 'x'), status(400));
  // An id is a placeholder value, never SQL.
  await assert.rejects(store.read('Observation', "x' OR '1'='1"), status(404));
});

test('concurrent updates of one resource never lose a version', async () => {
  const v1 = await store.create(observation(90));
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) => store.update({ ...v1, valueQuantity: { value: 91 + i, unit: '/min' } })),
  );
  const saved = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.meta!.versionId] : []));
  for (const r of results) if (r.status === 'rejected') status(409)(r.reason);
  const history = await store.history('Observation', v1.id);
  assert.equal(history.length, saved.length + 1);
  assert.deepEqual(new Set(history.map((h) => h.meta?.versionId)).size, history.length);
});
