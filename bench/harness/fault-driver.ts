/**
 * The fault-injection driver: a seeded scripted workload (record writes through the gatekeeper,
 * grants and revokes by the patient's client, reads by third parties) runs against the processes of a
 * lab (fault-lab.ts), each `kill -9`ed and restarted at points the seed plans (fault-plan.ts: random
 * ones, and targeted ones around revokes and pointer updates). Afterwards it checks what must hold
 * (fault-checks.ts):
 *
 * - every write the workload saw acknowledged is in the store exactly once (writes carry their own
 *   id and are retried until acknowledged: 201, or 409 when an earlier try was stored), those of
 *   bursts (fault-burst.ts: many writes and transactions in flight, killed mid-way) included;
 * - every pointer on chain carries the hash of what the store returns for it (`$verify`), and every
 *   query the records fall under has a pointer;
 * - the client's local database equals a fresh resync from the chain;
 * - no read was permitted when the chain said the grant was revoked (the grant's state is derived from
 *   the chain's ViewerGranted/ViewerRevoked events at every block between the read's start and end);
 * - every transaction the client acknowledged is on the final chain, successful — including those a
 *   node crash took (anvil saves its state once a second), which the outbox must have sent again (or
 *   signed again: then the one the outbox says stands for it).
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { GatekeeperRequestError } from '../../src/sdk/gatekeeper.js';
import { runBurst } from './fault-burst.js';
import { checkPointers, checkRecords, checkTxs, grantActive, type ReadRecord } from './fault-checks.js';
import { armGatekeeper, crash, feeRollbackPoint, type BurstKill, type RunState } from './fault-kills.js';
import { observation, resyncState, retrying, sleep, startLabRetrying, type Lab, type PublishMode } from './fault-lab.js';
import { describePlan, planWorkload, type BurstPlan, type Kill, type Op, type Plan } from './fault-plan.js';
import { toJson } from './fault-process.js';

export type { ReadRecord } from './fault-checks.js';
export type { BurstKill } from './fault-kills.js';

export interface FaultReport {
  seed: number;
  /** The plan in one line (describePlan): operations and kills. */
  schedule: string;
  ops: Op[];
  kills: Kill[];
  writesAcknowledged: number;
  /** Acknowledged writes missing from the store. */
  lostRecords: string[];
  /** Writes found more than once. */
  duplicatedRecords: string[];
  /** Pointers whose chain hash differs from the store's, or queries with records and no pointer. */
  hashMismatches: string[];
  clientMatchesResync: boolean;
  clientDiff?: string;
  reads: number;
  /** Every judged read, for the record. */
  readRecords: ReadRecord[];
  readsUnjudged: number;
  /** Reads permitted although the chain had the grant revoked at every block the read spanned. */
  lateGrantReads: ReadRecord[];
  /** Reads refused although the chain had the grant active throughout (not a safety failure; reported). */
  wrongfulDenials: number;
  /** Grants and revokes the client acknowledged. */
  acknowledgedTxs: number;
  /** Acknowledged transactions missing from (or failed on) the final chain. */
  missingTxs: string[];
  /** Acknowledged transactions a node crash took (each must be back by the end). */
  txsLostByCrash: number;
  /** Distinct transactions any outbox sent again. */
  resubmittedTxs: number;
  /** Transactions an outbox signed again (their fee refused after a rollback, or their nonce taken). */
  resignedTxs: number;
  /** Blocks the node lost over all its crashes. */
  rolledBackBlocks: number;
  /** The most blocks one crash lost (must stay below the outboxes' 64 confirmations). */
  deepestRollback: number;
  /** Rollbacks the client's watcher followed. */
  clientRollbacks: number;
  /** How the gatekeeper published (fault-lab.ts PUBLISH_MODES). */
  publish: PublishMode;
  /** Bursts run, and their writes acknowledged (also in writesAcknowledged). */
  bursts: number;
  burstWrites: number;
  /** Each kill that struck during a burst, with the writes and transactions in flight then. */
  burstKills: BurstKill[];
  /** The most transactions the node held unmined at once during bursts. */
  peakPendingTxs: number;
  /** The most sends one outbox (gatekeeper's or client's) had waiting for receipts at once, as they count it (src/chain/outbox.ts stats), read after each burst. */
  peakOutboxInFlight: number;
  seconds: number;
}

