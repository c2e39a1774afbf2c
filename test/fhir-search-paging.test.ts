/**
 * A stock FHIR client (fhir-kit-client) pages through a search of more than 250 results by following
 * `next` links alone, against a real gatekeeper, and gets every match exactly once — and nothing the
 * requester's grant does not cover (another patient's Observations on the same store).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { findRelationship, grantViewer } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

const MATCHES = 263; // not a multiple of any page size used below

let f: Fixture;
let gk: RunningGatekeeper;
let fhir: Client;
let base: string;
const granted = new Set<string>();

const observation = (patientId: string, i: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: `Patient/${patientId}` },
  // Many share a date, so the order needs its id tie-break to page consistently.
  effectiveDateTime: `2024-01-${String(1 + (i % 5)).padStart(2, '0')}`,
  valueQuantity: { value: 60 + i, unit: '/min' },
});

before(async () => {
  f = await startFixture();
  const provider = await f.newProvider();
  const alice = await f.newPatient(provider, 'urn:test|alice');
  const carol = await f.newAccount();
  gk = await startTestGatekeeper(provider);
  const patient = await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Alice' }] });
  await linkPatient(gk.store, provider, patient.id, 'urn:test|alice', PEPPER);
  const other = await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Bob' }] });
  const mine = await gk.store.createMany(Array.from({ length: MATCHES }, (_, i) => observation(patient.id, i)));
  await gk.store.createMany(Array.from({ length: 30 }, (_, i) => observation(other.id, i)));
  for (const o of mine) granted.add(o.id);
  await publishRecord(gk.store, provider, mine[0]!);
  const relationshipId = (await findRelationship(provider, { patient: alice.account!.address, provider: provider.account!.address }))!;
  await grantViewer(alice, { relationshipId, viewer: carol.address, scope: 'Observation', expiresAt: 0 });
  base = `${gk.url}/fhir/R4`;
  fhir = new Client({ baseUrl: base, bearerToken: await clientFor(gk, provider, carol).login() });
});
after(async () => {
  await gk?.close();
  await f?.close();
});

/** Every page from `first` on, by `next` links alone. */
async function followNext(first: Bundle): Promise<Bundle[]> {
  const pages = [first];
  for (;;) {
    const next = fhir.nextPage({ bundle: pages.at(-1)! as never });
    if (!next) return pages;
    pages.push((await next) as unknown as Bundle);
  }
}

function assertEveryMatchOnce(pages: Bundle[]): void {
  const ids = pages.flatMap((p) => (p.entry ?? []).map((e) => e.resource!.id!));
  assert.equal(new Set(ids).size, ids.length, 'no match twice');
  assert.deepEqual(new Set(ids), granted, 'every granted match, nothing else');
  for (const page of pages) {
    assert.equal(page.total, MATCHES);
    for (const e of page.entry ?? []) assert.equal(e.fullUrl, `${base}/Observation/${e.resource!.id}`, 'absolute fullUrl');
  }
}

test('GET search: the default page size, followed by next links alone, returns every match exactly once', async () => {
  const first = (await fhir.search({ resourceType: 'Observation' })) as unknown as Bundle;
  const pages = await followNext(first);
  assert.equal(pages.length, Math.ceil(MATCHES / 50));
  assertEveryMatchOnce(pages);
  const self = first.link?.find((l) => l.relation === 'self')?.url;
  assert.ok(self?.startsWith(`${base}/Observation?`), 'self link is absolute');
});

test('POST _search with _sort and _count: every match once by next links, and previous walks back', async () => {
  const first = (await fhir.search({ resourceType: 'Observation', searchParams: { _sort: '-date', _count: 40, code: 'http://loinc.org|8867-4' }, options: { postSearch: true } })) as unknown as Bundle;
  const pages = await followNext(first);
  assert.equal(pages.length, Math.ceil(MATCHES / 40));
  assertEveryMatchOnce(pages);
  const dates = pages.flatMap((p) => (p.entry ?? []).map((e) => (e.resource as Observation).effectiveDateTime!));
  assert.deepEqual(dates, [...dates].sort().reverse(), 'the _sort holds across pages');
  // The last page's previous link is the page before it.
  const back = (await fhir.prevPage({ bundle: pages.at(-1)! as never })) as unknown as Bundle;
  assert.deepEqual(back.entry?.map((e) => e.resource!.id), pages.at(-2)!.entry?.map((e) => e.resource!.id));
});
