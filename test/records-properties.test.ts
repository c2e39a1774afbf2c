/**
 * Hostile input against a real records store (PGlite, or PostgreSQL with MEDLEDGER_TEST_DATABASE_URL),
 * 1,000 cases each: random FHIR-ish resources to create and update, random searches. Each is either a
 * valid result or a 4xx OperationOutcome — never another error (a 500 at the gatekeeper) — and a
 * refused write leaves every row as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { Db } from '../src/records/db.js';
import { SUPPORTED_TYPES } from '../src/records/fhir.js';
import { sql } from '../src/records/sql.js';
import { RecordStore } from '../src/records/store.js';
import { openTestDb } from './helpers/db.js';
import { RUNS } from './helpers/properties.js';

let db: Db;
let store: RecordStore;

before(async () => {
  db = await openTestDb();
  store = await RecordStore.open(db);
  await store.createMany([{ resourceType: 'Patient', id: 'p1' }, { resourceType: 'Patient', id: 'p2' }, observation('o1', 'p1') as unknown as Resource]);
});
after(() => db.close());

function observation(id: string | undefined, patient: string): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    ...(id ? { id } : {}),
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2020-03-01',
  };
}

/** Every row of both tables, hashed, with the counts: for a whole-store comparison. */
async function snapshot(): Promise<string> {
  const rows = await db.query<{ t: string; n: number; digest: string | null }>(sql`
    SELECT 'resources' AS t, count(*)::int AS n,
      md5(string_agg(resource_type || '/' || id || '/' || version_id || '/' || content::text, ',' ORDER BY resource_type, id)) AS digest
    FROM resources
    UNION ALL
    SELECT 'history', count(*)::int,
      md5(string_agg(resource_type || '/' || id || '/' || version_id || '/' || coalesce(content::text, 'deleted'), ',' ORDER BY resource_type, id, version_id))
    FROM resource_history`);
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

/**
 * What a refused write of `type/id` could have changed, cheaply (per case): both tables' row counts
 * and that resource's rows. The whole store is compared around the properties.
 */
async function footprint(type: unknown, id: unknown): Promise<string> {
  // PostgreSQL text cannot hold NUL: such an id is looked up without it (the counts still cover it).
  const [t, i] = [String(type), String(id)].map((x) => x.replaceAll('\u0000', ''));
  const rows = await db.query(sql`
    SELECT (SELECT count(*)::int FROM resources) AS resources,
      (SELECT count(*)::int FROM resource_history) AS history,
      (SELECT md5(coalesce(string_agg(version_id || '/' || content::text, ','), '')) FROM resources WHERE resource_type = ${t} AND id = ${i}) AS current,
      (SELECT md5(coalesce(string_agg(version_id || '/' || coalesce(content::text, 'deleted'), ',' ORDER BY version_id), '')) FROM resource_history WHERE resource_type = ${t} AND id = ${i}) AS versions`);
  return JSON.stringify(rows);
}

/** A refusal must be a client error as an OperationOutcome. */
function assertClientError(err: unknown, what: string): void {
  assert.ok(err instanceof OperationOutcomeError, `${what}: ${String(err)}`);
  const status = getStatus(err.outcome);
  assert.ok(status >= 400 && status < 500, `${what}: status ${status}`);
}

const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom("' OR 1=1 --", '\u0000', 'Patient/p1', 'p2', '../x', '2020-13-45', 'final', 'R'));
const element = fc.constantFrom('id', 'status', 'code', 'subject', 'category', 'meta', 'valueQuantity', 'effectiveDateTime', 'note', 'identifier', 'text', 'contained', 'extension');
const resource = fc.oneof(
  {
    // A valid Observation with one element replaced by something random.
    weight: 5,
    arbitrary: fc.tuple(fc.option(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,8}$/), text), { nil: undefined }), fc.constantFrom('p1', 'p2', 'nobody'), element, fc.oneof(fc.jsonValue({ maxDepth: 2 }), text)).map(([id, patient, key, value]) => {
      const r = observation(id, patient);
      Object.defineProperty(r, key, { value, enumerable: true, writable: true, configurable: true });
      return r;
    }),
  },
  { weight: 3, arbitrary: fc.constantFrom('p1', 'p2', undefined).map((p) => observation(undefined, p ?? 'p1')) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...SUPPORTED_TYPES, 'Bogus', ''), fc.dictionary(fc.oneof(element, fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }))
      .map(([resourceType, rest]) => ({ ...rest, resourceType })),
  },
);

test('creates: a stored resource or a 4xx, and a refused create changes no row', async () => {
  let created = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(resource, async (r) => {
      const target = r as { resourceType?: unknown; id?: unknown };
      const before = await footprint(target.resourceType, target.id);
      try {
        const saved = await store.create(r as unknown as Resource);
        created++;
        assert.deepEqual(await store.read(saved.resourceType, saved.id!), saved, 'read back as stored');
      } catch (err) {
        refused++;
        assertClientError(err, JSON.stringify(r)?.slice(0, 200));
        assert.equal(await footprint(target.resourceType, target.id), before, 'nothing changed');
      }
    }),
    RUNS,
  );
  assert.ok(created > 100 && refused > 100, `${created} created, ${refused} refused`);
});

test('updates: a new version or a 4xx, and a refused update changes no row', async () => {
  const ids = (await store.search('Observation', '_count=1000')).resources.map((r) => r.id!).slice(0, 20);
  await fc.assert(
    fc.asyncProperty(resource, fc.constantFrom(...ids, 'missing', "o1' --"), fc.option(fc.constantFrom('W/"1"', 'W/"2"', '"x"', "1'; --"), { nil: undefined }), async (r, id, ifMatch) => {
      const target = { ...r, id } as unknown as Resource;
      const before = await footprint(target.resourceType, id);
      const current = await store.read(target.resourceType, id).catch(() => undefined);
      try {
        const saved = await store.update(target, ifMatch ? { ifMatch } : {});
        assert.equal(Number(saved.meta!.versionId), Number(current?.meta?.versionId ?? 0) + 1, 'one new version');
      } catch (err) {
        assertClientError(err, `${id} ${ifMatch} ${JSON.stringify(r)?.slice(0, 200)}`);
        assert.equal(await footprint(target.resourceType, id), before, 'nothing changed');
      }
    }),
    RUNS,
  );
});

test('searches: results or a 400, never another error, and nothing changes', async () => {
  const state = await snapshot();
  const key = fc.oneof(fc.constantFrom('code', 'category', 'status', 'patient', 'subject', '_id', 'date', '_lastUpdated', '_security', '_security:not', '_count', '_offset', '_sort', '_total', '_summary'), fc.string({ maxLength: 10 }));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...SUPPORTED_TYPES, 'Bogus'), fc.array(fc.tuple(key, text), { maxLength: 5 }), async (type, pairs) => {
      const query = new URLSearchParams(pairs).toString();
      try {
        const found = await store.search(type, query);
        assert.ok(found.resources.every((x) => x.resourceType === type));
      } catch (err) {
        assertClientError(err, `${type}?${query}`);
      }
    }),
    RUNS,
  );
  assert.equal(await snapshot(), state);
});
