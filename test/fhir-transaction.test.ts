/**
 * Transaction and batch Bundles at POST /fhir/R4 (https://hl7.org/fhir/R4/http.html#transaction),
 * sent by a stock client (fhir-kit-client) to one real gatekeeper: urn:uuid and conditional
 * references rewritten, the R4 order DELETE → POST → PUT/PATCH → GET, all or nothing, each on-chain
 * pointer updated once per transaction, and the hostile Bundles (nested, 10,000 entries,
 * self-referencing, a conditional reference matching several).
 *
 * Runs on PGlite, and on PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set (scripts/test.ts runs
 * this file again on PostgreSQL).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, BundleEntry, Observation, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { currentPointers, linkPatient } from '../src/gatekeeper/publish/publish.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import type { LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let fhir: Client;
let alice: { id: string; address: `0x${string}` };

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  const patient = await f.newPatient(provider, 'urn:test|alice');
  // Room for a 10,000-entry Bundle to reach the entry limit rather than the body limit.
  gk = await startTestGatekeeper(provider, { limits: { bodyBytes: 8_000_000 } });
  const stored = await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Alice' }] });
  await linkPatient(gk.store, provider, stored.id, 'urn:test|alice', PEPPER);
  alice = { id: stored.id, address: patient.account!.address };
  fhir = new Client({ baseUrl: `${gk.url}/fhir/R4`, bearerToken: await clientFor(gk, provider, provider.account!).login() });
});
after(async () => {
  await gk?.close();
  await f?.close();
});

const transaction = (entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry });
const send = async (bundle: Bundle) => (await fhir.transaction({ body: bundle as never })) as unknown as Bundle;

/** The status and first diagnostics a failed call answered. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; diagnostics: string }> {
  try {
    await call;
  } catch (err) {
    const { status, data } = (err as { response: { status: number; data: { issue?: { diagnostics?: string }[] } } }).response;
    return { status, diagnostics: data.issue?.[0]?.diagnostics ?? '' };
  }
  throw new Error('the request was not refused');
}

const npi = (value: string) => [{ system: 'http://hl7.org/fhir/sid/us-npi', value }];
const lab = (subject: string, value: number, category = 'laboratory'): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
  subject: { reference: subject },
  effectiveDateTime: '2024-05-01',
  valueQuantity: { value, unit: 'g/dL' },
});

test('urn:uuid and conditional references are rewritten; responses keep the request order', async () => {
  const response = await send(
    transaction([
      { fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', resource: lab('urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', 12), request: { method: 'POST', url: 'Observation' } },
      { fullUrl: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', resource: { resourceType: 'Patient', name: [{ family: 'New' }] }, request: { method: 'POST', url: 'Patient' } },
      // A conditional create of the practitioner, and a conditional reference to it (as Synthea writes them).
      { fullUrl: 'urn:uuid:9d0c2b43-4a36-4a40-9f3c-9d8a2b2d7a11', resource: { resourceType: 'Practitioner', identifier: npi('42') }, request: { method: 'POST', url: 'Practitioner', ifNoneExist: 'identifier=http://hl7.org/fhir/sid/us-npi|42' } },
      {
        fullUrl: 'urn:uuid:3e6f1bb8-5b0c-4f3a-9e43-1f3b4f0c9a77',
        resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0' }, participant: [{ individual: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|42' } }] },
        request: { method: 'POST', url: 'Encounter' },
      },
      // Self-referencing: an Organization that names itself is rewritten to its own new id.
      { fullUrl: 'urn:uuid:5a1c9e6e-2f0b-4a8e-8d55-1a2b3c4d5e6f', resource: { resourceType: 'Organization', name: 'Self', partOf: { reference: 'urn:uuid:5a1c9e6e-2f0b-4a8e-8d55-1a2b3c4d5e6f' } }, request: { method: 'POST', url: 'Organization' } },
    ]),
  );
  assert.equal(response.type, 'transaction-response');
  const [obs, patient, practitioner, encounter, org] = response.entry!.map((e) => e.resource!) as [Observation, Resource, Resource, Resource & { subject?: { reference?: string }; participant?: { individual?: { reference?: string } }[] }, Resource & { partOf?: { reference?: string } }];
  assert.deepEqual(response.entry!.map((e) => e.response?.status), ['201 Created', '201 Created', '201 Created', '201 Created', '201 Created']);
  assert.deepEqual([obs.resourceType, patient.resourceType, practitioner.resourceType, encounter.resourceType, org.resourceType], ['Observation', 'Patient', 'Practitioner', 'Encounter', 'Organization']);
  assert.equal(obs.subject?.reference, `Patient/${patient.id}`);
  assert.equal(encounter.subject?.reference, `Patient/${patient.id}`);
  assert.equal(encounter.participant?.[0]?.individual?.reference, `Practitioner/${practitioner.id}`);
  assert.equal(org.partOf?.reference, `Organization/${org.id}`);
  assert.equal(response.entry![0]!.response?.location, `Observation/${obs.id}/_history/1`);
  assert.equal(response.entry![0]!.response?.etag, 'W/"1"');
  // Stored as answered.
  assert.deepEqual(await fhir.read({ resourceType: 'Encounter', id: encounter.id! }), encounter);
});

test('R4 order: DELETE, then POST, then PUT/PATCH, then GET, whatever the order of the entries', async () => {
  await fhir.create({ resourceType: 'Practitioner', body: { resourceType: 'Practitioner', identifier: npi('77'), name: [{ family: 'Old' }] } as never });
  await fhir.update({ resourceType: 'Organization', id: 'order-org', body: { resourceType: 'Organization', id: 'order-org', name: 'Order' } as never });
  const patch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/name', value: 'Patched' }])).toString('base64');
  const response = await send(
    transaction([
      { request: { method: 'GET', url: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|77' } },
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: 'Organization/order-org' } },
      { resource: { resourceType: 'Practitioner', identifier: npi('77'), name: [{ family: 'New' }] }, request: { method: 'POST', url: 'Practitioner', ifNoneExist: 'identifier=http://hl7.org/fhir/sid/us-npi|77' } },
      { request: { method: 'DELETE', url: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|77' } },
      { request: { method: 'GET', url: 'Organization/order-org' } },
    ]),
  );
  assert.deepEqual(response.entry!.map((e) => e.response?.status), ['200 OK', '200 OK', '201 Created', '204', '200 OK']);
  // The DELETE ran first, so the conditional create found nothing and created; the GETs ran last and see the new Practitioner and the patched Organization.
  const found = response.entry![0]!.resource as Bundle;
  assert.deepEqual(found.entry!.map((e) => (e.resource as { name?: { family?: string }[] }).name?.[0]?.family), ['New']);
  assert.deepEqual([(response.entry![4]!.resource as { name?: string }).name, response.entry![4]!.resource!.meta?.versionId], ['Patched', '2']);
  // One resource may be the target of one entry only (http.html#trules).
  const twice = await refusal(send(transaction([
    { resource: { resourceType: 'Organization', id: 'order-org', name: 'Again' }, request: { method: 'PUT', url: 'Organization/order-org' } },
    { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: 'Organization/order-org' } },
  ])));
  assert.deepEqual([twice.status, /written twice/.test(twice.diagnostics)], [400, true]);
});

test('all or nothing: one failing entry stores none of the others, and the chain is untouched', async () => {
  const before = await currentPointers(provider, alice.address, provider.account!.address);
  const countBefore = await gk.store.countResources();
  const refused = await refusal(
    send(
      transaction([
        { resource: lab(`Patient/${alice.id}`, 1), request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'Organization', id: 'rolled-back', name: 'Gone' }, request: { method: 'PUT', url: 'Organization/rolled-back' } },
        { resource: { ...lab(`Patient/${alice.id}`, 2), status: 'bogus' } as never, request: { method: 'POST', url: 'Observation' } },
      ]),
    ),
  );
  assert.equal(refused.status, 400);
  assert.match(refused.diagnostics, /^entry 2: /, 'the refusal names the entry');
  assert.equal(await gk.store.countResources(), countBefore, 'nothing of the transaction was stored');
  assert.equal((await refusal(fhir.read({ resourceType: 'Organization', id: 'rolled-back' }))).status, 404);
  assert.deepEqual(await currentPointers(provider, alice.address, provider.account!.address), before);
});

test('each pointer on chain is updated once per transaction, to the hash of the store after it', async () => {
  const entries: BundleEntry[] = [
    ...Array.from({ length: 6 }, (_, i) => ({ resource: lab(`Patient/${alice.id}`, 10 + i), request: { method: 'POST' as const, url: 'Observation' } })),
    ...Array.from({ length: 3 }, (_, i) => ({ resource: lab(`Patient/${alice.id}`, 17 + i, 'vital-signs'), request: { method: 'POST' as const, url: 'Observation' } })),
  ];
  const blockBefore = await provider.publicClient.getBlockNumber();
  await send(transaction(entries));
  const blocks = Number((await provider.publicClient.getBlockNumber()) - blockBefore);
  const pointers = await currentPointers(provider, alice.address, provider.account!.address);
  const queries = ['Observation?category=laboratory', 'Observation?category=vital-signs'];
  for (const query of queries) {
    const hash = hashResultSet((await gk.store.resultSet(query, alice.id)) as ResourceLike[]);
    assert.equal(pointers.find((p) => p.query === query)?.dataHash, hash, query);
  }
  // One chain transaction per pointer (each mined in its own block): at most the relationship and two pointers, never one per entry.
  assert.ok(blocks >= queries.length && blocks <= queries.length + 1, `${blocks} chain transactions for 9 entries`);
});

test('batch: each entry on its own; a failed one is an OperationOutcome in its place, the others happen', async () => {
  const response = (await fhir.batch({
    body: {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Organization', name: 'Batch A' }, request: { method: 'POST', url: 'Organization' } },
        { resource: { resourceType: 'Organization', name: 'Batch B', active: 'yes' }, request: { method: 'POST', url: 'Organization' } },
        { request: { method: 'GET', url: 'Organization/does-not-exist' } },
        { request: { method: 'POST', url: 'NotAType' } },
      ],
    } as never,
  })) as unknown as Bundle;
  assert.equal(response.type, 'batch-response');
  assert.deepEqual(response.entry!.map((e) => e.response?.status), ['201 Created', '400', '404', '400']);
  assert.equal(response.entry![1]!.response?.outcome?.resourceType, 'OperationOutcome');
  assert.match(String((response.entry![3]!.response?.outcome as { issue?: { diagnostics?: string }[] }).issue?.[0]?.diagnostics), /entry 3/);
});

test('hostile Bundles: nested, 10,000 entries, several matches, unresolved urn, duplicates, not a transaction', async () => {
  const org = (name: string): BundleEntry => ({ resource: { resourceType: 'Organization', name }, request: { method: 'POST', url: 'Organization' } });
  const nested = await refusal(send(transaction([{ resource: transaction([org('inner')]), request: { method: 'POST', url: 'Bundle' } }])));
  assert.deepEqual([nested.status, /inside a Bundle/.test(nested.diagnostics)], [400, true]);
  const huge = await refusal(send(transaction(Array.from({ length: 10_000 }, (_, i) => org(`o${i}`)))));
  assert.deepEqual([huge.status, /at most 5000 entries/.test(huge.diagnostics)], [413, true]);
  // Two Practitioners with one NPI: a conditional reference to it is ambiguous.
  for (let i = 0; i < 2; i++) await fhir.create({ resourceType: 'Practitioner', body: { resourceType: 'Practitioner', identifier: npi('twice') } as never });
  const several = await refusal(send(transaction([{ resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, participant: [{ individual: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|twice' } }] }, request: { method: 'POST', url: 'Encounter' } }])));
  assert.deepEqual([several.status, /matches 2 resources/.test(several.diagnostics)], [412, true]);
  const none = await refusal(send(transaction([{ resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, participant: [{ individual: { reference: 'Practitioner?identifier=nobody' } }] }, request: { method: 'POST', url: 'Encounter' } }])));
  assert.equal(none.status, 400);
  const dangling = await refusal(send(transaction([{ resource: lab('urn:uuid:00000000-0000-4000-8000-000000000000', 1), request: { method: 'POST', url: 'Observation' } }])));
  assert.deepEqual([dangling.status, /names no entry/.test(dangling.diagnostics)], [400, true]);
  const twice = await refusal(send(transaction([{ ...org('a'), fullUrl: 'urn:uuid:1' }, { ...org('b'), fullUrl: 'urn:uuid:1' }])));
  assert.equal(twice.status, 400);
  const collection = await refusal(fhir.transaction({ body: { resourceType: 'Bundle', type: 'collection', entry: [] } as never }));
  assert.equal(collection.status, 400);
  const unsigned = await fetch(`${gk.url}/fhir/R4`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(transaction([org('x')])) });
  assert.equal(unsigned.status, 401);
});
