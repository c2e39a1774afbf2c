/**
 * The gatekeeper coalesces its pointer writes (issue 19; src/gatekeeper/publish/publisher.ts): a
 * burst of writes becomes a few updatePointers transactions, a lone write goes at once, a refused
 * entry fails only its own writers, `awaitChain: false` answers before the block and says "pending"
 * (search headers, $verify) until it comes, `coalesce: false` is one transaction per write as before,
 * and a note left by a write answered before its block is repaired at the next start.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { createPublicClient, custom, getAbiItem, http, toFunctionSelector, type Address, type Hex } from 'viem';
import { withOutbox } from '../src/chain/client.js';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { createOutbox, memoryOutboxStorage } from '../src/chain/outbox.js';
import { POINTER_HEADERS } from '../src/gatekeeper/publish/freshness.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import type { PublishOptions } from '../src/gatekeeper/publish/publisher.js';
import { verifyPointers } from '../src/gatekeeper/publish/verify.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { sql } from '../src/records/sql.js';
import { GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import { relationshipIdFor, removePointer, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, tempDir, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';
import { labResult as lab } from '../bench/harness/linked-patients.js';

const LAB = 'Observation?category=laboratory';
let f: Fixture;
const closing: (() => Promise<void>)[] = [];

before(async () => {
  f = await startFixture();
});
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
  await f?.close();
});

interface Site {
  provider: LedgerClient;
  gk: RunningGatekeeper;
  /** Local Patient ids, each linked to a registered patient. */
  patients: string[];
  /** The patients' own chain clients, by local id. */
  accounts: Map<string, LedgerClient>;
  own: ReturnType<typeof clientFor>;
}

/**
 * A provider with `n` linked patients and its gatekeeper; `ledger` wraps the provider's client (an
 * outbox, an observed transport); `database` to restart on the same store.
 */
async function site(
  n: number,
  options: { publish?: PublishOptions; ledger?: (provider: LedgerClient) => LedgerClient; database?: { dataDir: string } } = {},
): Promise<Site> {
  const provider = await f.newProvider();
  const identities = Array.from({ length: n }, (_, i) => `urn:test:batching|${provider.account!.address}-${i}`);
  const accounts: LedgerClient[] = [];
  for (let i = 0; i < n; i += 10) accounts.push(...(await Promise.all(identities.slice(i, i + 10).map((id) => f.newPatient(provider, id)))));
  const ledger = options.ledger?.(provider) ?? provider;
  const gk = options.database
    ? await startGatekeeper({ ledger, database: options.database, publish: options.publish, limits: { perAddress: { perSecond: 5_000, burst: 10_000 } } })
    : await startTestGatekeeper(ledger, { publish: options.publish, limits: { perAddress: { perSecond: 5_000, burst: 10_000 } } });
  closing.push(() => gk.close());
  const patients: string[] = [];
  const byId = new Map<string, LedgerClient>();
  for (const [i, identity] of identities.entries()) {
    const id = (await gk.store.create({ resourceType: 'Patient', name: [{ family: `Batch${i}` }] })).id!;
    await linkPatient(gk.store, provider, id, identity, PEPPER);
    patients.push(id);
    byId.set(id, accounts[i]!);
  }
  return { provider, gk, patients, accounts: byId, own: clientFor(gk, provider, provider.account!) };
}

/** Every pointer of every patient of `s` carries, on chain, the hash of what the store returns. */
async function chainEqualsStore(s: Site): Promise<void> {
  for (const id of s.patients) {
    const v = await verifyPointers(s.gk.store, f.governor, s.provider.account!.address, id);
    const pointers = v.parameter!.filter((p) => p.name === 'pointer');
    assert.ok(pointers.length > 0, `Patient/${id} has pointers`);
    for (const p of pointers) assert.equal(p.part!.find((x) => x.name === 'match')!.valueBoolean, true, `Patient/${id}: ${p.part![0]!.valueString}`);
  }
}

const pointerUpdated = getAbiItem({ abi: medLedgerAbi, name: 'PointerUpdated' });

