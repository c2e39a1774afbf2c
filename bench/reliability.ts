/**
 * Crash safety under fault injection (bench/harness/fault-driver.ts), the long version of
 * test/fault.test.ts: `runs` seeded runs of a longer workload, each killing the chain node, the
 * gatekeeper and the patient's client with SIGKILL at random points (every kind at least once, more at
 * random) and at the targeted points of bench/harness/fault-plan.ts (the node rolled back right after a
 * revoke and after a record write, to a state with a higher base fee; the gatekeeper killed as it sends
 * a pointer update), then checking that nothing acknowledged was lost or duplicated, that the chain's
 * pointers match the store, that the client equals a fresh resync, and that no grant was honoured after
 * its revoke. Each run also has `--bursts` bursts (default 4) of `--burst-writes` record writes (default
 * 30) over six patients, sent without waiting for each other while the node mines once a second, each
 * burst killed mid-way (the node rolled back to before it, the gatekeeper at a send, the EHR sending
 * the writes, the patient's client with grants in flight: bench/harness/fault-burst.ts); the result
 * counts the writes and transactions in flight at those kills. The gatekeeper's publish mode
 * (bench/harness/fault-lab.ts PUBLISH_MODES: batched and answered once mined, batched and answered at
 * the store commit, one transaction per pointer) goes with the seed (seed mod 3), or `--publish MODE`. Seeds are consecutive from `firstSeed`; each run logs its seed and kill schedule, and a
 * failed one its replay command:
 *
 *   npm run bench -- reliability --seed <seed> --runs 1      (or FAULT_SEED / FAULT_RUNS)
 *
 * `--parallel N` (FAULT_PARALLEL) runs N at a time, each in its own lab; `--minutes M` (FAULT_MINUTES)
 * starts no run after M minutes, and the result counts the runs made. The runs of one worker share a
 * lab (`--fresh-labs`: one per run); a replay with `--runs 1` runs the seed's plan in a fresh lab.
 */
import { runFaultScenario, type FaultReport } from './harness/fault-driver.js';
import { PUBLISH_MODES, startLabRetrying, type Lab, type PublishMode } from './harness/fault-lab.js';

export interface ReliabilityResult {
  faultRuns: number;
  /** Runs in which every check held. */
  cleanRuns: number;
  firstSeed: number;
  /** Seeds of runs with any failure (a run that threw counts, with its error). */
  failedSeeds: number[];
  /** For each failed run: its kill schedule, what failed, and the command that replays it. */
  failures: string[];
  /** Operations and random kills per run (besides the three targeted kills and one per burst). */
  opsPerRun: number;
  randomKillsPerRun: number;
  /** Bursts per run (among its operations) and record writes per burst. */
  burstsPerRun: number;
  writesPerBurst: number;
  /** Burst writes acknowledged (also in writesAcknowledged). */
  burstWrites: number;
  /** Kills that struck during a burst. */
  burstKills: number;
  /** The most burst writes in flight (sent, not answered) at one kill, and the mean over the burst kills. */
  maxWritesInFlightAtKill: number;
  meanWritesInFlightAtKill: number;
  /** The most transactions in flight (signed into an outbox, in no block) at one kill during a burst. */
  maxTxsInFlightAtKill: number;
  /** The most transactions the node held unmined at once during bursts. */
  peakPendingTxs: number;
  /** The most sends one outbox had waiting for receipts at once, as it counts them. */
  peakOutboxInFlight: number;
  /** Runs per gatekeeper publish mode. */
  runsByPublishMode: Record<string, number>;
  /** Runs at a time (each its own lab). */
  parallel: number;
  /** Whether a worker's runs share its lab (else each run starts its own). */
  sharedLabs: boolean;
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
  /** Transactions an outbox had to sign again (their fee refused after a rollback). */
  resignedTxs: number;
  rolledBackBlocks: number;
  /** The most blocks one node crash lost (the outboxes keep entries 64 blocks). */
  deepestRollback: number;
  seconds: number;
  /** Mean wall time of one run (runs overlap when `parallel` > 1). */
  secondsPerRun: number;
}

