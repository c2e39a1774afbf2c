/**
 * FHIR search parameters against a real gatekeeper, through a stock client (fhir-kit-client) where it
 * can say it, raw HTTP where the point is a status or a header: _count, _sort, _total, _summary,
 * _elements, _include and _revinclude (consent-filtered like the matches), chained parameters (the
 * chain sees only Patients the requester may read), POST _search, lenient vs strict handling, and the
 * CapabilityStatement that describes them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, CapabilityStatement, Observation, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { validateResource } from '@medplum/core';
import { Client } from 'fhir-kit-client';
import { loadDefinitions } from '../src/records/fhir.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { HEADERS } from '../src/protocol/headers.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { findRelationship, grantViewer } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

let f: Fixture;
let gk: RunningGatekeeper;
let base: string;
/** Session tokens: the provider (reads all), carol (alice's lab Observations), dave (alice's Patient and lab Observations). */
const tokens = {} as Record<'provider' | 'carol' | 'dave', string>;
const ids = { alice: '', bob: '', aliceLab: [] as string[], aliceVitals: [] as string[], bobObs: [] as string[] };

const observation = (patientId: string, category: string, day: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">reading</div>' },
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
  code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '2345-7' : '8867-4' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: `2024-03-0${day}`,
  valueQuantity: { value: day, unit: 'mg/dL' },
  note: [{ text: 'not a summary element' }],
});