/** The provider's transactions since `fromBlock` that updated pointers, and how many pointers each updated. */
async function pointerTransactions(s: Site, fromBlock: bigint): Promise<Map<Hex, number>> {
  const logs = await f.governor.publicClient.getLogs({ address: f.governor.contract, event: pointerUpdated, fromBlock, toBlock: 'latest' });
  const mine = new Set([...s.accounts.values()].map((a) => relationshipIdFor(a.account!.address, s.provider.account!.address)));
  const txs = new Map<Hex, number>();
  for (const log of logs) if (mine.has(log.args.relationshipId!)) txs.set(log.transactionHash, (txs.get(log.transactionHash) ?? 0) + 1);
  return txs;
}

const notes = async (gk: RunningGatekeeper) => (await gk.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM publish_intents`))[0]!.n;
const head = () => f.governor.publicClient.getBlockNumber();
const setAutomine = (on: boolean) => f.governor.publicClient.request({ method: 'evm_setAutomine' as never, params: [on] as never });
const mine = () => f.governor.publicClient.request({ method: 'evm_mine' as never });

/** Polls `condition` (a state change this process cannot be told of) until it holds. */
async function until(condition: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether the provider has a transaction in the pool (sent, not mined). */
const inPool = async (provider: Address) =>
  (await f.governor.publicClient.getTransactionCount({ address: provider, blockTag: 'pending' })) > (await f.governor.publicClient.getTransactionCount({ address: provider, blockTag: 'latest' }));

/** Each patient's first record: opens the relationship with its lab pointer (structural, one transaction each). */
async function firstRecords(s: Site): Promise<void> {
  await Promise.all(s.patients.map((id, i) => s.own.post('/fhir/R4/Observation', lab(id, i))));
}

test('a burst of 200 writes over 50 patients goes on chain in a handful of updatePointers transactions, every hash the store’s', { timeout: 300_000 }, async () => {
  // As a real gatekeeper runs: its transactions through an outbox, many in flight. The window is
  // long, so only the end of the flush in flight starts the next one.
  const s = await site(50, { ledger: (p) => withOutbox(p, createOutbox(memoryOutboxStorage())), publish: { windowMs: 600_000 } });
  await firstRecords(s);
  const from = (await head()) + 1n;
  const stored = async () => (await s.gk.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM resources WHERE resource_type = 'Observation'`))[0]!.n;
  let answers: Promise<{ status: number }[]>;
  // No block while the burst arrives: the first flush stays in flight, every later write queues behind it.
  await setAutomine(false);
  try {
    answers = Promise.all(Array.from({ length: 200 }, (_, i) => s.own.post('/fhir/R4/Observation', lab(s.patients[i % 50]!, 100 + i))));
    await until(async () => (await stored()) === 250, 'every write is stored (and queued)', 120_000);
  } finally {
    await setAutomine(true);
  }
  await mine();
  assert.ok((await answers).every((a) => a.status === 201));
  const txs = await pointerTransactions(s, from);
  console.log(`200 writes over 50 patients: ${txs.size} pointer transactions carrying ${[...txs.values()].join(' + ')} pointer updates`);
  assert.ok(txs.size <= 3, `${txs.size} transactions for 200 writes`);
  assert.equal(Math.max(...txs.values()) >= 49, true, 'the writes queued behind the first flush went as one batch');
  await chainEqualsStore(s);
  assert.equal(await notes(s.gk), 0);
});

test('a lone write is published at once: no window wait when nothing is in flight', { timeout: 60_000 }, async () => {
  // A ten-minute window: a write that waited for it would outlast the test's timeout.
  const s = await site(1, { publish: { windowMs: 600_000 } });
  await firstRecords(s);
  const from = (await head()) + 1n;
  await s.own.post('/fhir/R4/Observation', lab(s.patients[0]!, 7));
  assert.deepEqual([...(await pointerTransactions(s, from)).values()], [1]);
  await s.own.post('/fhir/R4/Observation', lab(s.patients[0]!, 8));
  assert.deepEqual([...(await pointerTransactions(s, from)).values()], [1, 1]);
  await chainEqualsStore(s);
});