const failures = (r: FaultReport) =>
  r.lostRecords.length + r.duplicatedRecords.length + r.hashMismatches.length + (r.clientMatchesResync ? 0 : 1) + r.lateGrantReads.length + r.missingTxs.length;

/** `--name value` from the command line, else the environment variable, else `fallback`. */
function setting(flag: string, env: string | undefined, fallback: number): number {
  const i = process.argv.indexOf(flag);
  const raw = i >= 0 ? process.argv[i + 1] : env;
  return raw === undefined || raw === '' ? fallback : Number(raw);
}

export async function benchReliability(
  log: (line: string) => void = console.log,
  runs = setting('--runs', process.env.FAULT_RUNS, 50),
  options: { firstSeed?: number; ops?: number; kills?: number; bursts?: number; burstWrites?: number; parallel?: number; minutes?: number; sharedLabs?: boolean } = {},
): Promise<ReliabilityResult> {
  const firstSeed = options.firstSeed ?? setting('--seed', process.env.FAULT_SEED, Date.now() % 1e9);
  const ops = options.ops ?? 20;
  const kills = options.kills ?? 3;
  const publishFlag = process.argv.indexOf('--publish');
  const fixedMode = (publishFlag >= 0 ? process.argv[publishFlag + 1] : process.env.FAULT_PUBLISH) as PublishMode | undefined;
  if (fixedMode && !PUBLISH_MODES.includes(fixedMode)) throw new Error(`--publish: one of ${PUBLISH_MODES.join(', ')}`);
  const modeOf = (seed: number): PublishMode => fixedMode ?? PUBLISH_MODES[seed % PUBLISH_MODES.length]!;
  const burst = { bursts: options.bursts ?? setting('--bursts', process.env.FAULT_BURSTS, 4), writes: options.burstWrites ?? setting('--burst-writes', process.env.FAULT_BURST_WRITES, 30) };
  const started = Date.now();
  const reports: FaultReport[] = [];
  const failedSeeds: number[] = [];
  const failed: string[] = [];
  const replay = (seed: number) => `replay: npm run bench -- reliability --seed ${seed} --runs 1 --bursts ${burst.bursts} --burst-writes ${burst.writes}${fixedMode ? ` --publish ${fixedMode}` : ''}`;
  const parallel = Math.max(1, options.parallel ?? setting('--parallel', process.env.FAULT_PARALLEL, 1));
  /** One run; resolves false when it threw (its lab, if shared, may be broken). */
  async function one(i: number, lab?: Lab): Promise<boolean> {
    const seed = firstSeed + i;
    try {
      const r = await runFaultScenario({ seed, ops, kills, burst, publish: modeOf(seed), lab });
      reports.push(r);
      const what = failures(r) ? JSON.stringify({ lost: r.lostRecords, dup: r.duplicatedRecords, hash: r.hashMismatches, client: r.clientDiff, late: r.lateGrantReads, missing: r.missingTxs }) : '';
      if (what) {
        failedSeeds.push(seed);
        failed.push(`${r.schedule} → ${what} (${replay(seed)})`);
      }
      log(
        `  run ${i + 1}/${runs} seed=${seed}: ${what ? 'FAILED' : 'ok'} — ${r.kills.length} kills, ${r.writesAcknowledged} writes, ${r.acknowledgedTxs} txs (${r.txsLostByCrash} lost by a node crash, ${r.resubmittedTxs} re-sent, ${r.resignedTxs} signed again), deepest rollback ${r.deepestRollback} blocks, ${r.burstWrites} burst writes (in flight at its ${r.burstKills.length} burst kills: ${r.burstKills.map((k) => `${k.target} ${k.writesInFlight} writes/${k.txsInFlight} txs`).join(', ') || 'none'}; up to ${r.peakPendingTxs} txs pending, ${r.peakOutboxInFlight} in flight in one outbox; publishing ${r.publish}), ${r.reads} reads judged, ${r.seconds.toFixed(0)} s` +
          (what ? `\n    ${r.schedule}\n    ${what}\n    ${replay(seed)}` : ''),
      );
      return true;
    } catch (err) {
      failedSeeds.push(seed);
      const message = (err as Error).message.split('\n').slice(0, 2).join(' / ');
      failed.push(`${message} (${replay(seed)})`);
      log(`  run ${i + 1}/${runs} seed=${seed}: ERROR ${message}\n    ${replay(seed)}`);
      return false;
    }
  }
  // `parallel` workers, each with its own lab (ports, directories, processes). With `sharedLabs` a
  // worker keeps its lab from run to run, as test/fault.test.ts does (starting the processes costs more
  // than a run); a run that threw gets a fresh one. With a time budget (`--minutes`) no run starts after
  // it, and the result counts the runs that were made.
  const minutes = options.minutes ?? setting('--minutes', process.env.FAULT_MINUTES, Infinity);
  const sharedLabs = options.sharedLabs ?? !process.argv.includes('--fresh-labs');
  const stopAt = started + minutes * 60_000;
  let next = 0;
  async function worker(): Promise<void> {
    let lab: Lab | undefined;
    try {
      while (next < runs && Date.now() < stopAt) {
        const i = next++;
        if (sharedLabs) lab ??= await startLabRetrying({ seed: firstSeed + i, publish: modeOf(firstSeed + i) });
        if (!(await one(i, lab)) && lab) {
          await lab.close();
          lab = undefined;
        }
      }
    } finally {
      await lab?.close();
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, runs) }, worker));
  if (next < runs) log(`  time budget of ${minutes} min spent: ${next} of ${runs} runs made`);
  runs = next;
  failedSeeds.sort((a, b) => a - b);
  const sum = (f: (r: FaultReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const seconds = (Date.now() - started) / 1000;
  const burstKills = reports.flatMap((r) => r.burstKills);
  return {
    faultRuns: runs,
    cleanRuns: runs - failedSeeds.length,
    firstSeed,
    failedSeeds,
    failures: failed,
    opsPerRun: ops,
    randomKillsPerRun: kills,
    burstsPerRun: burst.bursts,
    writesPerBurst: burst.writes,
    burstWrites: sum((r) => r.burstWrites),
    burstKills: burstKills.length,
    maxWritesInFlightAtKill: Math.max(0, ...burstKills.map((k) => k.writesInFlight)),
    meanWritesInFlightAtKill: burstKills.length ? Math.round((10 * burstKills.reduce((n, k) => n + k.writesInFlight, 0)) / burstKills.length) / 10 : 0,
    maxTxsInFlightAtKill: Math.max(0, ...burstKills.map((k) => k.txsInFlight)),
    peakPendingTxs: Math.max(0, ...reports.map((r) => r.peakPendingTxs)),
    peakOutboxInFlight: Math.max(0, ...reports.map((r) => r.peakOutboxInFlight)),
    runsByPublishMode: Object.fromEntries(PUBLISH_MODES.map((m) => [m, reports.filter((r) => r.publish === m).length])),
    parallel,
    sharedLabs,
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
    resignedTxs: sum((r) => r.resignedTxs),
    rolledBackBlocks: sum((r) => r.rolledBackBlocks),
    deepestRollback: Math.max(0, ...reports.map((r) => r.deepestRollback)),
    seconds: Math.round(seconds),
    secondsPerRun: Math.round(sum((r) => r.seconds) / Math.max(reports.length, 1)),
  };
}

// `node --import tsx bench/reliability.ts [--runs N] [--seed S]`: this section alone, printed (`npm run bench -- reliability` also writes results.json).
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchReliability(console.log);
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.failedSeeds.length ? 1 : 0;
}
