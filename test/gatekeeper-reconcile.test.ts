/**
 * Provider writes stay crash safe (src/gatekeeper/reconcile.ts): the store commits before anything is
 * published, a write whose pointer update did not reach the chain is noted and published later, and
 * only noted patients are re-published (a record changed behind the gatekeeper's back stays a
 * mismatch). The kill -9 between commit and publish is in test/fault.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Observation, Parameters } from '@medplum/fhirtypes';
import { createPublicClient, custom, http } from 'viem';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { verifyPointers } from '../src/gatekeeper/publish/verify.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { sql } from '../src/records/sql.js';
import { GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import type { LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
let patientId: string;
/** What the provider's ledger client sees: each eth_sendRawTransaction checks the store first. */
const atSend: { id: string; stored: boolean }[] = [];
let expectId: string | undefined;
let chainDown = false;

const lab = (id: string, value: number): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
  subject: { reference: `Patient/${patientId}` },
  valueQuantity: { value, unit: 'mg/dL' },
});

const verified = async () => {
  const r = await clientFor(gk, provider, provider.account!).get<Parameters>(`/fhir/R4/Patient/${patientId}/$verify`);
  return r.body.parameter!.find((p) => p.name === 'verified')!.valueBoolean;
};
const notes = async () => (await gk.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM publish_intents`))[0]!.n;

before(async () => {
  f = await startFixture();
  const base = await f.newProvider();
  await f.newPatient(base, 'urn:test|reconcile-patient');
  // The provider's chain connection, observed and breakable: a send first checks the record is
  // already in the store; while `chainDown`, every call fails as an unreachable node would.
  const inner = createPublicClient({ transport: http(f.runtime.deployment.rpcUrl) });
  const publicClient = createPublicClient({
    transport: custom({
      async request({ method, params }) {
        if (chainDown) throw new Error('fetch failed');
        if (method === 'eth_sendRawTransaction' && expectId) {
          const found = await gk.store.read('Observation', expectId).then(
            () => true,
            () => false,
          );
          atSend.push({ id: expectId, stored: found });
        }
        return inner.request({ method: method as never, params: params as never });
      },
    }),
  });
  provider = { ...base, publicClient };
  gk = await startTestGatekeeper(provider);
  patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Reconcile' }] })).id!;
  await linkPatient(gk.store, provider, patientId, 'urn:test|reconcile-patient', PEPPER);
});
after(async () => {
  await gk?.close();
  await f?.close();
});

test('a provider write commits the record to the store before its pointer update is sent', async () => {
  const own = clientFor(gk, provider, provider.account!);
  expectId = 'order-1';
  await own.post('/fhir/R4/Observation', lab('order-1', 90));
  expectId = 'order-2';
  await own.post('/fhir/R4/Observation', lab('order-2', 91));
  expectId = undefined;
  assert.deepEqual(atSend, [
    { id: 'order-1', stored: true },
    { id: 'order-2', stored: true },
  ]);
  assert.equal(await verified(), true);
  assert.equal(await notes(), 0, 'a published write leaves no note');
});

test('concurrent writes for one patient: the last hash on chain is the store’s (hashes are sent in the order they were computed)', async () => {
  const own = clientFor(gk, provider, provider.account!);
  await Promise.all([0, 1, 2, 3, 4].map((i) => own.post('/fhir/R4/Observation', lab(`concurrent-${i}`, 100 + i))));
  assert.equal(await verified(), true);
});

test('a write whose pointer update failed is noted, and reconciling publishes it once the chain is back', async () => {
  const own = clientFor(gk, provider, provider.account!);
  // Sign while the chain is up (the signature does not need it), then take the chain away.
  chainDown = true;
  try {
    const failed = await own.post('/fhir/R4/Observation', lab('while-down', 120)).then(
      () => 0,
      (e: GatekeeperRequestError) => e.status,
    );
    assert.equal(failed, 500);
    assert.ok(await gk.store.read('Observation', 'while-down'), 'the record was committed');
    assert.ok((await notes()) > 0, 'the unpublished write is noted');
    // Checked through another connection: the chain is behind the store.
    const behind = await verifyPointers(gk.store, f.governor, provider.account!.address, patientId);
    assert.equal(behind.parameter!.find((p) => p.name === 'verified')!.valueBoolean, false);
  } finally {
    chainDown = false;
  }
  // The reconciler retries by itself (with back-off); reconcile() runs it now (or joins a run in
  // progress, which may have started while the chain was still away).
  for (let i = 0; (await gk.reconcile()).failed > 0; i++) assert.ok(i < 5, 'reconciling keeps failing');
  assert.equal(await verified(), true);
  assert.equal(await notes(), 0);
});

test('a refused write leaves no note; a record changed behind the gatekeeper is not re-published', async () => {
  const stranger = clientFor(gk, provider, await f.newAccount());
  const refused = await stranger.post('/fhir/R4/Observation', lab('not-allowed', 1)).then(
    () => 0,
    (e: GatekeeperRequestError) => e.status,
  );
  assert.equal(refused, 403);
  assert.equal(await notes(), 0);
  await gk.db.query(sql`UPDATE resources SET content = jsonb_set(content, '{valueQuantity,value}', '400') WHERE resource_type = 'Observation' AND id = 'order-1'`);
  const r = await gk.reconcile();
  assert.equal(r.published.length, 0);
  assert.equal(await verified(), false, 'the tampering stays visible to $verify');
});
