/**
 * A burst of a fault run (issue 19): the provider's EHR (fault-ehr.ts) sends `writes` record writes,
 * spread over every linked patient and both categories, a few milliseconds apart and without waiting
 * for each other's answers, while the patient's client signs a few grants to new viewers; so the
 * gatekeeper has many pointer updates to publish at once and the outboxes many transactions in
 * flight. During the burst the node mines like a network with blocks: automining off, the pending
 * transactions mined every BLOCK_MS (a sent transaction waits for its block, as it does on a 2 s chain;
 * the block is longer than the gatekeeper's 500 ms coalescing window, so flushes overlap).
 *
 * The burst's targeted kill (fault-plan.ts `in-burst`, or `at-send` with `afterWrites`) strikes once
 * `afterWrites` writes are sent and an outbox has a transaction in flight (waited for up to
 * IN_FLIGHT_WAIT_MS), `delayMs` later; it records how many writes and transactions were in flight then
 * (the report's proof that the kill hit in-flight work). Each write is sent again until it is
 * acknowledged (201, or 409 when an earlier try was stored): a write is acknowledged only by a 2xx or
 * by the 409 that proves it stored, and must then be in the store exactly once.
 */
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { retrying, sleep } from './fault-lab.js';
import { armGatekeeper, crash, txsInFlight, type RunState } from './fault-kills.js';
import { CATEGORIES, type Kill, type Op } from './fault-plan.js';

/** How often the node mines what is pending during a burst. */
export const BLOCK_MS = 1_000;
/** Between two writes of a burst (30 writes go out within about 0.75 s). */
const SEND_SPACING_MS = 25;
/** The longest a burst kill waits for a transaction in flight (none may come: a gatekeeper still starting). */
const IN_FLIGHT_WAIT_MS = 3_000;

type Burst = Extract<Op, { kind: 'burst' }>;

/** Runs burst `i` of the plan, with its kill (`restore`: the state file a node kill puts back). */
export async function runBurst(run: RunState, op: Burst, i: number, kill: Kill | undefined, restore: string | undefined): Promise<void> {
  const { lab } = run;
  const miner = paceBlocks(run);
  let sent = 0;
  let answered = 0;
  let striking: Promise<void> | undefined;
  let disarm: (() => Promise<void>) | undefined;
  const inFlight = async () => run.burstKills.push({ target: kill!.target, writesInFlight: sent - answered, txsInFlight: await txsInFlight(lab).catch(() => 0) });
  const strike = async () => {
    for (const until = Date.now() + IN_FLIGHT_WAIT_MS; Date.now() < until && !((await txsInFlight(lab).catch(() => 0)) > 0); ) await sleep(20);
    await sleep(kill!.delayMs);
    if (kill!.when === 'at-send') {
      run.log(`arming the gatekeeper after ${sent} burst writes sent, ${answered} answered`);
      disarm = await armGatekeeper(run, async () => void (await inFlight()));
      return;
    }
    await inFlight();
    await crash(run, kill!.target, restore);
  };
  const patients = lab.patients;
  const writes = Array.from({ length: op.writes }, (_, j) => ({
    id: `w${run.seed}-${i}-${j}`,
    patientId: patients[j % patients.length]!,
    category: CATEGORIES[(j + Math.floor(j / patients.length)) % CATEGORIES.length]!,
  }));
  try {
    const writing = writes.map(async (w, j) => {
      await sleep(j * SEND_SPACING_MS);
      sent++;
      if (kill && sent === kill.afterWrites) striking = strike();
      // An unanswered try (the EHR, the gatekeeper or the node killed) is sent again by the EHR as it is now.
      await retrying(`burst write ${w.id}`, () => lab.ehr.call('write', w, 120_000), 300_000);
      answered++;
      run.acknowledged.push(w.id);
      run.burstWrites++;
    });
    const granting = Array.from({ length: op.grants }, (_, g) => burstGrant(run, g * SEND_SPACING_MS * 4));
    await Promise.all([...writing, ...granting]);
    await striking;
    await disarm?.();
  } finally {
    await miner.stop();
  }
  for (const child of [() => lab.gatekeeper, () => lab.client]) {
    const stats = await retrying('outbox stats', () => child().call<{ maxInFlight?: number }>('stats'), 30_000).catch(() => ({ maxInFlight: 0 }));
    run.peakOutboxInFlight = Math.max(run.peakOutboxInFlight, stats.maxInFlight ?? 0);
  }
}

/** A grant to a new viewer by the patient's client (not acknowledged when the client is killed before it answers). */
async function burstGrant(run: RunState, delayMs: number): Promise<void> {
  const { lab } = run;
  await sleep(delayMs);
  const viewer = privateKeyToAccount(generatePrivateKey()).address;
  try {
    const r = await lab.client.call<{ transactionHash: Hex; blockNumber: string }>('grant', { relationshipId: lab.relationshipId.toString(), viewer, scope: 'Observation?category=laboratory' }, 180_000);
    run.txs.push({ hash: r.transactionHash, kind: 'burst-grant', block: BigInt(r.blockNumber) });
  } catch (err) {
    run.log(`burst grant: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Block pacing for a burst: automining off (again on a restarted node), the pending transactions
 * mined every BLOCK_MS, the deepest pending pool seen kept in `run.peakPending`; `stop` turns
 * automining back on and mines what is left.
 */
function paceBlocks(run: RunState): { stop(): Promise<void> } {
  const { lab } = run;
  const rpc = (method: string, params: unknown[] = []) => lab.reader.publicClient.request({ method: method as never, params: params as never });
  let stopped = false;
  let epoch = -1;
  const loop = (async () => {
    while (!stopped) {
      try {
        const now = lab.chainEpoch;
        if (epoch !== now) {
          await rpc('evm_setAutomine', [false]);
          epoch = now;
        }
        const pending = Number(BigInt(((await rpc('txpool_status')) as { pending: Hex }).pending));
        run.peakPending = Math.max(run.peakPending, pending);
        if (pending > 0) await rpc('evm_mine');
      } catch {
        // the node is restarting: the next round sets it up again
      }
      await sleep(BLOCK_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await retrying('automining back on', async () => {
        await rpc('evm_setAutomine', [true]);
        await rpc('evm_mine');
      }, 60_000);
    },
  };
}