/** One seeded run: start a lab (or use `lab`, left running), run the plan with its kills, settle, check. */
export async function runFaultScenario(options: {
  seed: number;
  ops?: number;
  kills?: number;
  burst?: BurstPlan;
  /** How the gatekeeper publishes (a shared lab's gatekeeper is restarted for it); the lab's by default. */
  publish?: PublishMode;
  log?: (line: string) => void;
  lab?: Lab;
}): Promise<FaultReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const { seed } = options;
  const plan = planWorkload(seed, options.ops ?? 14, options.kills ?? 3, options.burst);
  const schedule = describePlan(seed, plan);
  log(schedule);
  const lab = options.lab ?? (await startLabRetrying({ seed, publish: options.publish, log }));
  if (options.publish) await lab.usePublish(options.publish);
  log(`gatekeeper publishing ${lab.publish}`);
  log(`lab ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const eventsBefore = lab.events.length;
  const run: RunState = {
    seed,
    lab,
    log,
    acknowledged: ['setup-laboratory', 'setup-vital-signs'],
    txs: [],
    lostByCrash: new Set(),
    reads: [],
    readsUnjudged: 0,
    rollbacks: [],
    saves: new Map(),
    burstWrites: 0,
    burstKills: [],
    peakPending: 0,
    peakOutboxInFlight: 0,
  };
  try {
    await executePlan(run, plan);
    await quietDown(lab);
    const events = lab.events.slice(eventsBefore);
    const records = await checkRecords(lab, run.acknowledged);
    const hashMismatches = await checkPointers(lab);
    const client = await checkClient(lab);
    const missingTxs = await checkTxs(lab, run.txs, events);
    const report: FaultReport = {
      seed,
      schedule,
      ops: plan.ops,
      kills: plan.kills,
      writesAcknowledged: run.acknowledged.length,
      lostRecords: records.lost,
      duplicatedRecords: records.duplicated,
      hashMismatches,
      clientMatchesResync: client.matches,
      clientDiff: client.diff,
      reads: run.reads.length,
      readRecords: run.reads,
      readsUnjudged: run.readsUnjudged,
      lateGrantReads: run.reads.filter((r) => r.status === 200 && !r.active.some(Boolean)),
      wrongfulDenials: run.reads.filter((r) => r.status !== 200 && r.active.every(Boolean)).length,
      acknowledgedTxs: run.txs.length,
      missingTxs,
      txsLostByCrash: run.lostByCrash.size,
      resubmittedTxs: new Set(events.filter((e) => e.event === 'resubmitted').map((e) => e.hash)).size,
      resignedTxs: events.filter((e) => e.event === 'resigned').length,
      rolledBackBlocks: run.rollbacks.reduce((a, b) => a + b, 0),
      deepestRollback: Math.max(0, ...run.rollbacks),
      clientRollbacks: events.filter((e) => e.event === 'rolledBack').length,
      publish: lab.publish,
      bursts: plan.ops.filter((o) => o.kind === 'burst').length,
      burstWrites: run.burstWrites,
      burstKills: run.burstKills,
      peakPendingTxs: run.peakPending,
      peakOutboxInFlight: run.peakOutboxInFlight,
      seconds: (Date.now() - started) / 1000,
    };
    log(`seed=${seed}: ${toJson({ ...report, schedule: undefined, ops: undefined, kills: undefined, readRecords: undefined })}`);
    return report;
  } catch (err) {
    (err as Error).message = `${schedule}\n${(err as Error).message}\ngatekeeper stderr: ${lab.gatekeeper?.stderr().slice(-1500)}\nclient stderr: ${lab.client?.stderr().slice(-1500)}`;
    throw err;
  } finally {
    if (!options.lab) await lab.close();
  }
}

/** Runs the operations in order, each with its kill. */
async function executePlan(run: RunState, plan: Plan): Promise<void> {
  const { lab } = run;
  for (let i = 0; i < plan.ops.length; i++) {
    const kill = plan.kills.find((k) => k.at === i);
    const restoring = plan.kills.find((k) => k.restoreFrom === i);
    if (restoring?.mineBefore) run.saves.set(i, await feeRollbackPoint(lab, restoring.mineBefore));
    else if (restoring) run.saves.set(i, await lab.copyChainState());
    const restore = kill?.restoreFrom === undefined ? undefined : run.saves.get(kill.restoreFrom);
    const op = plan.ops[i]!;
    if (op.kind === 'burst') {
      // A burst strikes its own kill while under way (fault-burst.ts).
      await runBurst(run, op, i, kill, restore);
      continue;
    }
    const during = kill?.when === 'during' ? sleep(kill.delayMs).then(() => crash(run, kill.target, restore)) : undefined;
    const armed = kill?.when === 'at-send' ? await armGatekeeper(run) : undefined;
    await runOp(run, op, i);
    if (kill?.when === 'after') await crash(run, kill.target, restore);
    await during;
    await armed?.();
  }
}

async function runOp(run: RunState, op: Exclude<Op, { kind: 'burst' }>, i: number): Promise<void> {
  const { lab } = run;
  if (op.kind === 'write') {
    const id = `w${run.seed}-${i}`;
    await retrying(`write ${id}`, async () => {
      try {
        await lab.asProvider().post('/fhir/R4/Observation', observation(lab.patientId, id, op.category));
      } catch (err) {
        // An earlier try was stored before its answer was lost: the id is taken.
        if (!(err instanceof GatekeeperRequestError && err.status === 409)) throw err;
      }
    }, 300_000);
    run.acknowledged.push(id);
    return;
  }
  const { account, scope } = lab.viewers[op.viewer]!;
  if (op.kind === 'grant' || op.kind === 'revoke') {
    try {
      const r = await lab.client.call<{ transactionHash: Hex; blockNumber: string }>(op.kind, { relationshipId: lab.relationshipId.toString(), viewer: account.address, scope }, 180_000);
      run.txs.push({ hash: r.transactionHash, kind: op.kind, block: BigInt(r.blockNumber) });
    } catch (err) {
      run.log(`${op.kind} ${op.viewer}: ${(err as Error).message.split('\n')[0]}`);
    }
    return;
  }
  await judgedRead(run, op.viewer);
}

/** A read by a viewer, judged against the grant's state on chain at every block it spanned (unjudged when the node restarted meanwhile). */
async function judgedRead(run: RunState, viewer: number): Promise<void> {
  const { lab } = run;
  const pc = lab.reader.publicClient;
  const epoch = lab.chainEpoch;
  const read = await retrying(`read by viewer ${viewer}`, async () => {
    const pre = await pc.getBlockNumber({ cacheTime: 0 });
    const status = await lab
      .asViewer(viewer)
      .get<Bundle>(`/fhir/R4/${lab.viewers[viewer]!.scope}`)
      .then(
        (r) => r.status,
        (err) => {
          if (err instanceof GatekeeperRequestError && (err.status === 403 || err.status === 410)) return err.status;
          throw err; // unreachable gatekeeper, or a node it could not ask: no decision, try again
        },
      );
    const post = await pc.getBlockNumber({ cacheTime: 0 });
    return { pre, status, post };
  }, 300_000);
  const active = epoch === lab.chainEpoch ? await grantActive(lab, viewer, read.pre, read.post) : undefined;
  if (!active || epoch !== lab.chainEpoch) {
    run.readsUnjudged++;
    return;
  }
  run.reads.push({ viewer, status: read.status, pre: read.pre.toString(), post: read.post.toString(), active });
}

/** Outboxes re-send what the chain lost, the gatekeeper publishes what it left behind, until two rounds in a row have nothing to do. */
async function quietDown(lab: Lab): Promise<void> {
  let quiet = 0;
  for (let round = 0; round < 60 && quiet < 2; round++) {
    const c = await retrying('client settle', () => lab.client.call<{ resubmitted: number }>('settle'));
    const g = await retrying('gatekeeper settle', () => lab.gatekeeper.call<{ resubmitted: number }>('settle'));
    const r = await retrying('gatekeeper reconcile', () => lab.gatekeeper.call<{ published: number; failed: number }>('reconcile'));
    quiet = c.resubmitted + g.resubmitted + r.published + r.failed === 0 ? quiet + 1 : 0;
    if (quiet < 2) await sleep(200);
  }
}

/** The client's local database against a fresh resync from the chain. */
async function checkClient(lab: Lab): Promise<{ matches: boolean; diff?: string }> {
  const clientState = JSON.parse(toJson(await retrying('client state', () => lab.client.call('state')))) as Record<string, unknown[]>;
  const freshState = (await resyncState(lab)) as Record<string, unknown[]>;
  if (JSON.stringify(clientState) === JSON.stringify(freshState)) return { matches: true };
  const diff = Object.keys(freshState)
    .map((k) => `${k}: client ${clientState[k]?.length} vs resync ${freshState[k]!.length}${JSON.stringify(clientState[k]) === JSON.stringify(freshState[k]) ? '' : ' (differ)'}`)
    .join('; ');
  return { matches: false, diff };
}