test('an entry the contract refuses fails only its own writers; the rest of its batch is published', { timeout: 120_000 }, async () => {
  const updatePointersSelector = toFunctionSelector(getAbiItem({ abi: medLedgerAbi, name: 'updatePointers' }));
  let refuse: { patient: Address } | undefined;
  let s!: Site;
  // The provider's connection, observed: before the next updatePointers is estimated, the pointer of
  // `refuse.patient` goes from the chain (as if the provider's view were stale), so that entry is refused.
  const observed = (provider: LedgerClient): LedgerClient => {
    const inner = createPublicClient({ transport: http(f.runtime.deployment.rpcUrl) });
    const transport = custom({
      async request({ method, params }) {
        const data = (params as { data?: Hex }[] | undefined)?.[0]?.data;
        // viem asks eth_fillTransaction (or eth_estimateGas) for the estimate.
        if ((method === 'eth_estimateGas' || method === 'eth_fillTransaction') && refuse && data?.startsWith(updatePointersSelector)) {
          const { patient } = refuse;
          refuse = undefined;
          await removePointer(provider, { relationshipId: relationshipIdFor(patient, provider.account!.address), query: LAB });
        }
        return inner.request({ method: method as never, params: params as never });
      },
    });
    return { ...provider, publicClient: createPublicClient({ transport }) };
  };
  s = await site(3, { ledger: observed, publish: { windowMs: 50 } });
  await firstRecords(s);
  const [a, b, c] = s.patients as [string, string, string];
  const from = (await head()) + 1n;
  // C's update in flight (held in the pool), so that A's and B's writes join one batch after it.
  await setAutomine(false);
  let cWrite: Promise<unknown>;
  let aWrite: Promise<number>;
  let bWrite: Promise<unknown>;
  try {
    cWrite = s.own.post('/fhir/R4/Observation', lab(c, 1));
    await until(() => inPool(s.provider.account!.address), 'C’s update is sent');
    aWrite = s.own.post('/fhir/R4/Observation', lab(a, 2)).then(
      () => 201,
      (e: GatekeeperRequestError) => e.status,
    );
    bWrite = s.own.post('/fhir/R4/Observation', lab(b, 3));
    const queued = (id: string) => {
      const state = s.gk.publisher.stateOf(id, LAB);
      return state.state === 'pending' && state.queued && state.hash === undefined;
    };
    await until(() => queued(a) && queued(b), 'A’s and B’s writes are queued');
    refuse = { patient: s.accounts.get(a)!.account!.address };
  } finally {
    await setAutomine(true);
  }
  await mine();
  await cWrite;
  await bWrite;
  assert.equal(await aWrite, 500, 'A’s writer hears that its pointer was not published');
  assert.equal(refuse, undefined, 'the refusal happened');
  const txs = await pointerTransactions(s, from);
  assert.deepEqual([...txs.values()], [1, 1], 'C’s update, then B’s on its own once the batch with A was refused');
  const v = await verifyPointers(s.gk.store, f.governor, s.provider.account!.address, b);
  assert.equal(v.parameter!.find((p) => p.name === 'verified')!.valueBoolean, true);
  // A's note stayed; reconciling adds A's pointer back with the store's hash.
  for (let i = 0; (await s.gk.reconcile()).failed > 0 || (await notes(s.gk)) > 0; i++) assert.ok(i < 5, 'reconciling keeps failing');
  await chainEqualsStore(s);
});

