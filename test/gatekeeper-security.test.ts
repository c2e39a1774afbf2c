/**
 * Gatekeeper security: signatures (replayed, expired, forged, wrong chain, wrong gatekeeper, altered
 * path or body), session tokens, the FHIR-search / SQL injection corpus, tampering detected against
 * the chain, and the audit trail verified against anchored Merkle roots.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Observation, Parameters } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { verifyAuditEntry, type AuditEntry } from '../src/gatekeeper/audit/audit.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { signRequest } from '../src/protocol/request-signature.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { sql } from '../src/records/sql.js';
import { findRelationship, grantViewer, revokeViewer, type LedgerClient } from '../src/sdk/index.js';
import { startGatekeeper } from '../src/gatekeeper/run.js';
import { testDatabase } from './helpers/db.js';
import { PEPPER, startFixture, tempDir, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

let f: Fixture;
let provider: LedgerClient;
let other: LedgerClient;
let patient: LedgerClient;
let researcher: LocalAccount;
let gk: RunningGatekeeper;
let patientId: string;

const lab = (value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2025-01-01',
  valueQuantity: { value, unit: 'mg/dL' },
});

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  other = await f.newProvider();
  patient = await f.newPatient(provider, 'urn:test|sec-patient');
  researcher = await f.newAccount();
  gk = await startTestGatekeeper(provider);
  patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Sec' }] })).id!;
  await linkPatient(gk.store, provider, patientId, 'urn:test|sec-patient', PEPPER);
  // The provider writes through the gatekeeper: the pointer appears on chain.
  const own = clientFor(gk, provider, provider.account!);
  await own.post('/fhir/R4/Observation', lab(90));
  const rel = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
  await grantViewer(patient, { relationshipId: rel, viewer: researcher.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
});
after(async () => {
  await gk?.close();
  await f?.close();
});

async function raw(path: string, headers: Record<string, string>, method = 'GET', body?: string) {
  const res = await fetch(`${gk.url}${path}`, { method, headers: body ? { ...headers, 'content-type': 'application/fhir+json' } : headers, body });
  return { status: res.status, body: (await res.json()) as { resourceType: string; issue?: { diagnostics?: string }[] } };
}

const fields = (path: string, overrides: Partial<{ chainId: number; gatekeeper: `0x${string}`; method: string; body: string }> = {}) => ({
  method: 'GET',
  path,
  gatekeeper: provider.account!.address,
  chainId: provider.chainId,
  ...overrides,
});

test('a correctly signed request is answered, with the data hash header', async () => {
  const r = await clientFor(gk, provider, researcher).get<Bundle>('/fhir/R4/Observation');
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 1);
  assert.match(r.dataHash!, /^0x[0-9a-f]{64}$/);
});

test('replayed, expired, forged, wrong-chain, wrong-gatekeeper and altered requests are refused with 401', async () => {
  const path = '/fhir/R4/Observation';
  const good = await signRequest(researcher, fields(path));
  assert.equal((await raw(path, good)).status, 200);
  const replay = await raw(path, good);
  assert.equal(replay.status, 401);
  assert.match(replay.body.issue![0]!.diagnostics!, /replayed/);

  const cases: [string, Record<string, string>, string?][] = [
    ['expired', await signRequest(researcher, fields(path), { now: Math.floor(Date.now() / 1000) - 120 })],
    ['too far ahead', await signRequest(researcher, fields(path), { ttlSeconds: 3600 })],
    ['forged (other key, claimed address)', { ...(await signRequest(f.as(researcher).account!, fields(path))), 'x-medledger-signature': (await signRequest(patient.account!, fields(path)))['x-medledger-signature']! }],
    ['wrong chain', await signRequest(researcher, fields(path, { chainId: 1 }))],
    ['wrong chain, header omitted', (({ 'x-medledger-chain-id': _c, ...h }) => h)(await signRequest(researcher, fields(path, { chainId: 1 })))],
    ['wrong gatekeeper', await signRequest(researcher, fields(path, { gatekeeper: other.account!.address }))],
    ['altered path', await signRequest(researcher, fields('/fhir/R4/Condition'))],
    ['no signature', {}],
  ];
  for (const [name, headers] of cases) {
    const r = await raw(path, headers);
    assert.equal(r.status, 401, name);
    assert.equal(r.body.resourceType, 'OperationOutcome', name);
  }
  const body = JSON.stringify(lab(1));
  const signed = await signRequest(provider.account!, fields('/fhir/R4/Observation', { method: 'POST', body }));
  const altered = await raw('/fhir/R4/Observation', signed, 'POST', JSON.stringify(lab(999)));
  assert.equal(altered.status, 401, 'altered body');
  const malformed = await raw(path, { ...good, 'x-medledger-nonce': 'nope' });
  assert.equal(malformed.status, 400);
});

test('nonces survive a gatekeeper restart: a request replayed after the restart is refused', async () => {
  const database = await testDatabase();
  const target = 'dataDir' in database ? { dataDir: tempDir('medledger-gk-restart-') } : database;
  const path = '/auth/login';
  let second = await startGatekeeper({ ledger: provider, database: target });
  const headers = await signRequest(researcher, fields(path, { method: 'POST' }));
  const send = () => fetch(`${second.url}${path}`, { method: 'POST', headers }).then((r) => r.status);
  assert.equal(await send(), 200);
  await second.close();
  second = await startGatekeeper({ ledger: provider, database: target });
  try {
    assert.equal(await send(), 401);
  } finally {
    await second.close();
  }
});

test('a revoke is honoured from the very next request (the grant cache follows chain events)', async () => {
  const viewer = await f.newAccount();
  const client = clientFor(gk, provider, viewer);
  const rel = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
  const scope = { relationshipId: rel, viewer: viewer.address, scope: 'Observation?category=laboratory' };
  await grantViewer(patient, { ...scope, expiresAt: 0 });
  for (let i = 0; i < 3; i++) assert.equal((await client.get('/fhir/R4/Observation')).status, 200); // cached now
  await revokeViewer(patient, scope);
  const status = await client.get('/fhir/R4/Observation').then(() => 200, (e: { status: number }) => e.status);
  assert.equal(status, 403);
});

test('session tokens: one signed login, then bearer reads; forged or expired tokens get 401', async () => {
  const client = clientFor(gk, provider, researcher);
  const r = await client.getWithToken<Bundle>('/fhir/R4/Observation');
  assert.equal(r.body.total, 1);
  assert.equal((await raw('/fhir/R4/Observation', { authorization: 'Bearer abc.def' })).status, 401);
  const token = await client.login();
  const [payload, mac] = token.split('.');
  const forged = Buffer.from(`${patient.account!.address}:${Math.floor(Date.now() / 1000) + 600}`).toString('base64url');
  assert.equal((await raw('/fhir/R4/Observation', { authorization: `Bearer ${forged}.${mac}` })).status, 401);
  assert.equal((await raw('/fhir/R4/Observation', { authorization: `Bearer ${payload}.${mac}` })).status, 200);
});

test('HTTP errors are OperationOutcomes with the right status', async () => {
  const own = clientFor(gk, provider, provider.account!);
  const status = async (p: Promise<unknown>) => p.then(() => 200, (e: { status: number }) => e.status);
  assert.equal(await status(own.get('/fhir/R4/Observation/does-not-exist')), 404);
  assert.equal(await status(own.get('/fhir/R4/Observation?bogus=1')), 400);
  assert.equal(await status(clientFor(gk, provider, researcher).get('/fhir/R4/Condition')), 403);
  assert.equal(await status(own.post('/fhir/R4/Observation', { resourceType: 'Observation', status: 'not-a-status' })), 400);
  assert.equal(await status(clientFor(gk, provider, researcher).post('/fhir/R4/Observation', lab(5))), 403);
  const metadata = await fetch(`${gk.url}/fhir/R4/metadata`).then((r) => r.json() as Promise<{ resourceType: string; fhirVersion: string }>);
  assert.equal(metadata.resourceType, 'CapabilityStatement');
  assert.equal(metadata.fhirVersion, '4.0.1');
});

test('the injection corpus gets 400 OperationOutcomes and leaves the data unchanged', async () => {
  const own = clientFor(gk, provider, provider.account!);
  const snapshot = async () => gk.db.query(sql`SELECT resource_type, id, version_id, content::text AS c FROM resources ORDER BY resource_type, id`);
  const before = await snapshot();
  const corpus = [
    "code=' OR 1=1 --",
    'code=x%27%3B%20DROP%20TABLE%20resources%3B--',
    'patient=Patient/1%27%20OR%20%271%27=%271',
    'category=laboratory;DELETE FROM resources',
    `code=${'a'.repeat(5000)}`,
    'date=not-a-date',
    'date=ge2020-13-45',
    '_count=-1',
    '_count=1e9',
    '_sort=content',
    'unknown=1',
    'code:regex=.*',
    '_lastUpdated=gt%00',
    'code=%F0%9F%92%A9&bogus=%E2%80%AE',
  ];
  for (const query of corpus) {
    const r = await own.get(`/fhir/R4/Observation?${query}`).then(
      () => ({ status: 200 }),
      (e: { status: number; outcome: { resourceType: string } }) => ({ status: e.status, type: e.outcome.resourceType }),
    );
    if (r.status !== 200) {
      assert.equal(r.status, 400, query);
      assert.equal((r as { type: string }).type, 'OperationOutcome', query);
    }
  }
  // A harmless query still works afterwards, and nothing changed.
  const after = await own.get<Bundle>('/fhir/R4/Observation?code=2345-7');
  assert.ok(after.body.total! >= 1);
  assert.deepEqual(await snapshot(), before);
});

test('a record tampered with in the database is detected against the chain', async () => {
  const own = clientFor(gk, provider, provider.account!);
  const ok = await own.get<Parameters>(`/fhir/R4/Patient/${patientId}/$verify`);
  assert.equal(ok.body.parameter!.find((p) => p.name === 'verified')!.valueBoolean, true);
  await gk.db.query(sql`UPDATE resources SET content = jsonb_set(content, '{valueQuantity,value}', '400') WHERE resource_type = 'Observation'`);
  const bad = await own.get<Parameters>(`/fhir/R4/Patient/${patientId}/$verify`);
  assert.equal(bad.body.parameter!.find((p) => p.name === 'verified')!.valueBoolean, false);
  const pointer = bad.body.parameter!.find((p) => p.name === 'pointer')!;
  assert.equal(pointer.part!.find((p) => p.name === 'match')!.valueBoolean, false);
  // The patient can run the same check.
  const mine = await clientFor(gk, provider, patient.account!).get<Parameters>(`/fhir/R4/Patient/${patientId}/$verify`);
  assert.equal(mine.body.parameter!.find((p) => p.name === 'verified')!.valueBoolean, false);
});

test('who read my data: every decision is audited, anchored on chain, and verifiable by the patient', async () => {
  const denied = await clientFor(gk, provider, researcher).get('/fhir/R4/Condition').catch((e: { status: number }) => e.status);
  assert.equal(denied, 403);
  await clientFor(gk, provider, researcher).get('/fhir/R4/Observation');
  const anchored = await gk.anchor();
  assert.ok(anchored && anchored.count > 0);
  const { body } = await clientFor(gk, provider, patient.account!).get<{ entries: AuditEntry[] }>('/audit');
  const researcherReads = body.entries.filter((e) => e.event.agent?.[0]?.who?.identifier?.value === researcher.address.toLowerCase());
  assert.ok(researcherReads.some((e) => e.event.outcome === '0'), 'the permitted read is in the trail');
  for (const entry of body.entries.filter((e) => e.root)) {
    assert.ok((await verifyAuditEntry(provider, provider.account!.address, entry)) > 0);
  }
  // A forged entry fails verification.
  const entry = body.entries.find((e) => e.root)!;
  const forged = { ...entry, event: { ...entry.event, outcomeDesc: 'nothing happened' } };
  await assert.rejects(verifyAuditEntry(provider, provider.account!.address, forged), /does not hash to its leaf/);
  // Strangers have no audit trail here.
  const stranger = await clientFor(gk, provider, researcher).get('/audit').catch((e: { status: number }) => e.status);
  assert.equal(stranger, 403);
});
