/**
 * Crash safety, by fault injection: the chain node (anvil), a provider's gatekeeper and the patient's
 * Ethereum client run as child processes and are killed with SIGKILL (bench/harness/fault-driver.ts).
 *
 * First the exact points: the node losing its last second right after a grant (the client notices, the
 * outbox sends the same signed transaction again), the gatekeeper dying between the store commit and
 * the pointer update, a revoke that a node restart put at the gatekeeper's last block, and the lost
 * revoke of issue 14 (a rollback to a higher base fee: the revoke's signed bytes can never be mined
 * again, and the outbox must sign it again rather than give it up). Then seeded random runs of a
 * scripted workload with kills at random points plus the targeted ones of bench/harness/fault-plan.ts:
 * FAULT_RUNS runs (default 2) from FAULT_SEED (default random); a failure names its seed and kill
 * schedule, so `FAULT_SEED=<seed> FAULT_RUNS=1` replays it. Then one burst run with a fixed seed
 * (issue 19): writes over six patients sent without waiting for each other while the node mines in
 * blocks, killed mid-burst (bench/harness/fault-burst.ts). `npm run bench -- reliability` runs longer
 * ones (bench/reliability.ts). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import { checkAccess } from '../src/sdk/index.js';
import { runFaultScenario, type FaultReport } from '../bench/harness/fault-driver.js';
import { observation, resyncState, startLab, type Lab } from '../bench/harness/fault-lab.js';
import { toJson } from '../bench/harness/fault-process.js';

const external = Boolean(process.env.MEDLEDGER_RPC_URL);
const skip = external && 'kills the embedded node: not on an external one';
/** One lab (its processes take longer to start than a test takes) for every test of this file. */
let lab: Lab;
before(async () => {
  if (!external) lab = await startLab({ seed: 1 });
});
after(async () => {
  await lab?.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

const receipt = (lab: Lab, hash: Hex) => lab.reader.publicClient.request({ method: 'eth_getTransactionReceipt', params: [hash] }) as Promise<{ status: Hex } | null>;
const granted = (lab: Lab, viewer: number) =>
  checkAccess(lab.reader, { relationshipId: lab.relationshipId, viewer: lab.viewers[viewer]!.account.address, scope: lab.viewers[viewer]!.scope }).then(
    () => true,
    () => false,
  );
const readStatus = (lab: Lab, viewer: number) =>
  lab
    .asViewer(viewer)
    .get<Bundle>(`/fhir/R4/${lab.viewers[viewer]!.scope}`)
    .then(
      (r) => r.status,
      (e: GatekeeperRequestError) => e.status,
    );
const verified = async (lab: Lab) =>
  (await lab.asProvider().get<Parameters>(`/fhir/R4/Patient/${lab.patientId}/$verify`)).body.parameter!.find((p) => p.name === 'verified')!.valueBoolean;

/**
 * A grant by the client, then the node killed before its next state save: the grant's block is lost.
 * The new chain gets a different block at that height before the client's outbox re-sends the grant
 * (were the grant re-mined within the same second, the block — and its hash — could be the very same,
 * and there would be no rollback to notice).
 */
async function grantThenLoseIt(lab: Lab, viewer: number): Promise<Hex> {
  const saved = await lab.saveChainState();
  const r = await lab.client.call<{ transactionHash: Hex }>('grant', { relationshipId: lab.relationshipId.toString(), viewer: lab.viewers[viewer]!.account.address, scope: lab.viewers[viewer]!.scope });
  await lab.client.call('sync'); // the client's checkpoint now holds the block that will be lost
  await lab.client.call('watchOutbox', { on: false });
  assert.ok((await lab.crash('chain', saved)) > 0);
  assert.equal(await receipt(lab, r.transactionHash), null, 'the grant is gone from the chain');
  await lab.reader.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
  await lab.client.call('watchOutbox', { on: true });
  return r.transactionHash;
}

test('kill -9 of the node right after a grant: the client notices the rollback and its outbox re-sends the same transaction', { skip }, async () => {
  const lostTx = await grantThenLoseIt(lab, 1);
  // The same signed transaction (same hash) is back on chain, sent by the client's outbox.
  await until('the lost transaction is on chain again', async () => (await receipt(lab, lostTx))?.status === '0x1');
  await until('the client says its outbox re-sent it', async () => lab.events.some((e) => e.event === 'resubmitted' && e.hash === lostTx && e.who === 'client'));
  await until('the client followed the rollback', async () => lab.events.some((e) => e.event === 'rolledBack'));
  // Its local database equals a fresh resync.
  assert.deepEqual(JSON.parse(toJson(await lab.client.call('state'))), await resyncState(lab));
});

test('kill -9 of the gatekeeper between the store commit and the pointer update: the restart publishes it', { skip }, async () => {
  const own = lab.asProvider();
  // Die at the gas estimate of the write's pointer update (the record is committed by then; viem asks
  // eth_fillTransaction), and again, on another write, at the moment the signed pointer update would
  // be sent (it is in the outbox by then).
  for (const [id, methods] of [
    ['before-estimate', ['eth_estimateGas', 'eth_fillTransaction']],
    ['before-send', ['eth_sendRawTransaction']],
  ] as const) {
    await lab.gatekeeper.call('arm', { methods });
    await assert.rejects(own.post('/fhir/R4/Observation', observation(lab.patientId, id, 'laboratory')));
    await until('the gatekeeper died', async () => !lab.gatekeeper.alive);
    await lab.restartGatekeeper();
    await until('the chain caught up with the store', () => verified(lab));
    // Trying the write again finds it stored (409): exactly once.
    await assert.rejects(own.post('/fhir/R4/Observation', observation(lab.patientId, id, 'laboratory')), (e: GatekeeperRequestError) => e.status === 409);
  }
  const ids = (await own.get<Bundle>('/fhir/R4/Observation?_count=100')).body.entry!.map((e) => e.resource!.id);
  assert.deepEqual(
    ids.filter((id) => id!.startsWith('before-')).sort(),
    ['before-estimate', 'before-send'],
  );
});

test('a revoke that a node restart placed at the gatekeeper’s last block is still honoured', { skip }, async () => {
  const call = (op: string) => lab.client.call(op, { relationshipId: lab.relationshipId.toString(), viewer: lab.viewers[0]!.account.address, scope: lab.viewers[0]!.scope });
  await call('grant');
  // A provider write (a pointer update in a new block), not yet saved by the node; then a read that
  // leaves the grant in the gatekeeper's cache, read at that block.
  await lab.gatekeeper.call('watchOutbox', { on: false });
  try {
    const saved = await lab.saveChainState();
    await lab.asProvider().post('/fhir/R4/Observation', observation(lab.patientId, 'lost-block', 'vital-signs'));
    assert.equal(await readStatus(lab, 0), 200);
    const lost = await lab.crash('chain', saved);
    assert.ok(lost > 0, 'the restart lost the write’s block');
    // On the new chain the revoke takes the very height the gatekeeper last saw.
    await call('revoke');
    assert.equal(await granted(lab, 0), false);
    assert.equal(await readStatus(lab, 0), 403, 'the revoked grant is not honoured');
  } finally {
    // Whatever happened above, the next tests get a gatekeeper that watches its outbox again.
    await lab.gatekeeper.call('watchOutbox', { on: true });
  }
  await until('the gatekeeper’s pointer update is back', () => verified(lab));
  assert.equal(await readStatus(lab, 0), 403);
});

test('kill -9 of the node right after a revoke’s receipt, back to a state with a higher base fee: the revoke still lands (issue 14)', { skip }, async () => {
  const viewer = 1;
  const call = (op: string) => lab.client.call<{ transactionHash: Hex }>(op, { relationshipId: lab.relationshipId.toString(), viewer: lab.viewers[viewer]!.account.address, scope: lab.viewers[viewer]!.scope });
  const rpc = (method: string, params: unknown[] = []) => lab.reader.publicClient.request({ method: method as never, params: params as never });
  await call('grant');
  // The state the node will come back to: the grant in it, a base fee of 1 gwei. Then other users'
  // blocks lower the base fee by 1/8 each, and the revoke is signed for at most twice the lower fee.
  await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(10n ** 9n).toString(16)}`]);
  await rpc('evm_mine');
  const saved = await lab.saveChainState();
  for (let i = 0; i < 8; i++) await rpc('evm_mine');
  const revoke = await call('revoke'); // the patient is told: revoked
  assert.ok((await lab.crash('chain', saved)) > 0);
  assert.equal(await receipt(lab, revoke.transactionHash), null, 'the crash took the revoke');
  // The grant is back — unless the client's outbox, which watches for rollbacks on every block
  // (src/chain/outbox-wait.ts), has already signed the revoke again and it is mined.
  const resigned = () => lab.events.some((e) => e.event === 'resigned' && e.hash === revoke.transactionHash);
  if (!(await granted(lab, viewer))) await until('the grant is back, or the revoke was already signed again', async () => resigned() || undefined);
  // Its signed bytes can never be mined again (their fee cap is below the base fee now): the client's
  // outbox signs the same revoke again at its nonce.
  const again = await until('the client signed the revoke again', async () => lab.events.find((e) => e.event === 'resigned' && e.hash === revoke.transactionHash)?.next as Hex | undefined);
  await until('the revoke is on chain', async () => (await receipt(lab, again))?.status === '0x1');
  assert.equal(await granted(lab, viewer), false);
  // What this test is about is that the revoke lands; the gatekeeper honours it once its view reaches
  // the revoke's block (how soon is test/gatekeeper-freshness.test.ts's subject).
  await until('the gatekeeper refuses the revoked grant', async () => (await readStatus(lab, viewer)) === 403);
  assert.ok(!lab.events.some((e) => e.event === 'dropped' && e.reason !== 'confirmed'), 'no outbox gave anything up');
});

const runs = Number(process.env.FAULT_RUNS ?? 2);
const firstSeed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1e9));

/** Every safety property of one run, each message naming the seed. */
function assertSafe(r: FaultReport): void {
  const replay = `${r.schedule}\n(replay: FAULT_SEED=${r.seed} FAULT_RUNS=1 node --import tsx --test test/fault.test.ts)\n`;
  assert.deepEqual(r.lostRecords, [], `${replay}: acknowledged records lost`);
  assert.deepEqual(r.duplicatedRecords, [], `${replay}: records stored twice`);
  assert.deepEqual(r.hashMismatches, [], `${replay}: chain pointers differ from the store`);
  assert.ok(r.clientMatchesResync, `${replay}: the client's local database differs from a fresh resync: ${r.clientDiff}`);
  assert.deepEqual(r.lateGrantReads, [], `${replay}: a read was permitted after its grant's revoke`);
  assert.deepEqual(r.missingTxs, [], `${replay}: acknowledged transactions missing from the chain`);
}

for (let i = 0; i < runs; i++) {
  const seed = firstSeed + i;
  test(`randomised run ${i + 1}/${runs} (seed=${seed}): kill -9 of node, gatekeeper and client during a scripted workload`, { skip }, async (t) => {
    // On the lab the tests above used (starting the processes costs more than a run); the bench starts one per run.
    const r = await runFaultScenario({ seed, ops: 12, kills: 3, lab });
    t.diagnostic(`seed=${seed}: ${r.writesAcknowledged} writes, ${r.acknowledgedTxs} grants/revokes, ${r.reads} reads judged; node lost ${r.rolledBackBlocks} blocks (at most ${r.deepestRollback} at once), ${r.txsLostByCrash} acknowledged transactions, outboxes re-sent ${r.resubmittedTxs} and signed ${r.resignedTxs} again; ${r.seconds.toFixed(0)} s`);
    assertSafe(r);
  });
}

/** Seed of the burst run: its two bursts are killed at the node (rolled back to before the burst, to a higher base fee) and at the gatekeeper's next send (a pointer update being flushed). */
const BURST_SEED = 19;

test(`bursts with many writes and transactions in flight (seed=${BURST_SEED}): kill -9 mid-burst loses and duplicates nothing, every pointer equals the store`, { skip }, async (t) => {
  const burst = { bursts: 2, writes: 12 };
  const r = await runFaultScenario({ seed: BURST_SEED, ops: 8, kills: 0, burst, lab });
  const atKills = r.burstKills.map((k) => `${k.target}: ${k.writesInFlight} writes, ${k.txsInFlight} txs`).join('; ');
  t.diagnostic(`seed=${BURST_SEED}: ${r.burstWrites} burst writes of ${r.writesAcknowledged} acknowledged; in flight at the burst kills: ${atKills}; up to ${r.peakPendingTxs} transactions pending at once; ${r.seconds.toFixed(0)} s`);
  assertSafe(r);
  // Every burst write was retried until acknowledged, and each burst was killed while under way.
  assert.equal(r.burstWrites, burst.bursts * burst.writes);
  assert.equal(r.burstKills.length, burst.bursts, r.schedule);
  assert.ok(r.burstKills.some((k) => k.writesInFlight > 0), `${r.schedule}: no burst kill struck while writes were in flight`);
});
