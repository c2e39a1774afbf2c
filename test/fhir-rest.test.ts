/**
 * The FHIR R4 REST interactions (https://hl7.org/fhir/R4/http.html) as a stock client reaches them:
 * fhir-kit-client with a session token, against one real gatekeeper — create, read, vread, update
 * (update as create), patch, delete, instance and type history, conditional create / update / delete,
 * ETag / Last-Modified / Location / If-Match / If-None-Match / Prefer, any R4 resource type, and
 * directory resources for a granted third party.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Observation, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { currentPointers, linkPatient } from '../src/gatekeeper/publish/publish.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { findRelationship, grantViewer, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let fhir: Client; // the provider's own application
let carol: Client; // a third party with a lab grant from alice
let stranger: Client; // no grant at all
let base: string;
let token: string;
let alice: { id: string; address: `0x${string}` };

const lab = (patientId: string, value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2024-05-01',
  valueQuantity: { value, unit: 'g/dL' },
});

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  const alicePatient = await f.newPatient(provider, 'urn:test|alice');
  const [carolAccount, strangerAccount] = [await f.newAccount(), await f.newAccount()];
  gk = await startTestGatekeeper(provider);
  const patient = await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Alice' }] });
  await linkPatient(gk.store, provider, patient.id, 'urn:test|alice', PEPPER);
  alice = { id: patient.id, address: alicePatient.account!.address };
  base = `${gk.url}/fhir/R4`;
  token = await clientFor(gk, provider, provider.account!).login();
  fhir = new Client({ baseUrl: base, bearerToken: token });
  // The first lab result opens the relationship on chain (the provider's write publishes its pointer).
  await fhir.create({ resourceType: 'Observation', body: lab(alice.id, 13) as never });
  const relationshipId = (await findRelationship(provider, { patient: alice.address, provider: provider.account!.address }))!;
  await grantViewer(alicePatient, { relationshipId, viewer: carolAccount.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
  carol = new Client({ baseUrl: base, bearerToken: await clientFor(gk, provider, carolAccount).login() });
  stranger = new Client({ baseUrl: base, bearerToken: await clientFor(gk, provider, strangerAccount).login() });
});
after(async () => {
  await gk?.close();
  await f?.close();
});

const headersOf = (r: unknown): Headers => Client.httpFor(r as never).response!.headers;

/** The HTTP status a fhir-kit-client call failed with (it throws on any non-2xx). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    const status = (err as { response?: { status?: number } }).response?.status;
    if (status === undefined) throw err;
    return status;
  }
}

/** A raw request with the provider's token, for what a client library does not expose (304, Prefer). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  return fetch(`${base}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

test('create: 201 with an absolute Location, ETag and Last-Modified; read and vread carry them; If-None-Match → 304', async () => {
  const created = (await fhir.create({ resourceType: 'Observation', body: lab(alice.id, 12) as never })) as unknown as Observation;
  const h = headersOf(created);
  assert.equal(Client.httpFor(created as never).response!.status, 201);
  assert.equal(h.get('location'), `${base}/Observation/${created.id}/_history/1`);
  assert.equal(h.get('etag'), 'W/"1"');
  assert.equal(h.get('last-modified'), new Date(created.meta!.lastUpdated!).toUTCString());
  const read = await fhir.read({ resourceType: 'Observation', id: created.id! });
  assert.equal(headersOf(read).get('etag'), 'W/"1"');
  assert.equal(headersOf(await fhir.vread({ resourceType: 'Observation', id: created.id!, version: '1' })).get('etag'), 'W/"1"');
  assert.equal((await raw('GET', `Observation/${created.id}`, { 'if-none-match': 'W/"1"' })).status, 304);
  assert.equal((await raw('GET', `Observation/${created.id}`, { 'if-none-match': 'W/"7"' })).status, 200);
});

test('update: If-Match on a stale version is 412; the current one is a new version; an unknown id is created with it', async () => {
  const v1 = (await fhir.create({ resourceType: 'Observation', body: lab(alice.id, 11) as never })) as unknown as Observation;
  const v2 = (await fhir.update({ resourceType: 'Observation', id: v1.id!, body: { ...v1, status: 'amended' } as never, options: { headers: { 'if-match': 'W/"1"' } } })) as unknown as Observation;
  assert.equal(v2.meta?.versionId, '2');
  assert.equal(headersOf(v2).get('etag'), 'W/"2"');
  assert.equal(await statusOf(fhir.update({ resourceType: 'Observation', id: v1.id!, body: { ...v1, status: 'corrected' } as never, options: { headers: { 'if-match': 'W/"1"' } } })), 412);
  // Update as create (http.html#upsert): the client's own id.
  const org = (await fhir.update({ resourceType: 'Organization', id: 'st-elsewhere', body: { resourceType: 'Organization', id: 'st-elsewhere', name: 'St Elsewhere' } as never })) as unknown as Resource;
  assert.equal(Client.httpFor(org as never).response!.status, 201);
  assert.equal(headersOf(org).get('location'), `${base}/Organization/st-elsewhere/_history/1`);
  assert.equal(await statusOf(fhir.update({ resourceType: 'Organization', id: 'other-id', body: { resourceType: 'Organization', id: 'st-elsewhere' } as never })), 400);
});

test('Prefer: return=minimal answers no body, return=OperationOutcome an outcome; representation is the default', async () => {
  const minimal = await raw('POST', 'Practitioner', { prefer: 'return=minimal' }, { resourceType: 'Practitioner', name: [{ family: 'Who' }] });
  assert.equal(minimal.status, 201);
  assert.equal(await minimal.text(), '');
  assert.match(minimal.headers.get('location') ?? '', /\/Practitioner\/[^/]+\/_history\/1$/);
  const outcome = await raw('POST', 'Location', { prefer: 'return=OperationOutcome' }, { resourceType: 'Location', name: 'Ward 9' });
  assert.equal(((await outcome.json()) as OperationOutcome).resourceType, 'OperationOutcome');
  const device = await raw('POST', 'Device', {}, { resourceType: 'Device', patient: { reference: `Patient/${alice.id}` }, status: 'active' });
  assert.equal(((await device.json()) as unknown as Resource).resourceType, 'Device');
});

test('conditional create (If-None-Exist): a match is answered as it is, several are 412', async () => {
  const npi = (value: string) => ({ resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value }] });
  const first = (await fhir.create({ resourceType: 'Practitioner', body: npi('111') as never })) as unknown as Resource;
  const again = (await fhir.create({ resourceType: 'Practitioner', body: npi('111') as never, options: { headers: { 'if-none-exist': 'identifier=http://hl7.org/fhir/sid/us-npi|111' } } })) as unknown as Resource;
  assert.equal(again.id, first.id);
  assert.equal(Client.httpFor(again as never).response!.status, 200);
  await fhir.create({ resourceType: 'Practitioner', body: npi('111') as never });
  assert.equal(await statusOf(fhir.create({ resourceType: 'Practitioner', body: npi('111') as never, options: { headers: { 'if-none-exist': 'identifier=111' } } })), 412);
});

test('conditional update and delete: one match is the target, none creates (update) or does nothing (delete), several are 412', async () => {
  const body = (name: string) => ({ resourceType: 'Organization', identifier: [{ system: 'urn:test:org', value: 'cond' }], name });
  const created = (await fhir.update({ resourceType: 'Organization', searchParams: { identifier: 'urn:test:org|cond' }, body: body('A') as never })) as unknown as Resource;
  assert.equal(Client.httpFor(created as never).response!.status, 201);
  const updated = (await fhir.update({ resourceType: 'Organization', searchParams: { identifier: 'urn:test:org|cond' }, body: body('B') as never })) as unknown as Resource;
  assert.equal(updated.id, created.id);
  assert.equal(updated.meta?.versionId, '2');
  assert.equal((await raw('DELETE', 'Organization?identifier=urn:test:org|nothing-has-this')).status, 204);
  await fhir.create({ resourceType: 'Organization', body: body('C') as never });
  assert.equal(await statusOf(fhir.update({ resourceType: 'Organization', searchParams: { identifier: 'urn:test:org|cond' }, body: body('D') as never })), 412);
  assert.equal((await raw('DELETE', 'Organization?identifier=urn:test:org|cond')).status, 412);
});

test('patch (JSON Patch): a new version; a failed test is 422; id and meta are the store\'s', async () => {
  const v1 = (await fhir.create({ resourceType: 'Observation', body: lab(alice.id, 10) as never })) as unknown as Observation;
  const v2 = (await fhir.patch({ resourceType: 'Observation', id: v1.id!, jsonPatch: [{ op: 'replace', path: '/valueQuantity/value', value: 10.5 }] })) as unknown as Observation;
  assert.equal(v2.valueQuantity?.value, 10.5);
  assert.equal(v2.meta?.versionId, '2');
  assert.equal(await statusOf(fhir.patch({ resourceType: 'Observation', id: v1.id!, jsonPatch: [{ op: 'test', path: '/status', value: 'preliminary' }] })), 422);
  assert.equal(await statusOf(fhir.patch({ resourceType: 'Observation', id: v1.id!, jsonPatch: [{ op: 'replace', path: '/id', value: 'x' }] })), 400);
  assert.equal(await statusOf(fhir.patch({ resourceType: 'Observation', id: v1.id!, jsonPatch: [{ op: 'replace', path: '/status', value: 'bogus' }] })), 400, 'validated like an update');
  assert.equal(await statusOf(fhir.patch({ resourceType: 'Observation', id: v1.id!, jsonPatch: [], options: { headers: { 'if-match': 'W/"1"' } } })), 400);
  assert.equal(await statusOf(fhir.patch({ resourceType: 'Observation', id: v1.id!, jsonPatch: [{ op: 'remove', path: '/valueQuantity' }], options: { headers: { 'if-match': 'W/"1"' } } })), 412);
});

test('delete: 204, then read is 410; type history lists every version and the deletion, for the provider only', async () => {
  const v1 = (await fhir.create({ resourceType: 'Observation', body: lab(alice.id, 9) as never })) as unknown as Observation;
  await fhir.update({ resourceType: 'Observation', id: v1.id!, body: { ...v1, status: 'amended' } as never });
  assert.equal((await raw('DELETE', `Observation/${v1.id}`)).status, 204);
  assert.equal(await statusOf(fhir.read({ resourceType: 'Observation', id: v1.id! })), 410);
  assert.equal((await raw('DELETE', `Observation/${v1.id}`)).status, 204, 'deleting again is a no-op');
  assert.equal((await raw('DELETE', 'Observation/never-was')).status, 404);
  const history = (await fhir.typeHistory({ resourceType: 'Observation' })) as unknown as Bundle;
  const mine = history.entry!.filter((e) => e.fullUrl === `${base}/Observation/${v1.id}`);
  assert.deepEqual(mine.map((e) => [e.request?.method, e.response?.etag]), [['DELETE', 'W/"3"'], ['PUT', 'W/"2"'], ['POST', 'W/"1"']]);
  assert.equal(await statusOf(carol.typeHistory({ resourceType: 'Observation' })), 403);
});

test('writes are the provider\'s own; the pointer on chain follows every write', async () => {
  assert.equal(await statusOf(carol.create({ resourceType: 'Observation', body: lab(alice.id, 1) as never })), 403);
  assert.equal(await statusOf(carol.delete({ resourceType: 'Patient', id: alice.id })), 403);
  const pointer = (await currentPointers(provider, alice.address, provider.account!.address)).find((p) => p.query === 'Observation?category=laboratory');
  const results = await gk.store.resultSet('Observation?category=laboratory', alice.id);
  assert.equal(pointer?.dataHash, hashResultSet(results as ResourceLike[]), 'the hash on chain is that of the store after the last write');
  // carol's lab grant reads every current lab result of alice, deleted ones not.
  const seen = (await carol.search({ resourceType: 'Observation', searchParams: { _count: '100' } })) as unknown as Bundle;
  assert.deepEqual(new Set(seen.entry!.map((e) => e.resource!.id)), new Set(results.map((r) => r.id)));
});

test('directory resources (Organization, Practitioner, Location…) are readable by a granted third party, not by a stranger', async () => {
  const org = (await fhir.create({ resourceType: 'Organization', body: { resourceType: 'Organization', name: 'Directory test' } as never })) as unknown as Resource;
  assert.equal(((await carol.read({ resourceType: 'Organization', id: org.id! })) as unknown as Resource).id, org.id);
  assert.ok(((await carol.search({ resourceType: 'Practitioner' })) as unknown as Bundle).total! > 0);
  assert.equal(await statusOf(stranger.read({ resourceType: 'Organization', id: org.id! })), 403);
  assert.equal(await statusOf(carol.search({ resourceType: 'Device' })), 403, 'a Device is patient data, not directory');
});