before(async () => {
  f = await startFixture();
  const provider = await f.newProvider();
  const alice = await f.newPatient(provider, 'urn:test|alice');
  const [carol, dave] = [await f.newAccount(), await f.newAccount()];
  gk = await startTestGatekeeper(provider);
  const a = await gk.store.create({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'A1' }], name: [{ family: 'Alice' }] });
  const b = await gk.store.create({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'B1' }], name: [{ family: 'Bob' }] });
  await linkPatient(gk.store, provider, a.id, 'urn:test|alice', PEPPER);
  Object.assign(ids, { alice: a.id, bob: b.id });
  const lab = await gk.store.createMany([1, 2, 3].map((d) => observation(a.id, 'laboratory', d)));
  const vitals = await gk.store.createMany([4, 5].map((d) => observation(a.id, 'vital-signs', d)));
  const bobs = await gk.store.createMany([6, 7].map((d) => observation(b.id, 'laboratory', d)));
  Object.assign(ids, { aliceLab: lab.map((r) => r.id), aliceVitals: vitals.map((r) => r.id), bobObs: bobs.map((r) => r.id) });
  await gk.store.create({ resourceType: 'Condition', subject: { reference: `Patient/${a.id}` }, code: { text: 'asthma' } });
  await publishRecord(gk.store, provider, lab[0]!);
  const relationshipId = (await findRelationship(provider, { patient: alice.account!.address, provider: provider.account!.address }))!;
  await grantViewer(alice, { relationshipId, viewer: carol.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
  await grantViewer(alice, { relationshipId, viewer: dave.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
  await grantViewer(alice, { relationshipId, viewer: dave.address, scope: 'Patient', expiresAt: 0 });
  tokens.provider = await clientFor(gk, provider, provider.account!).login();
  tokens.carol = await clientFor(gk, provider, carol).login();
  tokens.dave = await clientFor(gk, provider, dave).login();
  base = `${gk.url}/fhir/R4`;
});
after(async () => {
  await gk?.close();
  await f?.close();
});

const kit = (who: keyof typeof tokens) => new Client({ baseUrl: base, bearerToken: tokens[who] });

/** A stock client's GET search. */
const search = async (who: keyof typeof tokens, resourceType: string, searchParams: Record<string, string>, headers?: Record<string, string>) =>
  (await kit(who).search({ resourceType, searchParams, options: headers ? { headers } : undefined })) as unknown as Bundle;

/** A raw request, for statuses and bodies a client would throw on. */
async function raw(who: keyof typeof tokens, method: string, path: string, init: { body?: string; contentType?: string; prefer?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${tokens[who]}` };
  if (init.contentType) headers['content-type'] = init.contentType;
  if (init.prefer) headers.prefer = init.prefer;
  const res = await fetch(`${base}${path}`, { method, headers, body: init.body === undefined ? undefined : Buffer.from(init.body) });
  return { status: res.status, body: (await res.json()) as Bundle & Pick<OperationOutcome, 'issue'> };
}

const matches = (b: Bundle) => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!);
const included = (b: Bundle) => (b.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource!);
const idsOf = (rs: Resource[]) => rs.map((r) => r.id!).sort();
const link = (b: Bundle, relation: string) => b.link?.find((l) => l.relation === relation)?.url;

test('_count, _sort, _total and _summary=count', async () => {
  const page = await search('provider', 'Observation', { _sort: 'date', _count: '2' });
  assert.deepEqual(matches(page).map((o) => (o as Observation).effectiveDateTime), ['2024-03-01', '2024-03-02']);
  assert.equal(page.total, 7);
  assert.match(link(page, 'next') ?? '', /_offset=2/);
  const down = await search('provider', 'Observation', { _sort: '-date', _count: '1' });
  assert.equal((matches(down)[0] as Observation).effectiveDateTime, '2024-03-07');
  assert.equal((await search('provider', 'Observation', { _total: 'none' })).total, undefined);
  const count = await search('carol', 'Observation', { _summary: 'count' });
  assert.equal(count.total, 3, 'counts only what the grant covers');
  assert.equal(count.entry?.length ?? 0, 0);
  assert.equal((await raw('provider', 'GET', '/Observation?_sort=value')).status, 400);
});

test('_elements and _summary return SUBSETTED copies with what was asked (and the mandatory elements)', async () => {
  const subsetted = (r: Resource) => r.meta?.tag?.some((t) => t.code === 'SUBSETTED');
  const [el] = matches(await search('carol', 'Observation', { _elements: 'subject', _count: '1' })) as Observation[];
  assert.deepEqual(Object.keys(el!).sort(), ['code', 'id', 'meta', 'resourceType', 'status', 'subject']);
  assert.ok(subsetted(el!));
  const [sum] = matches(await search('carol', 'Observation', { _summary: 'true', _count: '1' })) as Observation[];
  assert.ok(sum!.valueQuantity && sum!.subject && sum!.effectiveDateTime, 'summary elements kept');
  assert.equal(sum!.note, undefined, 'non-summary elements dropped');
  assert.equal(sum!.text, undefined);
  assert.ok(subsetted(sum!));
  const [text] = matches(await search('carol', 'Observation', { _summary: 'text', _count: '1' })) as Observation[];
  assert.deepEqual(Object.keys(text!).sort(), ['code', 'id', 'meta', 'resourceType', 'status', 'text']);
  const [data] = matches(await search('carol', 'Observation', { _summary: 'data', _count: '1' })) as Observation[];
  assert.equal(data!.text, undefined);
  assert.ok(data!.note);
  const [full] = matches(await search('carol', 'Observation', { _summary: 'false', _count: '1' }));
  assert.ok(!subsetted(full!));
  assert.equal((await raw('carol', 'GET', '/Observation?_elements=nonsense')).status, 400);
});

test('_include: the referenced Patient once, and left out for a reader who may not read it', async () => {
  const dave = await search('dave', 'Observation', { _include: 'Observation:subject' });
  assert.deepEqual(idsOf(matches(dave)), [...ids.aliceLab].sort());
  assert.deepEqual(included(dave).map((r) => `${r.resourceType}/${r.id}`), [`Patient/${ids.alice}`]);
  assert.equal(dave.total, 3, 'total counts matches only');
  const res = await fetch(`${base}/Observation?_include=Observation:subject`, { headers: { authorization: `Bearer ${tokens.dave}` } });
  const bundle = (await res.json()) as Bundle;
  assert.equal(res.headers.get(HEADERS.dataHash), hashResultSet(matches(bundle) as ResourceLike[]), 'the data hash covers the matches, not the included Patient');
  const carol = await search('carol', 'Observation', { _include: 'Observation:patient:Patient' });
  assert.deepEqual(idsOf(matches(carol)), [...ids.aliceLab].sort());
  assert.deepEqual(included(carol), [], 'carol holds no Patient grant: the Patient is left out, not refused');
  const provider = await search('provider', 'Observation', { _include: 'Observation:subject', _count: '100' });
  assert.deepEqual(idsOf(included(provider)), [ids.alice, ids.bob].sort());
  assert.equal((await raw('dave', 'GET', '/Observation?_include=Condition:subject')).status, 400);
  assert.equal((await raw('dave', 'GET', '/Observation?_include:iterate=Observation:subject')).status, 400);
});

test('_revinclude: the matched patients\' resources the reader may read, nothing else', async () => {
  const dave = await search('dave', 'Patient', { _revinclude: 'Observation:subject' });
  assert.deepEqual(idsOf(matches(dave)), [ids.alice], 'dave reads alice only');
  assert.deepEqual(idsOf(included(dave)), [...ids.aliceLab].sort(), 'lab Observations only: the vital signs are not granted');
  const conditions = await search('dave', 'Patient', { _revinclude: 'Condition:patient' });
  assert.deepEqual(included(conditions), [], 'no Condition grant: left out');
  const provider = await search('provider', 'Patient', { _id: ids.bob, _revinclude: 'Observation:patient' });
  assert.deepEqual(idsOf(included(provider)), [...ids.bobObs].sort());
  assert.equal((await raw('provider', 'GET', '/Observation?_revinclude=Observation:subject')).status, 400);
});

test('chained parameters: subject.identifier and subject:Patient.identifier, through the Patient grant', async () => {
  const bob = await search('provider', 'Observation', { 'subject.identifier': 'urn:mrn|B1' });
  assert.deepEqual(idsOf(matches(bob)), [...ids.bobObs].sort());
  const alice = await search('provider', 'Observation', { 'subject:Patient.identifier': 'urn:mrn|A1', category: 'vital-signs' });
  assert.deepEqual(idsOf(matches(alice)), [...ids.aliceVitals].sort());
  // dave may read alice's Patient, not bob's: a chain on bob's identifier finds nothing.
  assert.deepEqual(matches(await search('dave', 'Observation', { 'patient.identifier': 'urn:mrn|B1' })), []);
  assert.deepEqual(idsOf(matches(await search('dave', 'Observation', { 'patient.identifier': 'urn:mrn|A1' }))), [...ids.aliceLab].sort());
  // carol may read no Patient at all: searching by one is refused.
  assert.equal((await raw('carol', 'GET', '/Observation?patient.identifier=urn:mrn|A1')).status, 403);
  assert.equal((await raw('provider', 'GET', '/Observation?subject:Device.identifier=x')).status, 400);
});

test('POST _search takes a form body (and URL parameters); a form anywhere else is 415', async () => {
  const viaKit = (await kit('carol').search({ resourceType: 'Observation', searchParams: { _sort: 'date' }, options: { postSearch: true } })) as unknown as Bundle;
  assert.deepEqual(matches(viaKit).map((r) => r.id), ids.aliceLab);
  const both = await raw('provider', 'POST', '/Observation/_search?category=laboratory', { body: `subject=Patient/${ids.bob}`, contentType: 'application/x-www-form-urlencoded' });
  assert.equal(both.status, 200);
  assert.deepEqual(idsOf(matches(both.body)), [...ids.bobObs].sort());
  assert.match(link(both.body, 'self') ?? '', /^http:\/\/.*\/fhir\/R4\/Observation\?category=laboratory&subject=Patient/, 'links are GETs of the same search');
  const form = await raw('provider', 'POST', '/Observation', { body: 'status=final', contentType: 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 415);
  assert.equal((await raw('provider', 'POST', '/Observation/_search', { body: '{}', contentType: 'application/fhir+json' })).status, 415);
});

test('strict by default; Prefer: handling=lenient ignores unknown parameters and says so', async () => {
  const strict = await raw('carol', 'GET', '/Observation?colour=blue&category=laboratory');
  assert.equal(strict.status, 400);
  assert.match(JSON.stringify(strict.body.issue), /colour/);
  const lenient = await search('carol', 'Observation', { colour: 'blue', category: 'vital-signs' }, { prefer: 'handling=lenient' });
  assert.deepEqual(matches(lenient), [], 'the known parameters still apply');
  const outcome = lenient.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
  assert.match(outcome.issue[0]!.diagnostics!, /colour/);
  assert.doesNotMatch(link(lenient, 'self') ?? '', /colour/, 'self shows the search as performed');
  const iterate = await search('dave', 'Observation', { '_include:iterate': 'Observation:subject' }, { prefer: 'handling=lenient' });
  assert.deepEqual(included(iterate), [], ':iterate is not supported: ignored, not refused, when lenient');
  const malformed = await raw('carol', 'GET', '/Observation?date=yesterday', { prefer: 'handling=lenient' });
  assert.equal(malformed.status, 400, 'a known parameter with a bad value is still refused');
  const many = await raw('carol', 'GET', `/Observation?${'_include=Observation:subject&'.repeat(31)}`);
  assert.equal(many.status, 400, 'includes count towards the parameter limit');
});

/** A request per interaction and operation the CapabilityStatement may list, none of which can change the store. */
const PROBES: Record<string, { method: string; path: string; body?: string; contentType?: string }> = {
  read: { method: 'GET', path: '/Observation/absent' },
  vread: { method: 'GET', path: '/Observation/absent/_history/1' },
  update: { method: 'PUT', path: '/Observation/absent', body: '{"resourceType":"Patient"}', contentType: 'application/fhir+json' },
  patch: { method: 'PATCH', path: '/Observation/absent', body: '[]', contentType: 'application/json-patch+json' },
  delete: { method: 'DELETE', path: '/Observation/absent' },
  'history-instance': { method: 'GET', path: '/Observation/absent/_history' },
  'history-type': { method: 'GET', path: '/Observation/_history' },
  create: { method: 'POST', path: '/Observation', body: '{"resourceType":"Observation"}', contentType: 'application/fhir+json' },
  'search-type': { method: 'GET', path: '/Observation' },
  transaction: { method: 'POST', path: '', body: '{"resourceType":"Bundle","type":"transaction","entry":[{}]}', contentType: 'application/fhir+json' },
  everything: { method: 'GET', path: '/Patient/absent/$everything' },
  verify: { method: 'GET', path: '/Patient/absent/$verify' },
  export: { method: 'GET', path: '/Group/absent/$export' },
};

test('the CapabilityStatement tells the truth: an interaction or operation is listed exactly when the server has its route', async () => {
  const cs = (await kit('provider').capabilityStatement()) as unknown as CapabilityStatement;
  const rest = cs.rest![0]!;
  const listed = new Set([
    ...rest.resource!.find((r) => r.type === 'Observation')!.interaction!.map((i) => i.code),
    ...(rest.interaction ?? []).map((i) => i.code),
    ...(rest.operation ?? []).map((o) => o.name),
    ...rest.resource!.flatMap((r) => (r.operation ?? []).map((o) => o.name)),
  ]);
  loadDefinitions();
  assert.deepEqual(validateResource(cs), [], 'valid against the R4 definitions');
  assert.ok(listed.has('search-type') && listed.has('read') && listed.has('everything'));
  for (const [code, probe] of Object.entries(PROBES)) {
    const { body } = await raw('provider', probe.method, probe.path, probe);
    const routed = !/^no route/.test(body.issue?.[0]?.diagnostics ?? '');
    assert.equal(listed.has(code), routed, `${code}: listed ${listed.has(code)}, route ${routed}`);
  }
  if (listed.has('transaction')) assert.ok(listed.has('batch'));
  const smart = (await fetch(`${base}/.well-known/smart-configuration`).then((r) => (r.ok ? r.json() : undefined))) as { token_endpoint?: string } | undefined;
  const oauth = rest.security?.extension?.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  assert.equal(oauth?.extension?.find((e) => e.url === 'token')?.valueUri, smart?.token_endpoint, 'the SMART token endpoint, when there is one');
});

test('the CapabilityStatement names the search parameters, result parameters and the search interactions', async () => {
  const cs = (await kit('carol').capabilityStatement()) as unknown as CapabilityStatement;
  const observation = cs.rest![0]!.resource!.find((r) => r.type === 'Observation')!;
  const names = observation.searchParam!.map((p) => p.name);
  for (const name of ['_id', 'patient', 'subject', 'category', 'code', 'date', '_lastUpdated']) assert.ok(names.includes(name), name);
  assert.ok(observation.interaction!.some((i) => i.code === 'search-type'));
  assert.ok(observation.searchInclude!.includes('Observation:subject'));
  assert.ok(cs.rest![0]!.resource!.find((r) => r.type === 'Patient')!.searchRevInclude!.includes('Observation:subject'));
  assert.ok(!cs.rest![0]!.resource!.find((r) => r.type === 'Patient')!.searchParam!.some((p) => p.name === 'category'), 'Patient has no category');
});
