/**
 * The write-load bench of issue 19 (`npm run bench -- scale`): one provider account on the
 * external-node mode (anvil with 2 s blocks and free gas behind an eth_-only RPC, as
 * `npm run test:external` and CI), its gatekeeper on loopback with its transactions through a durable
 * outbox in its data directory, as a real gatekeeper runs; `patients` patients linked with a lab
 * pointer each; `writers` concurrent writers (a worker thread) creating lab results through the
 * gatekeeper, each signed by the provider's key and each changing its patient's pointer.
 *
 * Three phases on one chain and one store:
 * 1. before: the behaviour before issue 19 (`publish.coalesce: false`, outbox `maxInFlight: 1`) for
 *    `beforeSeconds`, with `beforeWriters` writers: it sends one transaction per block whatever the
 *    concurrency, so more writers would only queue (and take minutes to drain);
 * 2. after: the gatekeeper's defaults for `seconds` (2 minutes in the acceptance run);
 * 3. burst: `txs` single transactions that cannot be batched (addPointer, a new vital-signs pointer
 *    per relationship, its hash that of the empty result set, as the store has none) sent at once
 *    from the provider's account through the same outbox: how many one block takes.
 *
 * The node and its eth_-only RPC run in a child process (a real external node is another machine),
 * the writers in a worker thread; this process is the provider's gatekeeper.
 *
 * Measured in each write phase: acknowledged writes per second over the window; each write's lag in
 * blocks (bench/harness/pointer-lag.ts: from the head when it committed to the first PointerUpdated
 * whose hash covers it, judged from chain and store alone); at the end every pointer's hash on chain
 * against the store; the provider's transactions per block and gas per pointer from the blocks.
 *
 *   node --import tsx bench/scale-writes.ts [--seconds 120] [--before-seconds 30] [--patients 200] [--writers 400] [--before-writers 8] [--txs 100]
 */
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { withOutbox, type LedgerClient } from '../src/chain/client.js';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { createOutbox, fileOutboxStorage, type OutboxOptions } from '../src/chain/outbox.js';
import { startGatekeeper, type GatekeeperOptions, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { HEADERS, REQUEST_TYPES } from '../src/protocol/request-signature.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';
import { hashIdentity } from '../src/sdk/identity.js';
import { accreditProvider } from '../src/sdk/registrar.js';
import { addPointer, getPointer } from '../src/sdk/relationships.js';
import { PEPPER, startFixture, tempDir, type Fixture } from './harness/chain.js';
import { startExternalNodeProcess } from './harness/external-node.js';
import { LAB_QUERY, labResult, linkedPatients, type LinkedPatient } from './harness/linked-patients.js';
import { followHead, historyOf, percentile, pointerLags, type HeadClock, type PointerHistory } from './harness/pointer-lag.js';
import { busyBlocks, providerBlocks } from './harness/provider-blocks.js';

export interface ScaleSettings {
  seconds: number;
  beforeSeconds: number;
  patients: number;
  writers: number;
  beforeWriters: number;
  txs: number;
  blockTime: number;
}

/** One write phase's figures. */
export interface WritePhase {
  writesPerSec: number;
  /** Writes acknowledged (201) within the window, and in all (the window's writes in flight finish after it). */
  writesInWindow: number;
  writesAcknowledged: number;
  /** Writes answered otherwise than 201 (must be 0). */
  writeFailures: number;
  writeP50Ms: number;
  writeP99Ms: number;
  lagBlocksP50: number;
  lagBlocksP99: number;
  lagBlocksMax: number;
  /** Acknowledged writes no pointer hash on chain ever covered (must be 0). */
  uncoveredWrites: number;
  unmatchedEvents: number;
  /** Blocks from the head when the phase's last write committed to the block that made the last pointer current. */
  settleBlocks: number;
  /** Pointers whose hash on chain equals the store's at the end, of all. */
  pointersCurrent: number;
  pointers: number;
  /** The provider's transactions in one block: most, and median over the blocks from its first to its last. */
  txPerBlockMax: number;
  txPerBlockMedian: number;
  txs: number;
  pointersPerTx: number;
  maxPointersPerTx: number;
  gasPerPointer: number;
  blocks: number;
  /** The machine's 1-minute load average when the writes stopped: the gatekeeper shares its cores with whatever else runs. */
  loadAverage: number;
}

export interface ScaleBench {
  providerWritesPerSec: number;
  providerWritesPerSecBefore: number;
  pointerLagBlocksP99: number;
  pointerLagBlocksP99Before: number;
  txPerBlockPerAccount: number;
  txPerBlockPerAccountMedian: number;
  txPerBlockPerAccountBefore: number;
  /** Gas per pointer in the gatekeeper's batches (after) and its single updatePointer transactions (before). */
  gasPerPointer: number;
  gasPerPointerBefore: number;
  after: WritePhase;
  before: WritePhase;
  burst: { txs: number; blocks: number; perBlock: number[]; seconds: number };
  settings: ScaleSettings;
  /** JSON-RPC methods the eth_-only endpoint refused (must be none). */
  refusedRpc: Record<string, number>;
}

/** `--name value` from the command line, else `fallback`. */
function setting(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}

export function scaleSettings(given: Partial<ScaleSettings> = {}): ScaleSettings {
  return {
    seconds: given.seconds ?? setting('--seconds', 120),
    beforeSeconds: given.beforeSeconds ?? setting('--before-seconds', 30),
    patients: given.patients ?? setting('--patients', 200),
    writers: given.writers ?? setting('--writers', 400),
    beforeWriters: given.beforeWriters ?? setting('--before-writers', 8),
    txs: given.txs ?? setting('--txs', 100),
    blockTime: given.blockTime ?? 2,
  };
}

/** The gatekeeper's publishing options (src/gatekeeper/publish/publisher.ts PublishOptions). */
interface PublishMode {
  publish?: { windowMs?: number; coalesce?: boolean; awaitChain?: boolean };
  maxInFlight?: number;
}
const BEFORE: PublishMode = { publish: { coalesce: false }, maxInFlight: 1 };
const AFTER: PublishMode = {};

interface ProviderGatekeeper {
  gk: RunningGatekeeper;
  close(): Promise<void>;
}

/** The provider's gatekeeper as a real one runs: PGlite in `dataDir`, its transactions through an outbox file there. */
async function startProviderGatekeeper(provider: LedgerClient, dataDir: string, mode: PublishMode): Promise<ProviderGatekeeper> {
  const outboxOptions: OutboxOptions & { maxInFlight?: number } = mode.maxInFlight === undefined ? {} : { maxInFlight: mode.maxInFlight };
  const outbox = createOutbox(fileOutboxStorage(join(dataDir, 'outbox.json')), outboxOptions);
  const ledger = withOutbox(provider, outbox);
  const options: GatekeeperOptions & Pick<PublishMode, 'publish'> = {
    ledger,
    database: { dataDir: join(dataDir, 'pgdata') },
    anchorIntervalMs: 0,
    limits: { perAddress: { perSecond: 5_000, burst: 10_000 } },
    ...(mode.publish ? { publish: mode.publish } : {}),
  };
  const gk = await startGatekeeper(options);
  const stopWatching = outbox.watch(ledger, 1_000);
  return {
    gk,
    async close() {
      stopWatching();
      await gk.close();
    },
  };
}

interface WorkerReport {
  startedAt: number;
  deadline: number;
  endedAt: number;
  writes: { patient: number; id: string; sentAt: number; ackedAt: number }[];
  failures: { count: number; samples: string[] };
}

/** A write not answered in this long counts as failed (the answer waits for the pointer's block). */
const WRITE_TIMEOUT_MS = 60_000;

function runWriters(gk: RunningGatekeeper, key: Hex, chainId: number, patients: readonly LinkedPatient[], writers: number, seconds: number, log: (line: string) => void): Promise<WorkerReport> {
  const worker = new Worker(new URL('./scale-writes-worker.mjs', import.meta.url), {
    workerData: {
      base: gk.url,
      key,
      gatekeeper: gk.ledger.account!.address,
      chainId,
      types: REQUEST_TYPES,
      headers: HEADERS,
      template: labResult('', 0),
      patients: patients.map((p) => p.patientId),
      concurrency: writers,
      durationMs: seconds * 1_000,
      timeoutMs: WRITE_TIMEOUT_MS,
      reportMs: 10_000,
    },
  });
  return new Promise<WorkerReport>((resolve, reject) => {
    worker.on('message', (m: WorkerReport | { progress: { seconds: number; acknowledged: number; failed: number; inFlight: number } }) => {
      if (!('progress' in m)) return resolve(m);
      const p = m.progress;
      log(`    ${p.seconds.toFixed(0)} s: ${p.acknowledged} writes acknowledged, ${p.failed} failed, ${p.inFlight} in flight`);
    });
    worker.once('error', reject);
  }).finally(() => void worker.terminate());
}

/** PointerUpdated events of the contract in [fromBlock, toBlock], by relationship. */
async function pointerEvents(client: LedgerClient, fromBlock: bigint, toBlock: bigint): Promise<Map<bigint, { blockNumber: bigint; dataHash: Hex }[]>> {
  const byRelationship = new Map<bigint, { blockNumber: bigint; dataHash: Hex }[]>();
  for (let start = fromBlock; start <= toBlock; start += 100n) {
    const end = start + 99n < toBlock ? start + 99n : toBlock;
    const logs = await client.publicClient.getContractEvents({ abi: medLedgerAbi, address: client.contract, eventName: 'PointerUpdated', fromBlock: start, toBlock: end });
    for (const log of logs) {
      const { relationshipId, dataHash } = log.args as { relationshipId: bigint; dataHash: Hex };
      byRelationship.set(relationshipId, [...(byRelationship.get(relationshipId) ?? []), { blockNumber: log.blockNumber, dataHash }]);
    }
  }
  return byRelationship;
}

/** How many pointers carry the store's hash on chain now. */
async function currentPointers(gk: RunningGatekeeper, patients: readonly LinkedPatient[]): Promise<number> {
  const checks = await Promise.all(
    patients.map(async (p) => {
      const store = hashResultSet((await gk.store.resultSet(LAB_QUERY, p.patientId)) as ResourceLike[]);
      return (await getPointer(gk.ledger, { relationshipId: p.relationshipId, query: LAB_QUERY })) === store;
    }),
  );
  return checks.filter(Boolean).length;
}

/** Waits (up to `blocks` blocks) until every pointer on chain equals the store; returns how many do. */
async function awaitCurrent(gk: RunningGatekeeper, patients: readonly LinkedPatient[], clock: HeadClock, blocks: number): Promise<number> {
  const until = clock.head() + BigInt(blocks);
  const deadline = Date.now() + blocks * 5_000;
  for (;;) {
    const current = await currentPointers(gk, patients);
    if (current === patients.length || clock.head() >= until || Date.now() > deadline) return current;
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface PhaseContext {
  f: Fixture;
  provider: LedgerClient;
  key: Hex;
  patients: readonly LinkedPatient[];
  clock: HeadClock;
  log: (line: string) => void;
}

async function measurePhase(ctx: PhaseContext, gk: RunningGatekeeper, name: string, writers: number, seconds: number): Promise<WritePhase> {
  const { provider, patients, clock, log } = ctx;
  const startBlock = await provider.publicClient.getBlockNumber({ cacheTime: 0 });
  log(`  ${name}: ${writers} writers over ${patients.length} patients for ${seconds} s from block ${startBlock}…`);
  const report = await runWriters(gk, ctx.key, provider.chainId, patients, writers, seconds, log);
  const loadAverage = +loadavg()[0]!.toFixed(1);
  const pointersCurrent = await awaitCurrent(gk, patients, clock, 10);
  const endBlock = clock.head();
  const events = await pointerEvents(provider, startBlock + 1n, endBlock);
  const histories: PointerHistory[] = [];
  for (const p of patients) histories.push(historyOf((await gk.store.resultSet(LAB_QUERY, p.patientId)) as ResourceLike[], events.get(p.relationshipId) ?? []));
  const measured = new Set(report.writes.map((w) => w.id));
  const lags = pointerLags(histories, measured, clock.headAt);
  // The block that made the last pointer current: the first event carrying its final state.
  const lastCommit = Math.max(-Infinity, ...histories.flatMap((h) => h.commits.filter((c) => measured.has(c.id)).map((c) => c.committedAt)));
  const finals = histories.map((h) => h.events.filter((e) => h.states.get(e.dataHash) === h.commits.length - 1).map((e) => e.blockNumber).sort((a, b) => Number(a - b))[0]);
  const lastFinal = finals.reduce<bigint>((max, b) => (b !== undefined && b > max ? b : max), 0n);
  const blocks = await providerBlocks(provider.publicClient, provider.account!.address, startBlock + 1n, endBlock);
  const busy = busyBlocks(blocks.perBlock);
  const inWindow = report.writes.filter((w) => w.ackedAt <= report.deadline).length;
  const latencies = report.writes.map((w) => w.ackedAt - w.sentAt);
  const phase: WritePhase = {
    writesPerSec: +(inWindow / seconds).toFixed(2),
    writesInWindow: inWindow,
    writesAcknowledged: report.writes.length,
    writeFailures: report.failures.count,
    writeP50Ms: Math.round(percentile(latencies, 50)),
    writeP99Ms: Math.round(percentile(latencies, 99)),
    lagBlocksP50: percentile(lags.lags, 50),
    lagBlocksP99: percentile(lags.lags, 99),
    lagBlocksMax: lags.lags.length ? Math.max(...lags.lags) : NaN,
    uncoveredWrites: lags.uncovered,
    unmatchedEvents: lags.unmatchedEvents,
    settleBlocks: Number.isFinite(lastCommit) ? Number(lastFinal - clock.headAt(lastCommit)) : NaN,
    pointersCurrent,
    pointers: patients.length,
    txPerBlockMax: Math.max(0, ...blocks.perBlock),
    txPerBlockMedian: percentile(busy, 50),
    txs: blocks.txs,
    pointersPerTx: blocks.pointerTxs ? +(blocks.pointers / blocks.pointerTxs).toFixed(1) : NaN,
    maxPointersPerTx: blocks.maxPointersPerTx,
    gasPerPointer: blocks.gasPerPointer,
    blocks: blocks.perBlock.length,
    loadAverage,
  };
  for (const s of report.failures.samples) log(`    write failed: ${s}`);
  log(
    `    ${phase.writesPerSec} writes/s (${inWindow} in the window, ${phase.writesAcknowledged} in all, ${phase.writeFailures} failed; p50 ${phase.writeP50Ms} ms, p99 ${phase.writeP99Ms} ms); ` +
      `lag p50 ${phase.lagBlocksP50}, p99 ${phase.lagBlocksP99}, max ${phase.lagBlocksMax} blocks (${phase.uncoveredWrites} never covered); ` +
      `${phase.pointersCurrent}/${phase.pointers} pointers current, the last ${phase.settleBlocks} blocks after the last write; ` +
      `${phase.txs} transactions in ${phase.blocks} blocks (at most ${phase.txPerBlockMax} a block), ${phase.pointersPerTx} pointers a transaction (at most ${phase.maxPointersPerTx}), ${phase.gasPerPointer} gas a pointer`,
  );
  return phase;
}

/** `txs` non-batchable transactions of the provider at once: how many a block takes. */
async function measureBurst(ctx: PhaseContext, gk: RunningGatekeeper, txs: number): Promise<ScaleBench['burst']> {
  const { provider, patients, clock, log } = ctx;
  const chosen = patients.slice(0, txs);
  log(`  burst: ${chosen.length} addPointer transactions of the provider at once…`);
  const startBlock = await provider.publicClient.getBlockNumber({ cacheTime: 0 });
  const started = Date.now();
  const dataHash = hashResultSet([]);
  await Promise.all(chosen.map((p) => addPointer(gk.ledger, { relationshipId: p.relationshipId, query: 'Observation?category=vital-signs', dataHash })));
  const seconds = (Date.now() - started) / 1000;
  const blocks = await providerBlocks(provider.publicClient, provider.account!.address, startBlock + 1n, clock.head());
  const perBlock = busyBlocks(blocks.perBlock);
  log(`    ${blocks.txs} transactions in ${perBlock.length} blocks: ${perBlock.join(', ')} (${seconds.toFixed(1)} s)`);
  return { txs: blocks.txs, blocks: perBlock.length, perBlock, seconds: +seconds.toFixed(1) };
}

/** A fresh accredited provider whose private key the load generator signs with. */
async function newProvider(f: Fixture): Promise<{ provider: LedgerClient; key: Hex }> {
  const key = generatePrivateKey();
  const account = privateKeyToAccount(key);
  await f.runtime.fund(account.address as Address);
  await accreditProvider(f.governor, { provider: account.address, identityHash: hashIdentity(`provider|${account.address}`, PEPPER) });
  return { provider: f.as(account), key };
}

export async function benchScaleWrites(log: (line: string) => void = console.log, given: Partial<ScaleSettings> = {}): Promise<ScaleBench> {
  const settings = scaleSettings(given);
  const node = await startExternalNodeProcess({ blockTime: settings.blockTime });
  const dataDir = tempDir('medledger-bench-scale-');
  let f: Fixture | undefined;
  let clock: HeadClock | undefined;
  let running: ProviderGatekeeper | undefined;
  let result: Omit<ScaleBench, 'refusedRpc'>;
  try {
    log(`  external node ${node.rpcUrl} (eth_, net_, web3_ only), ${settings.blockTime} s blocks, free gas`);
    f = await startFixture(node.env(0));
    const { provider, key } = await newProvider(f);
    clock = await followHead(node.rpcUrl);
    running = await startProviderGatekeeper(provider, dataDir, BEFORE);
    const patients = await linkedPatients(provider, running.gk.store, settings.patients, log);
    const ctx: PhaseContext = { f, provider, key, patients, clock, log };
    const before = await measurePhase(ctx, running.gk, 'before (one transaction per pointer, one in flight)', settings.beforeWriters, settings.beforeSeconds);
    await running.close();
    running = await startProviderGatekeeper(provider, dataDir, AFTER);
    const after = await measurePhase(ctx, running.gk, 'after (the gatekeeper’s defaults)', settings.writers, settings.seconds);
    const burst = await measureBurst(ctx, running.gk, Math.min(settings.txs, patients.length));
    result = {
      providerWritesPerSec: after.writesPerSec,
      providerWritesPerSecBefore: before.writesPerSec,
      pointerLagBlocksP99: after.lagBlocksP99,
      pointerLagBlocksP99Before: before.lagBlocksP99,
      txPerBlockPerAccount: Math.max(0, ...burst.perBlock),
      txPerBlockPerAccountMedian: percentile(burst.perBlock, 50),
      txPerBlockPerAccountBefore: before.txPerBlockMax,
      gasPerPointer: after.gasPerPointer,
      gasPerPointerBefore: before.gasPerPointer,
      after,
      before,
      burst,
      settings,
    };
  } finally {
    clock?.stop();
    await running?.close().catch(() => undefined);
    await f?.close().catch(() => undefined);
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { ...result, refusedRpc: Object.fromEntries(node.refused) };
}

type Fmt = (v: unknown, digits?: number) => string;
type Met = (ok: boolean | undefined) => string;

/** The README benchmark table's rows for `results.scale` (bench/run.ts formats numbers and "met"). */
export function scaleRows(scale: Record<string, unknown>, fmt: Fmt, met: Met): string[] {
  const s = scale as Partial<ScaleBench>;
  const a = s.after;
  const b = s.before;
  const set = s.settings;
  const burst = s.burst;
  const measured = s.providerWritesPerSec !== undefined;
  const current = a ? a.pointersCurrent === a.pointers && a.uncoveredWrites === 0 && a.settleBlocks <= 2 : undefined;
  return [
    `| \`scale.providerWritesPerSec\` | ${fmt(s.providerWritesPerSec, 1)} | ≥ 50 | ${met(measured && a ? s.providerWritesPerSec! >= 50 && a.writeFailures === 0 : undefined)} | one provider account on the external node (${fmt(set?.blockTime)} s blocks, free gas, eth_-only RPC), its gatekeeper's defaults, outbox in its data directory: ${fmt(set?.writers)} writers creating lab results of ${fmt(set?.patients)} patients (one pointer each) for ${fmt(set?.seconds)} s, each signed by the provider's key; ${fmt(a?.writeFailures)} failed; answered after the pointer is mined, p50 ${fmt(a?.writeP50Ms)} ms, p99 ${fmt(a?.writeP99Ms)} ms; machine load average ${fmt(a?.loadAverage, 1)}. **Before** (one transaction per pointer, one in flight; ${fmt(set?.beforeWriters)} writers, ${fmt(set?.beforeSeconds)} s, same run): \`scale.providerWritesPerSecBefore\` ${fmt(s.providerWritesPerSecBefore, 2)} |`,
    `| \`scale.pointerLagBlocksP99\` | ${fmt(s.pointerLagBlocksP99)} | ≤ 2 | ${met(measured && a ? s.pointerLagBlocksP99! <= 2 && current! : undefined)} | blocks from each write's store commit (the head then) to the first \`PointerUpdated\` whose hash covers it, judged from chain and store alone; p50 ${fmt(a?.lagBlocksP50)}, max ${fmt(a?.lagBlocksMax)}, never covered ${fmt(a?.uncoveredWrites)}; at the end ${fmt(a?.pointersCurrent)} of ${fmt(a?.pointers)} pointers equal to the store, the last current ${fmt(a?.settleBlocks)} blocks after the last write; before: p99 ${fmt(s.pointerLagBlocksP99Before)} |`,
    `| \`scale.txPerBlockPerAccount\` | ${fmt(s.txPerBlockPerAccount)} | ≥ 20 | ${met(measured ? s.txPerBlockPerAccount! >= 20 : undefined)} | ${fmt(burst?.txs)} single \`addPointer\` transactions (not batchable) sent at once from the provider's account through its outbox: per block ${burst?.perBlock?.join(', ') ?? '—'} (median ${fmt(s.txPerBlockPerAccountMedian)}); before: at most ${fmt(s.txPerBlockPerAccountBefore)} a block |`,
    `| \`scale.gasPerPointer\` | ${fmt(s.gasPerPointer)} | reported | | gas per pointer of the gatekeeper's pointer transactions under that load (${fmt(set?.seconds)} s): ${fmt(a?.txs)} transactions in ${fmt(a?.blocks)} blocks (at most ${fmt(a?.txPerBlockMax)} a block), ${fmt(a?.pointersPerTx, 1)} pointers a transaction (at most ${fmt(a?.maxPointersPerTx)}); before, one \`updatePointer\` each: ${fmt(s.gasPerPointerBefore)} |`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchScaleWrites(), null, 2));
}