test('awaitChain false: the write is answered before its block; search headers and $verify say pending, then current', { timeout: 120_000 }, async () => {
  const s = await site(1, { publish: { awaitChain: false } });
  await firstRecords(s);
  await until(async () => (await notes(s.gk)) === 0, 'the first record is on chain');
  const [id] = s.patients as [string];
  const patient = clientFor(s.gk, s.provider, s.accounts.get(id)!.account!);
  const search = () => patient.get<Bundle>(`/fhir/R4/${LAB}&_count=1000`);
  const verify = async () => (await s.own.get<Parameters>(`/fhir/R4/Patient/${id}/$verify`)).body;
  const part = (v: Parameters, name: string) => v.parameter!.find((p) => p.name === 'pointer')!.part!.find((x) => x.name === name);
  assert.equal((await search()).headers.get(POINTER_HEADERS.state), 'current');
  await setAutomine(false);
  try {
    // No block comes while automine is off: the answer cannot have waited for one.
    const answer = await s.own.post('/fhir/R4/Observation', lab(id, 42));
    assert.equal(answer.status, 201);
    await until(() => inPool(s.provider.account!.address), 'the update is sent');
    const r = await search();
    const storeHash = hashResultSet((await s.gk.store.resultSet(LAB, id)) as ResourceLike[]);
    assert.equal(r.headers.get(POINTER_HEADERS.state), 'pending');
    assert.equal(r.headers.get(POINTER_HEADERS.pendingHash), storeHash);
    assert.equal(r.dataHash, storeHash, 'the answer is the data whose hash is pending');
    assert.ok(Date.parse(r.headers.get(POINTER_HEADERS.pendingSince)!) <= Date.now());
    const v = await verify();
    assert.equal(v.parameter!.find((p) => p.name === 'verified')!.valueBoolean, true, 'pending is not a mismatch');
    assert.equal(part(v, 'state')!.valueCode, 'pending');
    assert.equal(part(v, 'match')!.valueBoolean, false);
    assert.equal(part(v, 'pendingHash')!.valueString, storeHash);
    assert.equal(await notes(s.gk), 1, 'the note stays until the block');
  } finally {
    await setAutomine(true);
  }
  await mine();
  await until(async () => (await notes(s.gk)) === 0, 'the note goes once mined');
  assert.equal((await search()).headers.get(POINTER_HEADERS.state), 'current');
  const v = await verify();
  assert.equal(part(v, 'state')!.valueCode, 'current');
  assert.equal(part(v, 'pendingHash'), undefined);
});

test('coalesce false: one transaction per write, as before batching', { timeout: 120_000 }, async () => {
  const s = await site(2, { publish: { coalesce: false } });
  await firstRecords(s);
  const from = (await head()) + 1n;
  // The two patients' writes concurrently, each patient's one after another.
  await Promise.all(s.patients.map(async (id) => {
    for (let i = 0; i < 4; i++) await s.own.post('/fhir/R4/Observation', lab(id, 200 + i));
  }));
  assert.deepEqual([...(await pointerTransactions(s, from)).values()], Array(8).fill(1));
  await chainEqualsStore(s);
});

test('a write answered before its block, then the gatekeeper gone: the note it left is published at the next start', { timeout: 120_000 }, async () => {
  let chainDown = false;
  // The provider's connection, breakable: while down, sends fail as an unreachable node's would.
  const breakable = (provider: LedgerClient): LedgerClient => {
    const inner = createPublicClient({ transport: http(f.runtime.deployment.rpcUrl) });
    const transport = custom({
      async request({ method, params }) {
        if (chainDown && method !== 'eth_chainId') throw new Error('fetch failed');
        return inner.request({ method: method as never, params: params as never });
      },
    });
    return { ...provider, publicClient: createPublicClient({ transport }) };
  };
  const database = { dataDir: tempDir('medledger-batching-') };
  const s = await site(1, { ledger: breakable, database, publish: { awaitChain: false } });
  await firstRecords(s);
  await until(async () => (await notes(s.gk)) === 0, 'the first record is on chain');
  const [id] = s.patients as [string];
  chainDown = true;
  const answer = await s.own.post('/fhir/R4/Observation', lab(id, 99));
  assert.equal(answer.status, 201, 'answered once stored and noted');
  assert.equal(await notes(s.gk), 1);
  await s.gk.close();
  chainDown = false;
  const restarted = await startGatekeeper({ ledger: s.provider, database, publish: { awaitChain: false } });
  closing.push(() => restarted.close());
  await until(async () => (await notes(restarted)) === 0, 'the note is reconciled at start');
  await chainEqualsStore({ ...s, gk: restarted });
});
