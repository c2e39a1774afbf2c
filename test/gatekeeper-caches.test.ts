/**
 * The gatekeeper's in-memory caches never outlive what they cache: read results end with any write
 * through the store (and after maxAgeMs for writes from elsewhere), compiled consent at the first
 * grant expiry, a verified session token at its own expiry.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import type { Requester } from '../src/consent/policy.js';
import { createPolicyCache } from '../src/gatekeeper/auth/policy-cache.js';
import { createReadCache } from '../src/gatekeeper/http/read-cache.js';
import { createTokenIssuer } from '../src/gatekeeper/auth/tokens.js';
import type { Db } from '../src/records/db.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { render, sql } from '../src/records/sql.js';
import { RecordStore } from '../src/records/store.js';
import { openTestDb } from './helpers/db.js';

let db: Db;
let store: RecordStore;

const obs = (value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
  subject: { reference: 'Patient/p1' },
  valueQuantity: { value, unit: 'mg/dL' },
});

before(async () => {
  db = await openTestDb();
  store = await RecordStore.open(db);
});
after(async () => {
  await db?.close();
});

const valueOf = (r: { resources: unknown[] }) => (r.resources[0] as Observation).valueQuantity!.value;

test('read cache: repeated reads share one result; a write through the store ends it', async () => {
  const reads = createReadCache(store);
  const saved = await store.create(obs(1));
  const filter = sql`patient_id = ${'p1'}`;
  const [a, b] = await Promise.all([reads.search('Observation', `_id=${saved.id}`, filter), reads.search('Observation', `_id=${saved.id}`, filter)]);
  assert.equal(a, b, 'concurrent identical reads share one query');
  assert.equal(await reads.search('Observation', `_id=${saved.id}`, sql`patient_id = ${'p1'}`), a, 'an equal filter is the same key');
  assert.equal(a.dataHash, hashResultSet(a.resources as ResourceLike[]));
  assert.deepEqual(a.json.map((j) => JSON.parse(j)), a.resources);
  // A different filter is a different entry (consent is part of the key).
  assert.equal((await reads.search('Observation', `_id=${saved.id}`, sql`patient_id = ${'p2'}`)).total, 0);

  await store.update({ ...saved, valueQuantity: { value: 2, unit: 'mg/dL' } });
  const after = await reads.search('Observation', `_id=${saved.id}`, filter);
  assert.equal(valueOf(after), 2);
  await store.create(obs(3)); // any write, not only to the resource read
  assert.notEqual(await reads.search('Observation', `_id=${saved.id}`, filter), after);
});

test('read cache: a write that bypasses the store shows after maxAgeMs', async () => {
  const reads = createReadCache(store, { maxAgeMs: 50 });
  const saved = await store.create(obs(10));
  const filter = sql`TRUE`;
  assert.equal(valueOf(await reads.search('Observation', `_id=${saved.id}`, filter)), 10);
  await db.query(sql`UPDATE resources SET content = jsonb_set(content, '{valueQuantity,value}', '11') WHERE id = ${saved.id}`);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(valueOf(await reads.search('Observation', `_id=${saved.id}`, filter)), 11);
});

test('read cache: a failed search is not kept', async () => {
  const reads = createReadCache(store);
  await assert.rejects(reads.search('Observation', 'bogus=1', sql`TRUE`));
  await assert.rejects(reads.search('Observation', 'bogus=1', sql`TRUE`));
});

test('policy cache: the same compiled filter until the first grant expires, then the 410 denial', () => {
  const policies = createPolicyCache();
  const now = 1_000_000;
  const requester: Requester = {
    role: 'viewer',
    grants: [
      { patientId: 'p1', scope: 'Observation?category=laboratory', expiresAt: now + 10 },
      { patientId: 'p1', scope: 'Condition', expiresAt: 0 },
    ],
  };
  const first = policies.filter(requester, 'Observation', now);
  assert.ok(first.filter);
  assert.equal(policies.filter(requester, 'Observation', now + 9).filter, first.filter, 'cached while the grant lives');
  const expired = policies.filter(requester, 'Observation', now + 10);
  assert.equal(expired.filter, undefined);
  assert.ok(expired.policy.denials.some((d) => d.resourceType === 'Observation' && d.expired));
  assert.ok(policies.filter(requester, 'Condition', now + 10).filter, 'the grant without expiry still reads');
  assert.match(render(policies.filter(requester, 'Condition', now + 10).filter!).text, /resource_type = \$1/);
  // Another requester object (new grants from the chain) compiles afresh.
  const other: Requester = { role: 'viewer', grants: [] };
  assert.equal(policies.filter(other, 'Observation', now).filter, undefined);
});

test('session tokens: a token verified before is still refused once expired, and forgeries never enter the cache', () => {
  const issuer = createTokenIssuer(Buffer.alloc(32, 7), 60);
  const address = privateKeyToAccount(generatePrivateKey()).address;
  const { token, expiresAt } = issuer.issue(address, 1_000);
  assert.equal(issuer.verify(token, 1_000), address);
  assert.equal(issuer.verify(token, expiresAt - 1), address);
  assert.equal(issuer.verify(token, expiresAt), undefined);
  const [payload] = token.split('.');
  assert.equal(issuer.verify(`${payload}.forged`, 1_000), undefined);
  assert.equal(issuer.verify(`${payload}.forged`, 1_000), undefined);
});
