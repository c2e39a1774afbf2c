/**
 * The chain view follows the head by subscription: decisions cost no RPC call, yet a revoke is
 * honoured by the next request after its block, through every cache (grants, requester, compiled
 * policy, read results) and for signed and token requests alike. Without a subscription the view
 * asks the node before each decision, as strictly.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { createPublicClient, http, type LocalAccount } from 'viem';
import { createChainView, type ChainView } from '../src/gatekeeper/chain/chain-view.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { findRelationship, grantViewer, revokeViewer, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';
import { labResult as lab } from '../bench/harness/linked-patients.js';

let f: Fixture;
let provider: LedgerClient;
let patient: LedgerClient;
let gk: RunningGatekeeper;
let rel: bigint;
const SCOPE = 'Observation?category=laboratory';

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  patient = await f.newPatient(provider, 'urn:test|fresh-patient');
  gk = await startTestGatekeeper(provider);
  const patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Fresh' }] })).id!;
  await linkPatient(gk.store, provider, patientId, 'urn:test|fresh-patient', PEPPER);
  await clientFor(gk, provider, provider.account!).post('/fhir/R4/Observation', lab(patientId, 90));
  rel = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
});
after(async () => {
  await gk?.close();
  await f?.close();
});

/** A client for the same deployment whose JSON-RPC methods are counted. */
function countingClient(): { client: LedgerClient; calls: string[] } {
  const calls: string[] = [];
  const publicClient = createPublicClient({
    transport: http(f.runtime.deployment.rpcUrl, {
      async onFetchRequest(request) {
        const body = (await request.clone().json()) as { method: string } | { method: string }[];
        for (const b of [body].flat()) calls.push(b.method);
      },
    }),
  });
  return { client: { ...provider, publicClient }, calls };
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the view has applied `block` (its announcement travels over the socket). */
async function applied(view: ChainView, block: bigint): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await view.sync()) < block) {
    if (Date.now() > deadline) throw new Error(`the view never reached block ${block}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('while following the head, decisions make no RPC call; a grant and a revoke show once their block is announced', async () => {
  const viewer = await f.newAccount();
  const { client, calls } = countingClient();
  const view = createChainView(client, provider.account!.address);
  try {
    assert.deepEqual(await view.grantsOf(viewer.address), []); // first use: strict look, starts following
    await until(() => view.following, 'the view follows the head');
    calls.length = 0;
    for (let i = 0; i < 50; i++) assert.deepEqual(await view.grantsOf(viewer.address), []);
    assert.deepEqual(calls, [], 'no RPC call for 50 cached decisions');

    const granted = await grantViewer(patient, { relationshipId: rel, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });
    await applied(view, granted.blockNumber);
    assert.deepEqual((await view.grantsOf(viewer.address)).map((g) => g.scope), [SCOPE]);
    calls.length = 0;
    for (let i = 0; i < 20; i++) await view.grantsOf(viewer.address);
    assert.equal(calls.filter((m) => m === 'eth_blockNumber').length, 0);

    const revoked = await revokeViewer(patient, { relationshipId: rel, viewer: viewer.address, scope: SCOPE });
    await applied(view, revoked.blockNumber);
    assert.deepEqual(await view.grantsOf(viewer.address), [], 'the warm cache entry was dropped by the ViewerRevoked event');
  } finally {
    view.close();
  }
  assert.equal(view.following, false);
});

test('without a subscription the view asks the node before each decision, and is as strict', async () => {
  const viewer = await f.newAccount();
  const { client, calls } = countingClient();
  const view = createChainView(client, provider.account!.address, { headsUrl: false });
  await grantViewer(patient, { relationshipId: rel, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });
  assert.equal((await view.grantsOf(viewer.address)).length, 1);
  calls.length = 0;
  for (let i = 0; i < 5; i++) await view.grantsOf(viewer.address);
  assert.equal(calls.filter((m) => m === 'eth_blockNumber').length, 5);
  await revokeViewer(patient, { relationshipId: rel, viewer: viewer.address, scope: SCOPE });
  assert.deepEqual(await view.grantsOf(viewer.address), [], 'no wait needed: the look starts after the call');
  assert.equal(view.following, false);
  view.close();
});

test('a revoke, which names only its grant tag, drops only the answer of its viewer, even for a grant older than the view', async () => {
  const [v, w] = [await f.newAccount(), await f.newAccount()];
  for (const viewer of [v, w]) await grantViewer(patient, { relationshipId: rel, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });
  const { client, calls } = countingClient();
  const view = createChainView(client, provider.account!.address, { headsUrl: false });
  assert.equal((await view.grantsOf(w.address)).length, 1); // w's answer is cached; v's grant was never read
  await revokeViewer(patient, { relationshipId: rel, viewer: v.address, scope: SCOPE });
  calls.length = 0;
  assert.equal((await view.grantsOf(w.address)).length, 1);
  assert.equal(calls.filter((m) => m === 'eth_getLogs').length, 2, `the look and one lookup of the unknown tag's viewer: ${calls}`);
  assert.equal(calls.filter((m) => m === 'eth_call').length, 0, `w's answer was kept: ${calls}`);
  assert.deepEqual(await view.grantsOf(v.address), []);

  // w's tag was learnt when its answer was read: no lookup, and w's answer is dropped.
  await revokeViewer(patient, { relationshipId: rel, viewer: w.address, scope: SCOPE });
  calls.length = 0;
  assert.deepEqual(await view.grantsOf(w.address), []);
  assert.equal(calls.filter((m) => m === 'eth_getLogs').length, 2, `the look, then w's grants read again: ${calls}`);
  view.close();
});

test('a node without a WebSocket endpoint leaves the view strict (and it still decides)', async () => {
  const view = createChainView(provider, provider.account!.address, { headsUrl: 'ws://127.0.0.1:9/' });
  const viewer = await f.newAccount();
  assert.deepEqual(await view.grantsOf(viewer.address), []);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(view.following, false);
  assert.deepEqual(await view.grantsOf(viewer.address), []);
  view.close();
});

async function status(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 200,
    (e: { status: number }) => e.status,
  );
}

test('grant revoked: the next read after the revoke block is refused even with every cache warm (signed and token reads)', async () => {
  for (let round = 0; round < 3; round++) {
    const viewer: LocalAccount = await f.newAccount();
    const client = clientFor(gk, provider, viewer);
    const scope = { relationshipId: rel, viewer: viewer.address, scope: SCOPE };
    await grantViewer(patient, { ...scope, expiresAt: 0 });
    await gk.chain.sync(); // the gatekeeper starts following on first use
    await until(() => gk.chain.following, 'the gatekeeper follows the head');
    for (let i = 0; i < 3; i++) {
      assert.equal((await client.get<Bundle>('/fhir/R4/Observation?category=laboratory')).body.total, 1);
      assert.equal((await client.getWithToken<Bundle>('/fhir/R4/Observation?category=laboratory')).body.total, 1);
    }
    await revokeViewer(patient, scope);
    const [tokenRead, signedRead] = round % 2 ? [client.getWithToken('/fhir/R4/Observation?category=laboratory'), undefined] : [undefined, client.get('/fhir/R4/Observation?category=laboratory')];
    assert.equal(await status((tokenRead ?? signedRead)!), 403, `round ${round}: ${tokenRead ? 'token' : 'signed'} read after the revoke`);
    assert.equal(await status(client.getWithToken('/fhir/R4/Observation?category=laboratory')), 403);
    assert.equal(await status(client.get('/fhir/R4/Observation?category=laboratory')), 403);
  }
});
