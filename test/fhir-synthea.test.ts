/**
 * A real Synthea export (data/synthea-sample: 3 patients with their Encounters, Conditions,
 * MedicationRequests, Procedures, Immunizations, DocumentReferences and Devices, and the
 * Organizations, Practitioners, PractitionerRoles and Locations they name) imported as one
 * transaction Bundle per patient (bench/harness/synthea.ts) by a stock client, every conditional
 * reference resolved; then read back, equal modulo id and meta, by a third party the patients
 * granted — and a Bundle with one bad entry stores nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Identifier, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { linkPatient, publishPatient } from '../src/gatekeeper/publish/publish.js';
import { ADDRESS_SYSTEM } from '../src/protocol/identifiers.js';
import { findRelationship, grantViewer, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { DIRECTORY, identifierToken, patientBundle, readSyntheaSample, rewrite } from '../bench/harness/synthea.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

/** The types a third party can be granted on chain (protocol/pointer-query.ts) that the sample has. */
const GRANTED = ['Patient', 'Encounter', 'Condition', 'MedicationRequest', 'Procedure', 'Immunization', 'DocumentReference', 'Device'];

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let fhir: Client;
const sample = readSyntheaSample();
const patientIds = sample.get('Patient')!.map((p) => p.id!);
/** `Type/originalId` → `Type/storedId`, from the transaction responses. */
const stored = new Map<string, string>();

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  // The largest patient's Bundle is ~1.7 MB.
  gk = await startTestGatekeeper(provider, { limits: { bodyBytes: 4_000_000 } });
  fhir = new Client({ baseUrl: `${gk.url}/fhir/R4`, bearerToken: await clientFor(gk, provider, provider.account!).login() });
});
after(async () => {
  await gk?.close();
  await f?.close();
});

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    return (err as { response: { status: number } }).response.status;
  }
}

test('a patient Bundle with one bad entry (its last Procedure) is refused and stores nothing', async () => {
  const bundle = patientBundle(sample, patientIds[0]!);
  const last = bundle.entry!.filter((e) => e.resource?.resourceType === 'Procedure').at(-1)!;
  last.resource = { ...last.resource!, status: 'not-a-status' } as unknown as Resource;
  assert.equal(await statusOf(fhir.transaction({ body: bundle as never })), 400);
  assert.equal(await gk.store.countResources(), 0);
});

test('every patient imports as one transaction: 100 % of the sample stored, conditional references resolved', async () => {
  for (const patientId of patientIds) {
    const bundle = patientBundle(sample, patientId);
    const response = (await fhir.transaction({ body: bundle as never })) as unknown as Bundle;
    response.entry!.forEach((e, i) => {
      assert.match(e.response!.status!, /^20[01]/);
      const original = bundle.entry![i]!;
      const originalId = original.fullUrl?.replace('urn:uuid:', '') ?? original.resource!.id!;
      stored.set(`${original.resource!.resourceType}/${originalId}`, e.response!.location!.replace(/\/_history\/\d+$/, ''));
    });
  }
  for (const [type, resources] of sample) assert.equal(await gk.store.countResources(type), resources.length, type);
  // Every Synthea conditional reference now names one stored resource.
  for (const r of await gk.store.search('Encounter', '_count=1000').then((s) => s.resources)) {
    assert.doesNotMatch(JSON.stringify(r), /"reference":"[A-Za-z]+\?/);
  }
});

test('a third party the patients granted reads it all back, equal modulo id and meta', async () => {
  const carolAccount = await f.newAccount();
  for (const [i, patientId] of patientIds.entries()) {
    const chainPatient = await f.newPatient(provider, `urn:synthea|${i}`);
    const localId = stored.get(`Patient/${patientId}`)!.split('/')[1]!;
    await linkPatient(gk.store, provider, localId, `urn:synthea|${i}`, PEPPER);
    await publishPatient(gk.store, provider, localId);
    const relationshipId = (await findRelationship(provider, { patient: chainPatient.account!.address, provider: provider.account!.address }))!;
    for (const scope of GRANTED) await grantViewer(chainPatient, { relationshipId, viewer: carolAccount.address, scope, expiresAt: 0 });
  }
  const carol = new Client({ baseUrl: `${gk.url}/fhir/R4`, bearerToken: await clientFor(gk, provider, carolAccount).login() });
  // Synthea's conditional references, as the import resolved them.
  const resolved = new Map<string, string>(stored);
  for (const type of DIRECTORY) for (const r of sample.get(type)!) resolved.set(`${type}?identifier=${identifierToken(r)}`, stored.get(`${type}/${r.id}`)!);
  for (const [type, reader] of [...GRANTED, ...DIRECTORY, 'PractitionerRole'].map((t) => [t, carol] as const)) {
    const got = new Map((await readAll(reader, type)).map((r) => [`${type}/${r.id}`, r]));
    assert.equal(got.size, sample.get(type)!.length, `${type}: every one`);
    for (const original of sample.get(type)!) {
      const key = stored.get(`${type}/${original.id}`)!;
      assert.deepEqual(comparable(got.get(key)!), comparable(rewrite(original, resolved)), key);
    }
  }
});

/** Every match of `type` for `client`, following `next` links. */
async function readAll(client: Client, type: string): Promise<Resource[]> {
  let page = (await client.search({ resourceType: type, searchParams: { _count: '200' } })) as unknown as Bundle;
  const out = (page.entry ?? []).map((e) => e.resource!);
  for (;;) {
    const next = client.nextPage({ bundle: page as never });
    if (!next) return out;
    page = (await next) as unknown as Bundle;
    out.push(...(page.entry ?? []).map((e) => e.resource!));
  }
}

/** A resource without what the server owns: id, meta, and the chain address a link added to a Patient. */
function comparable(resource: Resource): unknown {
  const { id: _id, meta, ...rest } = resource as Resource & { identifier?: Identifier[] };
  const copy = rest as typeof rest & { identifier?: Identifier[] };
  if (copy.identifier) copy.identifier = copy.identifier.filter((i) => i.system !== ADDRESS_SYSTEM);
  return { ...copy, profile: meta?.profile };
}
