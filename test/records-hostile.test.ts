/**
 * Hostile search input: SQL fragments, quotes, NUL bytes, Unicode tricks, oversized values, unknown
 * parameters and modifiers. Each is a 400 OperationOutcome before any SQL runs (or, where it is a
 * well-formed if odd value, a search that finds nothing), and the stored data is byte-for-byte the
 * same afterwards. Runs on PGlite, or on PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { OperationOutcomeError, getStatus } from '@medplum/core';
import type { Observation } from '@medplum/fhirtypes';
import type { Db } from '../src/records/db.js';
import { parseSearch } from '../src/records/search.js';
import { sql } from '../src/records/sql.js';
import { RecordStore } from '../src/records/store.js';
import { openTestDb } from './helpers/db.js';

let db: Db;
let store: RecordStore;
let before_: string;

const lab = (id: string, patient: string, security?: string): Observation => ({
  resourceType: 'Observation',
  id,
  ...(security ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: security }] } } : {}),
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2020-03-01',
});

/** Row count and a hash of every row of both tables, and that the tables are still there. */
async function snapshot(): Promise<string> {
  const rows = await db.query<{ t: string; n: number; digest: string | null }>(sql`
    SELECT 'resources' AS t, count(*)::int AS n,
      md5(string_agg(resource_type || '/' || id || '/' || version_id || '/' || content::text, ',' ORDER BY resource_type, id)) AS digest
    FROM resources
    UNION ALL
    SELECT 'history', count(*)::int,
      md5(string_agg(resource_type || '/' || id || '/' || version_id || '/' || coalesce(content::text, 'deleted'), ',' ORDER BY resource_type, id, version_id))
    FROM resource_history`);
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex') + ` (${rows.map((r) => `${r.t}: ${r.n}`).join(', ')})`;
}

before(async () => {
  db = await openTestDb();
  store = await RecordStore.open(db);
  await store.createMany([{ resourceType: 'Patient', id: '1' }, { resourceType: 'Patient', id: '2' }, lab('o1', '1'), lab('o2', '1', 'R'), lab('o3', '2')]);
  await store.update({ ...lab('o1', '1'), status: 'amended' });
  await store.delete('Observation', 'o3');
  before_ = await snapshot();
});
after(() => db.close());

const REJECTED: string[] = [
  // SQL in values.
  "code='",
  'code="',
  'code=;',
  "code=' OR 1=1 --",
  "code=4548-4' OR '1'='1",
  'code=x;DROP TABLE resources',
  'code=%27%20OR%201%3D1%20--',
  "category=laboratory' UNION SELECT * FROM resources --",
  "status=final'",
  'status=final;',
  "_security:not=R') OR TRUE --",
  "identifier=MRN' OR '1'='1",
  "patient=Patient/1' --",
  'patient=1;DELETE FROM resources',
  "subject=Patient/1') OR ('1'='1",
  "_id=1' OR '1'='1",
  '_id=../../etc/passwd',
  "date=2020'",
  "date=ge2020-01-01'::timestamptz OR TRUE --",
  "_lastUpdated=gt2020-01-01 OR 1=1",
  // SQL in paging and sort.
  '_sort=id;DROP TABLE resources',
  '_sort=(SELECT 1)',
  '_sort=last_updated',
  '_count=1;DROP TABLE resources',
  '_count=10 OR 1=1',
  '_count=-1',
  '_count=1e3',
  '_count=0x10',
  '_count=99999999999999999999',
  '_count=1001',
  '_count=10&_count=20',
  '_offset=-1',
  '_offset=1.5',
  '_total=maybe',
  '_summary=true',
  // Control characters and broken Unicode.
  'code=x%00y',
  'code=x\u0000y',
  'code=a%0Ab',
  'code=a%09b',
  'code=%ED%A0%80',
  'code=x\u202Ey',
  'code=x\u200By',
  'code=x\uFF07 OR 1=1',
  'code=\u{1F600}',
  'code=\uD800',
  // Shape.
  `code=${'a'.repeat(257)}`,
  `identifier=${'9'.repeat(300)}`,
  `code=${'a,'.repeat(200)}a`,
  Array.from({ length: 31 }, () => '_id=x').join('&'),
  `_id=${'x'.repeat(20_000)}`,
  'code=',
  'code=,',
  'code=a,,b',
  'code=a|b|c',
  'code=http://loinc.org|',
  'code= x',
  'code=a  b',
  'code=x\\,y',
  // Unknown parameters and modifiers.
  'foo=bar',
  "code'--=x",
  'code;=x',
  '_has:Observation:patient:code=1',
  '_include=*',
  '_revinclude=*',
  '_filter=code eq x',
  '_query=x',
  '_text=x',
  '_content=x',
  '_elements=id',
  '_contained=true',
  '_list=x',
  'code:text=x',
  'code:not=x',
  'code:missing=true',
  'code:=x',
  'patient:identifier=x',
  '_security:not:not=x',
  '_security:above=x',
  'date:missing=true',
  'value-quantity=5',
];

