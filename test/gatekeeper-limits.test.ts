/**
 * Gatekeeper request limits (limits.ts): a token bucket per address (429 with retry-after once it is
 * empty, other addresses unaffected), per IP for unsigned requests and for failed signatures, and the
 * body limit (413) — every refusal an OperationOutcome.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LocalAccount } from 'viem';
import { createTokenBuckets } from '../src/gatekeeper/http/limits.js';
import { signRequest } from '../src/protocol/request-signature.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import type { LedgerClient } from '../src/sdk/index.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { testDatabase } from './helpers/db.js';
import { clientFor } from './helpers/gatekeeper.js';

let f: Fixture;
let provider: LedgerClient;
let alice: LocalAccount;
let bob: LocalAccount;
let gk: RunningGatekeeper;

// Refill so slow that no test here sees a token come back.
const SLOW = 0.001;

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  alice = await f.newAccount();
  bob = await f.newAccount();
  gk = await startGatekeeper({
    ledger: provider,
    database: await testDatabase(),
    limits: { perAddress: { perSecond: SLOW, burst: 5 }, anonymous: { perSecond: SLOW, burst: 3 }, failures: { perSecond: SLOW, burst: 1000 }, bodyBytes: 10_000 },
  });
});
after(async () => {
  await gk?.close();
  await f?.close();
});

const PATH = '/fhir/R4/Observation';

async function send(target: RunningGatekeeper, headers: Record<string, string>, path = PATH, init: RequestInit = {}) {
  const res = await fetch(`${target.url}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const body = (await res.json()) as { resourceType: string; issue?: { code: string; diagnostics?: string }[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

const signed = (account: LocalAccount, target = gk, path = PATH) =>
  signRequest(account, { method: 'GET', path, gatekeeper: target.chain.provider, chainId: provider.chainId });

function assertThrottled(r: Awaited<ReturnType<typeof send>>, what: string) {
  assert.equal(r.status, 429, what);
  assert.equal(r.body.resourceType, 'OperationOutcome', what);
  assert.equal(r.body.issue?.[0]?.code, 'throttled', what);
  assert.match(r.retryAfter ?? '', /^[1-9]\d*$/, `${what}: retry-after in whole seconds`);
}

test('token buckets: a burst, then one request per refill; keys are independent', () => {
  const buckets = createTokenBuckets({ perSecond: 2, burst: 3 });
  for (let i = 0; i < 3; i++) {
    assert.equal(buckets.wait('a', 0), 0);
    buckets.take('a', 0);
  }
  assert.equal(buckets.wait('a', 0), 0.5, 'half a second until the next token');
  assert.equal(buckets.wait('b', 0), 0);
  assert.equal(buckets.wait('a', 500), 0);
  buckets.take('a', 500);
  assert.ok(buckets.wait('a', 500) > 0);
  assert.equal(buckets.wait('a', 10_000), 0, 'refilled, never past the burst');
  for (let i = 0; i < 3; i++) buckets.take('a', 10_000);
  assert.ok(buckets.wait('a', 10_000) > 0);
});

test('one address gets 429 after its burst; another address is unaffected', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await send(gk, await signed(alice));
    assert.equal(r.status, 403, `request ${i + 1}: within the burst (refused only for want of a grant)`);
  }
  assertThrottled(await send(gk, await signed(alice)), 'alice, signed, after the burst');
  // Logging in for a session token is a request of the same address: the same bucket.
  assert.equal(await clientFor(gk, provider, alice).login().then(() => 200, (e: { status: number }) => e.status), 429);
  // Bob still has his whole burst.
  for (let i = 0; i < 5; i++) assert.equal((await send(gk, await signed(bob))).status, 403, `bob ${i + 1}`);
  assertThrottled(await send(gk, await signed(bob)), 'bob after his own burst');
});

test('forged requests claiming an address do not drain that address; they count against the IP', async () => {
  const carol = await f.newAccount();
  const forged = { ...(await signed(alice)), 'x-medledger-address': carol.address };
  for (let i = 0; i < 10; i++) assert.equal((await send(gk, forged)).status, 401);
  assert.equal((await send(gk, await signed(carol))).status, 403, 'carol is not throttled');

  const strict = await startGatekeeper({ ledger: provider, database: await testDatabase(), limits: { failures: { perSecond: SLOW, burst: 3 } } });
  try {
    const bad = { ...(await signed(alice, strict)), 'x-medledger-signature': `0x${'11'.repeat(65)}` };
    for (let i = 0; i < 3; i++) assert.equal((await send(strict, bad)).status, 401);
    assertThrottled(await send(strict, bad), 'a fourth failed signature from this IP');
    assertThrottled(await send(strict, await signed(bob, strict)), 'this IP, until the failures refill');
  } finally {
    await strict.close();
  }
});

test('unsigned requests are limited per IP', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await send(gk, {}, '/fhir/R4/metadata')).status, 200);
  assertThrottled(await send(gk, {}, '/fhir/R4/metadata'), 'metadata after the anonymous burst');
  assertThrottled(await send(gk, {}, PATH), 'an unsigned search');
});

test('an oversized body gets 413 as an OperationOutcome', async () => {
  const body = JSON.stringify({ resourceType: 'Observation', status: 'final', note: [{ text: 'x'.repeat(20_000) }] });
  const headers = await signRequest(provider.account!, { method: 'POST', path: PATH, body, gatekeeper: gk.chain.provider, chainId: provider.chainId });
  const r = await send(gk, headers, PATH, { method: 'POST', body, headers: { 'content-type': 'application/fhir+json' } });
  assert.equal(r.status, 413);
  assert.equal(r.body.resourceType, 'OperationOutcome');
  assert.equal(r.body.issue?.[0]?.code, 'too-long');
  // Also when the client lies about the length by streaming it (no content-length).
  const chunked = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(body));
      c.close();
    },
  });
  const s = await fetch(`${gk.url}${PATH}`, { method: 'POST', body: chunked, duplex: 'half', headers: { ...headers, 'content-type': 'application/fhir+json' } } as RequestInit);
  assert.equal(s.status, 413);
  assert.equal(((await s.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
});
