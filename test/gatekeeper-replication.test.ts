/**
 * Backup among providers (issue 5): with the patient's consent (grants to provider B on their
 * relationship with provider A), B copies A's records, verified against A's on-chain pointer hashes,
 * and serves them under the same consent rules when A's gatekeeper is down.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import type { Address, LocalAccount } from 'viem';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { exportPath, replicaSchema, replicateFrom, ReplicationError, scopedDb } from '../src/gatekeeper/replication/replica.js';
import { REPLICATION_CONSENT_TYPES } from '../src/protocol/replication-consent.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { verifyPointers } from '../src/gatekeeper/publish/verify.js';
import { canonicalResultSet, hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { raw, sql } from '../src/records/sql.js';
import { gatekeeperClient, GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import { allowReplication, findRelationship, grantViewer, readSummary, replicateRecords, revokeViewer, withdrawReplication, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { testBackend } from './helpers/db.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

const LAB = 'Observation?category=laboratory';
const VITALS = 'Observation?category=vital-signs';
const PROBLEMS = 'Condition?category=problem-list-item';

let f: Fixture;
let providerA: LedgerClient;
let providerB: LedgerClient;
let patient: LedgerClient;
let carol: LocalAccount;
let stranger: LocalAccount;
let gkA: RunningGatekeeper;
let gkB: RunningGatekeeper;
let A: Address;
let B: Address;
let me: Address;
let relationshipId: bigint;
let ownPatientAtB: string;
let labAtA: { resources: Resource[]; dataHash?: string };

function observation(subject: string, category: string, value: number, label?: string): Observation {
  return {
    resourceType: 'Observation',
    ...(label ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: label }] } } : {}),
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '718-7' : '8867-4' }] },
    subject: { reference: `Patient/${subject}` },
    effectiveDateTime: '2024-05-01',
    valueQuantity: { value, unit: category === 'laboratory' ? 'g/dL' : '/min' },
  };
}

/** The patient's pointers at A, from the chain. */
async function pointersAtA(): Promise<{ query: string; dataHash: string }[]> {
  const summary = await readSummary(providerB, me);
  return summary.relationships.find((r) => r.provider === A)!.pointers.map(({ query, dataHash }) => ({ query, dataHash }));
}

const chainHash = async (query: string) => (await pointersAtA()).find((p) => p.query === query)!.dataHash;
const replicate = () => replicateFrom({ replicas: gkB.replicas, ledger: providerB, sourceUrl: gkA.url, source: A, patient: me });
const viaB = (account: LocalAccount) => clientFor(gkB, providerB, account);
const resourcesOf = (b: Bundle) => (b.entry ?? []).map((e) => e.resource!);

async function statusOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof GatekeeperRequestError) return err.status;
    throw err;
  }
}

before(async () => {
  f = await startFixture();
  providerA = await f.newProvider();
  providerB = await f.newProvider();
  A = providerA.account!.address;
  B = providerB.account!.address;
  patient = await f.newPatient(providerA, 'urn:test|replicated');
  me = patient.account!.address;
  carol = await f.newAccount();
  stranger = await f.newAccount();
  gkA = await startTestGatekeeper(providerA);
  gkB = await startTestGatekeeper(providerB);

  // A holds labs (one labelled PSY), vitals and a problem; B holds a record of its own for the same patient.
  const atA = await gkA.store.create({ resourceType: 'Patient', name: [{ family: 'Replicated' }] });
  await linkPatient(gkA.store, providerA, atA.id, 'urn:test|replicated', PEPPER);
  const records: Resource[] = [
    observation(atA.id, 'laboratory', 13.2),
    observation(atA.id, 'laboratory', 12.9),
    observation(atA.id, 'laboratory', 4.1, 'PSY'),
    observation(atA.id, 'vital-signs', 72),
    { resourceType: 'Condition', subject: { reference: `Patient/${atA.id}` }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }], code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] } },
  ];
  for (const r of records) await publishRecord(gkA.store, providerA, await gkA.store.create(r));
  const atB = await gkB.store.create({ resourceType: 'Patient', name: [{ family: 'Replicated' }] });
  ownPatientAtB = atB.id;
  await linkPatient(gkB.store, providerB, atB.id, 'urn:test|replicated', PEPPER);
  await publishRecord(gkB.store, providerB, await gkB.store.create(observation(atB.id, 'laboratory', 14.1)));
  relationshipId = (await findRelationship(providerA, { patient: me, provider: A }))!;
});

