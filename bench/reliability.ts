/**
 * Crash safety under fault injection (test/helpers/fault-driver.ts), the long version of
 * test/fault.test.ts: `runs` seeded runs of a longer workload, each killing the chain node, the
 * gatekeeper and the patient's client with SIGKILL at random points (every kind at least once, more at
 * random), then checking that nothing acknowledged was lost or duplicated, that the chain's pointers
 * match the store, that the client equals a fresh resync, and that no grant was honoured after its
 * revoke. Seeds are consecutive from `firstSeed` (default: from the clock), so a bad run can be replayed
 * with FAULT_SEED=<seed> FAULT_RUNS=1 node --import tsx --test test/fault.test.ts (or here).
 */
import { runFaultScenario, type FaultReport } from '../test/helpers/fault-driver.js';

export interface ReliabilityResult {
  faultRuns: number;
  /** Runs in which every check held. */
  cleanRuns: number;
  firstSeed: number;
  /** Seeds of runs with any failure (a run that threw counts, with its error). */
  failedSeeds: number[];
  kills: number;
  writesAcknowledged: number;
  lostRecords: number;
  duplicatedRecords: number;
  hashMismatches: number;
  clientResyncMismatches: number;
  lateGrantReads: number;
  readsJudged: number;
  wrongfulDenials: number;
  acknowledgedTxs: number;
  missingTxs: number;
  txsLostByCrash: number;
  resubmittedTxs: number;
  rolledBackBlocks: number;
  seconds: number;
  secondsPerRun: number;
}

const failures = (r: FaultReport) =>
  r.lostRecords.length + r.duplicatedRecords.length + r.hashMismatches.length + (r.clientMatchesResync ? 0 : 1) + r.lateGrantReads.length + r.missingTxs.length;

export async function benchReliability(
  log: (line: string) => void = console.log,
  runs = Number(process.env.FAULT_RUNS ?? 20),
  options: { firstSeed?: number; ops?: number; kills?: number } = {},
): Promise<ReliabilityResult> {
  const firstSeed = options.firstSeed ?? Number(process.env.FAULT_SEED ?? Date.now() % 1e9);
  const started = Date.now();
  const reports: FaultReport[] = [];
  const failedSeeds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const seed = firstSeed + i;
    try {
      const r = await runFaultScenario({ seed, ops: options.ops ?? 24, kills: options.kills ?? 5 });
      reports.push(r);
      if (failures(r) > 0) failedSeeds.push(seed);
      log(
        `  run ${i + 1}/${runs} seed=${seed}: ${failures(r) ? 'FAILED' : 'ok'} — ${r.kills.length} kills, ${r.writesAcknowledged} writes, ${r.acknowledgedTxs} txs (${r.txsLostByCrash} lost by a node crash, ${r.resubmittedTxs} re-sent), ${r.reads} reads judged, ${r.seconds.toFixed(0)} s` +
          (failures(r) ? `: ${JSON.stringify({ lost: r.lostRecords, dup: r.duplicatedRecords, hash: r.hashMismatches, client: r.clientDiff, late: r.lateGrantReads, missing: r.missingTxs })}` : ''),
      );
    } catch (err) {
      failedSeeds.push(seed);
      log(`  run ${i + 1}/${runs} seed=${seed}: ERROR ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const sum = (f: (r: FaultReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const seconds = (Date.now() - started) / 1000;
  return {
    faultRuns: runs,
    cleanRuns: runs - failedSeeds.length,
    firstSeed,
    failedSeeds,
    kills: sum((r) => r.kills.length),
    writesAcknowledged: sum((r) => r.writesAcknowledged),
    lostRecords: sum((r) => r.lostRecords.length),
    duplicatedRecords: sum((r) => r.duplicatedRecords.length),
    hashMismatches: sum((r) => r.hashMismatches.length),
    clientResyncMismatches: sum((r) => (r.clientMatchesResync ? 0 : 1)),
    lateGrantReads: sum((r) => r.lateGrantReads.length),
    readsJudged: sum((r) => r.reads),
    wrongfulDenials: sum((r) => r.wrongfulDenials),
    acknowledgedTxs: sum((r) => r.acknowledgedTxs),
    missingTxs: sum((r) => r.missingTxs.length),
    txsLostByCrash: sum((r) => r.txsLostByCrash),
    resubmittedTxs: sum((r) => r.resubmittedTxs),
    rolledBackBlocks: sum((r) => r.rolledBackBlocks),
    seconds: Math.round(seconds),
    secondsPerRun: Math.round(seconds / Math.max(runs, 1)),
  };
}

// `node --import tsx bench/reliability.ts [runs]`: this section alone, printed (bench/run.ts writes results.json).
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchReliability(console.log, Number(process.argv[2] ?? process.env.FAULT_RUNS ?? 20));
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.failedSeeds.length ? 1 : 0;
}