/** Well-formed values that are merely odd: they run, as placeholders, and match nothing. */
const HARMLESS: string[] = [
  'code=\uFF14\uFF15\uFF14\uFF18-\uFF14', // full-width digits
  'identifier=x',
  'code=\u0109u-kodo',
  'code=a b',
  'code=$1',
  'code=$1::text',
  'code={}',
  'code={a,b}',
  'code=NULL',
  'code=(SELECT',
  'code=http://loinc.org|4548-4)',
  'category=*',
  'code=%',
  'code=_',
  '_id=1.2',
  'patient=Patient/does-not-exist',
];

for (const query of REJECTED) {
  test(`rejected: ${JSON.stringify(query.length > 60 ? `${query.slice(0, 60)}…` : query)}`, async () => {
    await assert.rejects(store.search('Observation', query), (err: unknown) => {
      assert.ok(err instanceof OperationOutcomeError, `not an OperationOutcomeError: ${String(err)}`);
      assert.equal(getStatus(err.outcome), 400);
      const text = JSON.stringify(err.outcome);
      assert.ok(text.length < 2000, 'the error does not echo unbounded input');
      assert.ok(!text.includes('\u0000'), 'the error does not echo a NUL');
      return true;
    });
  });
}

for (const query of HARMLESS) {
  test(`harmless: ${JSON.stringify(query)}`, async () => {
    assert.deepEqual(await store.search('Observation', query), { resources: [], total: 0 });
  });
}

test('hostile resource types and ids', async () => {
  for (const type of ["Observation'--", 'Observation;DROP TABLE resources', 'resources', '', 'observation']) {
    await assert.rejects(store.search(type, ''), (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 400, type);
  }
  for (const id of ["1' OR '1'='1", '1; DROP TABLE resources', "o1'--"]) {
    await assert.rejects(store.read('Observation', id), (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 404);
    await assert.rejects(store.delete('Observation', id), (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 404);
  }
  await assert.rejects(store.resultSet("Observation?category=laboratory'; DROP TABLE resources --", '1'));
  assert.deepEqual(await store.resultSet('Observation', "1' OR '1'='1"), []);
  assert.equal(await store.findPatientByIdentifier("x' OR '1'='1", "' OR 1=1 --"), undefined);
});

test('every value is a placeholder: no input text reaches the SQL', () => {
  const markers = ['4548-4', 'laboratory', 'final', 'Patient', 'urn:x', '2020'];
  const search = parseSearch('Observation', 'code=4548-4&category=laboratory&status=final&patient=Patient/p1&_security:not=urn:x|R&date=ge2020');
  const text = search.where.strings.join('$') + search.orderBy.strings.join('');
  for (const marker of markers) assert.ok(!text.includes(marker), `${marker} in ${text}`);
});

test('fuzz: any query string is a result or a 400, never a database error', async () => {
  const key = fc.oneof(fc.constantFrom('code', 'category', 'status', 'patient', 'subject', '_id', 'date', '_lastUpdated', '_security', '_security:not', '_count', '_offset', '_sort', '_total', '_summary'), fc.string({ maxLength: 12 }));
  const value = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom("' OR 1=1 --", '2020-03', 'ge2020', 'laboratory', 'Patient/1', '-date', '0', '\u0000'));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 6 }), async (pairs) => {
      const params = new URLSearchParams(pairs);
      for (const query of [params, params.toString()]) {
        try {
          await store.search('Observation', query);
        } catch (err) {
          assert.ok(err instanceof OperationOutcomeError, `${params.toString()}: ${String(err)}`);
          assert.equal(getStatus(err.outcome), 400, params.toString());
        }
      }
    }),
    { numRuns: 1000 },
  );
});

test('the data is unchanged after all of the above', async () => {
  assert.equal(await snapshot(), before_);
  assert.equal(await store.countResources(), 4);
  assert.deepEqual((await store.search('Observation', 'category=laboratory')).total, 2);
});