after(async () => {
  await gkA?.close().catch(() => undefined); // closed by a test already
  await gkB?.close();
  await f?.close();
  const url = process.env.MEDLEDGER_TEST_DATABASE_URL;
  if (testBackend === 'postgres' && url && A) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${replicaSchema(A)} CASCADE`);
    await client.end();
  }
});

test('without the patient\'s consent, replication fails with a clear error', async () => {
  await assert.rejects(replicate(), (err: unknown) => {
    assert.ok(err instanceof ReplicationError);
    assert.equal(err.status, 403);
    assert.match(err.message, /no consent: patient 0x[0-9a-fA-F]{40} has not granted 0x[0-9a-fA-F]{40} any pointer/);
    assert.match(err.message, /"Observation\?category=laboratory"/);
    return true;
  });
  assert.equal(await gkB.replicas.open(A), undefined, 'no replica store is created without consent');
});

test('with consent, B copies every pointer and the copy hashes to the chain', async () => {
  const pointers = await pointersAtA();
  assert.deepEqual(pointers.map((p) => p.query).sort(), [PROBLEMS, LAB, VITALS].sort());
  const { granted, consent } = await allowReplication(patient, { source: A, replica: B });
  assert.deepEqual(granted.sort(), pointers.map((p) => p.query).sort());
  assert.deepEqual((await allowReplication(patient, { source: A, replica: B })).granted, [], 'nothing left to grant');
  const ownBefore = await verifyPointers(gkB.store, providerB, B, ownPatientAtB);
  const ownCount = await gkB.store.countResources();

  // A patient cannot point B's gatekeeper at a URL; B's operator can.
  assert.equal(await statusOf(replicateRecords(viaB(patient.account!), { source: A, patient: me, sourceUrl: gkA.url })), 403);
  // The grants alone: A withholds the PSY-labelled lab from B, as from any viewer, so the copy fails verification.
  await assert.rejects(replicateRecords(viaB(providerB.account!), { source: A, patient: me, sourceUrl: gkA.url }), (err: unknown) => {
    assert.ok(err instanceof GatekeeperRequestError);
    assert.equal(err.status, 502);
    assert.match(err.message, /pointer "Observation\?category=laboratory": the data from 0x[0-9a-fA-F]{40} hashes to/);
    assert.match(err.message, /a full copy needs the patient's signed replication consent/);
    return true;
  });
  assert.equal(await gkB.replicas.open(A), undefined, 'nothing was stored');

  const first = await replicateRecords(viaB(providerB.account!), { source: A, patient: me, sourceUrl: gkA.url, consent });
  assert.deepEqual(first.pointers.map(({ query, dataHash }) => ({ query, dataHash })).sort((a, b) => a.query.localeCompare(b.query)), pointers);
  assert.deepEqual([first.created, first.updated, first.deleted], [5, 0, 0]);
  assert.deepEqual(first.skipped, []);

  const replica = (await gkB.replicas.open(A))!;
  for (const p of pointers) {
    assert.equal(hashResultSet((await replica.store.resultSet(p.query, first.patientId!)) as ResourceLike[]), p.dataHash, p.query);
  }
  // B's own records and pointers are untouched; the copy is in the replica's schema.
  assert.equal(await gkB.store.countResources(), ownCount);
  assert.deepEqual(await gkB.db.query(sql`SELECT count(*)::int AS n FROM ${raw(replicaSchema(A))}.resources`), [{ n: 5 }]);
  assert.deepEqual(await verifyPointers(gkB.store, providerB, B, ownPatientAtB), ownBefore);
  assert.equal(ownBefore.parameter?.[0]?.valueBoolean, true);

  // Idempotent.
  const again = await replicate();
  assert.deepEqual([again.created, again.updated, again.deleted], [0, 0, 0]);
});

test('after A updates a pointer, the patient\'s $sync brings the copy up to date', async () => {
  const before = await chainHash(LAB);
  const [patientAtA] = (await gkA.store.search('Patient', '')).resources;
  await publishRecord(gkA.store, providerA, await gkA.store.create(observation(patientAtA!.id!, 'laboratory', 11.8)));
  const after = await chainHash(LAB);
  assert.notEqual(after, before);
  const body = await replicateRecords(viaB(patient.account!), { source: A, patient: me });
  assert.deepEqual([body.created, body.updated, body.deleted], [1, 0, 0]);
  assert.equal(body.pointers.find((p) => p.query === LAB)!.dataHash, after);
});

test('a copy whose data does not match the on-chain hash is refused, naming the pointer', async () => {
  const [victim] = (await gkA.store.search('Observation', 'category=laboratory&_count=1')).resources as Observation[];
  const original = victim!.valueQuantity!.value!;
  const setValue = (v: number) => gkA.db.query(sql`UPDATE resources SET content = jsonb_set(content, '{valueQuantity,value}', ${JSON.stringify(v)}::jsonb) WHERE id = ${victim!.id}`);
  await setValue(99); // changed behind A's gatekeeper, in its database
  try {
    await assert.rejects(replicate(), (err: unknown) => {
      assert.ok(err instanceof ReplicationError);
      assert.equal(err.status, 502);
      assert.deepEqual(err.refused.map((r) => r.query), [LAB]);
      assert.match(err.message, /pointer "Observation\?category=laboratory": the data from 0x[0-9a-fA-F]{40} hashes to 0x[0-9a-f]{64}, the chain says/);
      return true;
    });
    // The verified copy is kept as it was.
    const replica = (await gkB.replicas.open(A))!;
    const [patientAtA] = (await gkA.store.search('Patient', '')).resources;
    assert.equal(hashResultSet((await replica.store.resultSet(LAB, patientAtA!.id!)) as ResourceLike[]), await chainHash(LAB));
  } finally {
    await setValue(original);
  }
  const again = await replicate();
  assert.deepEqual([again.created, again.updated, again.deleted], [0, 0, 0]);
});

test('A exports sensitive records only to the provider the patient\'s signed consent names, for pointers it holds grants on', async () => {
  await grantViewer(patient, { relationshipId, viewer: carol.address, scope: LAB, expiresAt: 0 });
  const { consent } = await allowReplication(patient, { source: A, replica: B });
  const asCarol = clientFor(gkA, providerA, carol);
  assert.equal(await statusOf(asCarol.get(exportPath(me, LAB, consent))), 403, 'the consent names B, not carol');
  const plain = await asCarol.get<Bundle>(exportPath(me, LAB));
  assert.equal(plain.body.total, 3, 'without it, carol gets what her grant shows: no PSY record');
  assert.ok(resourcesOf(plain.body).every((r) => !r.meta?.security));
  assert.equal(await statusOf(asCarol.get(`${exportPath(me, LAB)}&query=Patient`)), 400);
  // A consent signed by anyone but the patient is refused by B before it asks.
  const forged = await stranger.signTypedData({
    domain: { name: 'MedLedger Replication', version: '1', chainId: providerB.chainId, verifyingContract: providerB.contract },
    types: REPLICATION_CONSENT_TYPES,
    primaryType: 'ReplicationConsent',
    message: { patient: me, source: A, replica: B },
  });
  await assert.rejects(replicateFrom({ replicas: gkB.replicas, ledger: providerB, sourceUrl: gkA.url, source: A, patient: me, consent: forged }), { status: 400 });
  // Presented by B, without grants covering the pointer, it gives nothing either.
  assert.equal(await statusOf(clientFor(gkA, providerA, providerB.account!).get(exportPath(me, 'DiagnosticReport', consent))), 403);
});

test('with A stopped, the patient reads their records through B: same resources, hash equal to the chain', async () => {
  const atA = await clientFor(gkA, providerA, patient.account!).get<Bundle>(`/fhir/R4/Observation?category=laboratory&_count=1000`);
  labAtA = { resources: resourcesOf(atA.body), dataHash: atA.dataHash };
  await gkA.close();
  await assert.rejects(clientFor(gkA, providerA, patient.account!).get('/fhir/R4/Observation'), /fetch failed|ECONNREFUSED/);

  const viaReplica = await viaB(patient.account!).get<Bundle>(`/replica/${A}/fhir/R4/Observation?category=laboratory&_count=1000`);
  const resources = resourcesOf(viaReplica.body);
  assert.equal(resources.length, 4);
  assert.ok(resources.some((r) => r.meta?.security?.[0]?.code === 'PSY'), 'the patient sees their labelled record through B too');
  assert.equal(canonicalResultSet(resources as ResourceLike[]), canonicalResultSet(labAtA.resources as ResourceLike[]));
  assert.equal(viaReplica.dataHash, labAtA.dataHash);
  assert.equal(viaReplica.dataHash, await chainHash(LAB));
  assert.ok(resources.every((r) => r.meta?.source === `urn:medledger:address:${A.toLowerCase()}`));

  const one = await viaB(patient.account!).get<Observation>(`/replica/${A}/fhir/R4/Observation/${resources[0]!.id}`);
  assert.equal(one.body.id, resources[0]!.id);
  assert.equal(one.dataHash, hashResultSet([resources[0]! as ResourceLike]));
  const conditions = await viaB(patient.account!).get<Bundle>(`/replica/${A}/fhir/R4/Condition`);
  assert.equal(conditions.body.total, 1);
  assert.equal(conditions.dataHash, await chainHash(PROBLEMS));
});

test('a third party granted on A\'s relationship reads through B; a stranger is refused', async () => {
  // Carol's grant (given above) reads the labs without the PSY-labelled one, exactly as at A.
  const unlabelled = labAtA.resources.filter((r) => !r.meta?.security) as ResourceLike[];
  const asCarol = await viaB(carol).get<Bundle>(`/replica/${A}/fhir/R4/Observation?_count=1000`);
  assert.equal(canonicalResultSet(resourcesOf(asCarol.body) as ResourceLike[]), canonicalResultSet(unlabelled));
  assert.equal(asCarol.dataHash, hashResultSet(unlabelled));
  assert.equal(await statusOf(viaB(carol).get(`/replica/${A}/fhir/R4/Condition`)), 403);

  const id = labAtA.resources[0]!.id;
  assert.equal(await statusOf(viaB(stranger).get(`/replica/${A}/fhir/R4/Observation`)), 403);
  assert.equal(await statusOf(viaB(stranger).get(`/replica/${A}/fhir/R4/Observation/${id}`)), 403);
  // A request signed for A's gatekeeper is not accepted by B's.
  const signedForA = gatekeeperClient({ url: gkB.url, gatekeeper: A, chainId: providerB.chainId, account: carol });
  assert.equal(await statusOf(signedForA.get(`/replica/${A}/fhir/R4/Observation`)), 401);
  // No replica of an unknown provider.
  assert.equal(await statusOf(viaB(carol).get(`/replica/${stranger.address}/fhir/R4/Observation`)), 404);
});

test('replica reads are audited at B as reads of A\'s data, and the patient can list them', async () => {
  const { body } = await viaB(patient.account!).get<{ source: string; entries: { event: { entity?: { description?: string }[]; agent: { who: { identifier: { value: string } } }[]; outcome: string } }[] }>(`/replica/${A}/audit`);
  assert.equal(body.source, A);
  const requesters = body.entries.map((e) => e.event.agent[0]!.who.identifier.value);
  assert.ok(requesters.includes(me.toLowerCase()));
  assert.ok(requesters.includes(carol.address.toLowerCase()));
  // A viewer's refusal names no patient, so it is in B's log but not in the patient's trail.
  const refused = await gkB.db.query(sql`SELECT count(*)::int AS n FROM audit_log WHERE requester = ${carol.address.toLowerCase()} AND event::jsonb->>'outcomeDesc' LIKE 'denied (403)%'`);
  assert.deepEqual(refused, [{ n: 1 }]);
  assert.ok(body.entries.every((e) => e.event.entity?.some((x) => x.description === `replica of the records of provider ${A.toLowerCase()}`)));
});

test('after the patient revokes B\'s grants, B stops serving the copy, and re-replication fails and erases it', async () => {
  await revokeViewer(patient, { relationshipId, viewer: B, scope: LAB });
  // Vital signs are still consented, so an Observation search is allowed but finds no lab result.
  const labs = await viaB(patient.account!).get<Bundle>(`/replica/${A}/fhir/R4/Observation?category=laboratory`);
  assert.equal(labs.body.total, 0);
  assert.equal(await statusOf(viaB(patient.account!).get(`/replica/${A}/fhir/R4/Observation/${labAtA.resources[0]!.id}`)), 403);
  assert.equal((await viaB(carol).get<Bundle>(`/replica/${A}/fhir/R4/Observation`)).body.total, 0);
  assert.equal((await viaB(patient.account!).get<Bundle>(`/replica/${A}/fhir/R4/Condition`)).body.total, 1, 'the problem list is still consented');

  assert.deepEqual((await withdrawReplication(patient, { source: A, replica: B })).sort(), [PROBLEMS, VITALS].sort());
  assert.equal(await statusOf(viaB(patient.account!).get(`/replica/${A}/fhir/R4/Condition`)), 403);
  await assert.rejects(replicate(), (err: unknown) => err instanceof ReplicationError && err.status === 403 && /no consent/.test(err.message));
  const replica = (await gkB.replicas.open(A))!;
  assert.equal(await replica.store.countResources(), 0);
  assert.deepEqual(await replica.db.query(sql`SELECT count(*)::int AS n FROM resource_history`), [{ n: 0 }]);
});

test('each source provider\'s replica is a schema of its own in the provider\'s database', () => {
  assert.equal(replicaSchema('0x00000000000000000000000000000000000000Ab'), 'replica_00000000000000000000000000000000000000ab');
  assert.throws(() => scopedDb(gkB.db, 'x; DROP TABLE resources'), /not a safe schema name/);
});
