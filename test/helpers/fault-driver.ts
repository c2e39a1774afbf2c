/**
 * The fault-injection driver: the chain node (anvil), one provider's gatekeeper and the patient's
 * Ethereum client run as separate processes, a seeded scripted workload (record writes through the
 * gatekeeper, grants and revokes by the patient's client, reads by third parties) runs against them,
 * and each process is `kill -9`ed at seeded points and restarted. Afterwards it checks what must hold:
 *
 * - every write the workload saw acknowledged is in the store exactly once (writes carry their own
 *   id and are retried until acknowledged: 201, or 409 when an earlier try was stored);
 * - every pointer on chain carries the hash of what the store returns for it (`$verify`), and every
 *   query the records fall under has a pointer;
 * - the client's local database equals a fresh resync from the chain;
 * - no read was permitted when the chain said the grant was revoked (the grant's state is derived from
 *   the chain's ViewerGranted/ViewerRevoked events at every block between the read's start and end);
 * - every transaction the client acknowledged is on the final chain, successful — including those a
 *   node crash took (anvil saves its state once a second), which the outbox must have sent again.
 */
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getAbiItem, parseEventLogs, type Address, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Bundle, Observation, Parameters } from '@medplum/fhirtypes';
import { freePort, startAnvil, type AnvilNode } from '../../src/chain/anvil.js';
import { createLedgerClient, type LedgerClient } from '../../src/chain/client.js';
import { medLedgerAbi } from '../../src/chain/generated/contracts.js';
import { startChain } from '../../src/chain/runtime.js';
import { createWatcher, localState } from '../../src/client/watcher.js';
import { createRandom, type Random } from '../../src/demo/random.js';
import { openDb } from '../../src/records/db.js';
import { gatekeeperClient, GatekeeperRequestError, type GatekeeperClient } from '../../src/sdk/gatekeeper.js';
import { accreditProvider, attestPatient, findRelationship, hashQuery, registerPatient } from '../../src/sdk/index.js';
import { hashIdentity } from '../../src/sdk/identity.js';
import { PEPPER, tempDir, testConfig } from '../../bench/harness/chain.js';
import { spawnChild, toJson, type Child, type ChildEvent } from './fault-process.js';

export type Target = 'chain' | 'gatekeeper' | 'client';
const TARGETS: readonly Target[] = ['chain', 'gatekeeper', 'client'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WRITE_SYSTEM = 'urn:medledger:fault-write';
const CATEGORIES = ['laboratory', 'vital-signs'] as const;
const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });
const viewerRevoked = getAbiItem({ abi: medLedgerAbi, name: 'ViewerRevoked' });

let template: Promise<string> | undefined;

/** A new, empty PGlite data directory at `target`: a copy of one created once per process (creating one takes seconds, copying it a fraction). */
async function emptyPgliteDir(target: string): Promise<void> {
  template ??= (async () => {
    const dir = tempDir('medledger-pglite-template-');
    await (await openDb({ dataDir: dir })).close();
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  })();
  cpSync(await template, target, { recursive: true });
}

/** Children exit when their stdin closes; anvil would outlive a driver that exits without closing its labs. */
const labsOpen = new Set<Lab>();
process.once('exit', () => {
  for (const lab of labsOpen) lab.node.process.kill('SIGKILL');
});

/** Retries `fn` while it throws, up to `ms` (a process or the node restarting). */
async function retrying<T>(what: string, fn: () => Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${ms / 1000} s: ${(err as Error).message}`);
      await sleep(150);
    }
  }
}

export interface Lab {
  dir: string;
  deployment: { rpcUrl: string; chainId: number; contract: Address; deployBlock: bigint };
  /** Read-only chain client of the driver. */
  reader: LedgerClient;
  provider: LocalAccount;
  patient: LocalAccount;
  viewers: { account: LocalAccount; scope: string }[];
  relationshipId: bigint;
  patientId: string;
  /** The running processes (replaced on each restart). */
  node: AnvilNode;
  gatekeeper: Child;
  client: Child;
  /** Signed FHIR clients of the gatekeeper. */
  asProvider(): GatekeeperClient;
  asViewer(i: number): GatekeeperClient;
  events: ChildEvent[];
  /** Number of node restarts so far (a read spanning one cannot be judged). */
  chainEpoch: number;
  /** The block the node came back at after its last restart. */
  chainRestoredAt: bigint;
  /**
   * kill -9 then restart; for the chain, resolves with how many blocks the restart lost. `restore`
   * (chain only) puts a state file saved earlier by `saveChainState` back first: the node then lost
   * exactly what came after that save, as if its next save had not happened before the crash.
   */
  crash(target: Target, restore?: string): Promise<number>;
  /** Waits for the node's next state save and keeps a copy of it; resolves with the copy's path. */
  saveChainState(): Promise<string>;
  /** Keeps a copy of the node's state file as it is now (its last save); resolves with the copy's path. */
  copyChainState(): Promise<string>;
  restartGatekeeper(): Promise<void>;
  /** Resolves once anvil has written its state file after `sinceMs`. */
  stateSaved(sinceMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the processes: the chain (contract deployed, provider accredited, patient registered), the
 * gatekeeper (with the patient linked and one record per category), the patient's client (which
 * accepts the relationship). Everything set up is on disk before this resolves.
 */
export async function startLab(options: { seed: number; log?: (line: string) => void }): Promise<Lab> {
  const log = options.log ?? (() => undefined);
  const t0 = Date.now();
  const lap = (what: string) => log(`${what} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const dir = tempDir('medledger-fault-');
  const chainPort = await freePort();
  const gatekeeperPort = await freePort();
  const { MEDLEDGER_RPC_URL: _rpc, MEDLEDGER_DEPLOYER_KEY: _key, MEDLEDGER_CONTRACT_ADDRESS: _contract, ...env } = process.env;
  const config = { ...testConfig(dir, env), chainPort };
  const runtime = await startChain(config);
  const stateFile = join(dir, 'chain', 'state.json');
  const deployment = runtime.deployment;
  const reader = createLedgerClient(deployment, { pollingIntervalMs: 20 });
  const governor = createLedgerClient(deployment, { account: runtime.governor!, pollingIntervalMs: 20 });
  const providerKey = generatePrivateKey();
  const patientKey = generatePrivateKey();
  const provider = privateKeyToAccount(providerKey);
  const patient = privateKeyToAccount(patientKey);
  await runtime.fund(provider.address);
  await runtime.fund(patient.address);
  const providerLedger = createLedgerClient(deployment, { account: provider, pollingIntervalMs: 20 });
  await accreditProvider(governor, { provider: provider.address, identityHash: hashIdentity(`provider|${provider.address}`, PEPPER) });
  const identity = `urn:medledger:fault|${options.seed}`;
  const identityHash = hashIdentity(identity, PEPPER);
  const attestation = await attestPatient(providerLedger, { identityHash, patient: patient.address });
  await registerPatient(createLedgerClient(deployment, { account: patient, pollingIntervalMs: 20 }), { identityHash, attester: provider.address, attestation });
  const viewers = [
    { account: privateKeyToAccount(generatePrivateKey()), scope: 'Observation?category=laboratory' },
    { account: privateKeyToAccount(generatePrivateKey()), scope: 'Observation?category=vital-signs' },
  ];
  lap('chain set up');
  const events: ChildEvent[] = [];
  const onEvent = (e: ChildEvent) => {
    events.push(e);
    if (e.event === 'dropped' && e.reason !== 'confirmed') log(`${e.who} outbox dropped ${e.hash} (nonce ${e.nonce}): ${e.reason} ${e.error ?? ''}`);
  };
  await emptyPgliteDir(join(dir, 'provider', 'pgdata'));
  await emptyPgliteDir(join(dir, 'client', 'local'));
  const childChain = (key: Hex, sub: string) => ({
    rpcUrl: deployment.rpcUrl,
    chainId: deployment.chainId,
    contract: deployment.contract,
    deployBlock: deployment.deployBlock.toString(),
    key,
    dataDir: join(dir, sub),
  });
  const startGatekeeperChild = () =>
    spawnChild('gatekeeper', 'test/helpers/fault-gatekeeper.ts', { ...childChain(providerKey, 'provider'), port: gatekeeperPort, pepper: PEPPER }, onEvent);
  const startClientChild = () => spawnChild('client', 'test/helpers/fault-client.ts', childChain(patientKey, 'client'), onEvent);

  const stateSaved = async (sinceMs: number) => {
    const deadline = Date.now() + 10_000;
    while (!(existsSync(stateFile) && statSync(stateFile).mtimeMs > sinceMs)) {
      if (Date.now() > deadline) throw new Error('anvil did not save its state within 10 s');
      await sleep(20);
    }
  };

  const lab: Lab = {
    dir,
    deployment,
    reader,
    provider,
    patient,
    viewers,
    relationshipId: 0n,
    patientId: `fault-patient-${options.seed}`,
    node: runtime.node!,
    gatekeeper: undefined as unknown as Child,
    client: undefined as unknown as Child,
    events,
    chainEpoch: 0,
    chainRestoredAt: 0n,
    asProvider: () => gatekeeperClient({ url: `http://127.0.0.1:${gatekeeperPort}`, gatekeeper: provider.address, chainId: deployment.chainId, account: provider }),
    asViewer: (i) => gatekeeperClient({ url: `http://127.0.0.1:${gatekeeperPort}`, gatekeeper: provider.address, chainId: deployment.chainId, account: viewers[i]!.account }),
    stateSaved,
    async saveChainState() {
      await stateSaved(Date.now());
      return lab.copyChainState();
    },
    async copyChainState() {
      const copy = join(dir, 'chain', `saved-${Date.now()}.json`);
      // The save may still be being written: copy until the copy is a whole JSON document.
      await retrying('copying the state file', async () => {
        copyFileSync(stateFile, copy);
        JSON.parse(readFileSync(copy, 'utf8'));
      }, 10_000);
      return copy;
    },
    async crash(target, restore) {
      if (target === 'gatekeeper') {
        await lab.gatekeeper?.kill();
        lab.gatekeeper = await startGatekeeperChild();
        return 0;
      }
      if (target === 'client') {
        await lab.client.kill();
        lab.client = await startClientChild();
        return 0;
      }
      const before = await reader.publicClient.getBlockNumber({ cacheTime: 0 }).catch(() => undefined);
      const exited = new Promise((r) => lab.node.process.once('exit', r));
      lab.node.process.kill('SIGKILL');
      await exited;
      lab.chainEpoch++;
      if (restore) copyFileSync(restore, stateFile);
      // What the node comes back at (read from the file: the outboxes may add blocks the moment it is up).
      const saved = BigInt((JSON.parse(readFileSync(stateFile, 'utf8')) as { best_block_number: number | string }).best_block_number);
      lab.chainRestoredAt = saved;
      lab.node = await retrying('restarting anvil', () => startAnvil({ stateFile, port: chainPort }), 20_000);
      const lost = before === undefined ? 0 : Number(before - saved);
      log(`chain restarted at block ${saved} (lost ${lost})`);
      return lost;
    },
    async restartGatekeeper() {
      if (lab.gatekeeper?.alive) await lab.gatekeeper.kill();
      lab.gatekeeper = await startGatekeeperChild();
    },
    async close() {
      labsOpen.delete(lab);
      await Promise.all([lab.gatekeeper?.kill(), lab.client?.kill()]);
      lab.node.process.kill('SIGKILL');
      await sleep(50);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  labsOpen.add(lab);
  try {
    lab.gatekeeper = await startGatekeeperChild();
    lap('gatekeeper ready');
    const own = lab.asProvider();
    await own.post('/fhir/R4/Patient', { resourceType: 'Patient', id: lab.patientId, identifier: [{ system: 'urn:medledger:fault', value: String(options.seed) }] });
    await own.post('/registrar/link', { identity });
    for (const category of CATEGORIES) await own.post('/fhir/R4/Observation', observation(lab.patientId, `setup-${category}`, category));
    lab.relationshipId = (await findRelationship(reader, { patient: patient.address, provider: provider.address }))!;
    lap('records written');
    lab.client = await startClientChild();
    lap('client ready');
    await lab.client.call('respond', { relationshipId: lab.relationshipId.toString() });
    await stateSaved(Date.now()); // the setup is on disk: a crash from here on can only lose workload blocks
  } catch (err) {
    await lab.close();
    throw err;
  }
  return lab;
}

/** The patient's local state as a fresh client syncing from the deploy block gets it (JSON-normalised). */
export async function resyncState(lab: Lab): Promise<unknown> {
  const dir = join(lab.dir, `resync-${Date.now()}`);
  await emptyPgliteDir(dir);
  const db = await openDb({ dataDir: dir });
  try {
    const fresh = createWatcher({ ledger: lab.reader, db, user: lab.patient.address });
    await fresh.init();
    await fresh.sync();
    return JSON.parse(toJson(await localState(db)));
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function observation(patientId: string, id: string, category: string): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    identifier: [{ system: WRITE_SYSTEM, value: id }],
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '2345-7' : '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: id.length, unit: '1' },
  };
}

export type Op = { kind: 'write'; category: (typeof CATEGORIES)[number] } | { kind: 'grant' | 'revoke' | 'read'; viewer: number };

export interface Kill {
  /** Index of the operation the kill goes with. */
  at: number;
  target: Target;
  /** `during`: `delayMs` after the operation starts, while it may be in flight; `after`: as soon as it is answered. */
  when: 'during' | 'after';
  delayMs: number;
  /**
   * Chain only. Absent: the node loses what its last state save (once a second) missed. Set: the
   * state file as it was when operation `restoreFrom` started is put back before the restart, as if
   * the node had saved nothing since — a deeper rollback, independent of the machine's speed.
   */
  restoreFrom?: number;
}

/** The seeded workload: `ops` operations and `kills` kills, every process kind killed at least once when kills ≥ 3. */
export function planWorkload(seed: number, ops: number, kills: number): { ops: Op[]; kills: Kill[] } {
  const random = createRandom(seed);
  const plan: Op[] = [];
  for (let i = 0; i < ops; i++) {
    const r = random.next();
    const viewer = random.int(0, 1);
    if (r < 0.35) plan.push({ kind: 'write', category: random.pick(CATEGORIES) });
    else if (r < 0.55) plan.push({ kind: 'grant', viewer });
    else if (r < 0.7) plan.push({ kind: 'revoke', viewer });
    else plan.push({ kind: 'read', viewer });
  }
  const targets = shuffled(TARGETS, random);
  const slots = shuffled([...Array(ops).keys()], random)
    .slice(0, Math.min(kills, ops))
    .sort((a, b) => a - b);
  const planned = slots.map((at, i): Kill => {
    const target = i < targets.length ? targets[i]! : random.pick(TARGETS);
    const kill: Kill = { at, target, when: random.chance(0.5) ? 'during' : 'after', delayMs: random.int(0, 399) };
    const back = random.int(0, 3);
    if (target === 'chain' && back > 0) kill.restoreFrom = Math.max(0, at - back + 1);
    return kill;
  });
  return { ops: plan, kills: planned };
}

/** Fisher–Yates with the seeded source. */
function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface ReadRecord {
  viewer: number;
  status: number;
  pre: string;
  post: string;
  /** Whether the chain had the grant active, per block from pre to post. */
  active: boolean[];
}

export interface FaultReport {
  seed: number;
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
  /** Blocks the node lost over all its crashes. */
  rolledBackBlocks: number;
  /** Rollbacks the client's watcher followed. */
  clientRollbacks: number;
  seconds: number;
}

/**
 * One randomised run: start a lab (or use `lab`, left running), run the seeded workload with its
 * kills, settle, check.
 */
export async function runFaultScenario(options: { seed: number; ops?: number; kills?: number; log?: (line: string) => void; lab?: Lab }): Promise<FaultReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const { seed } = options;
  const plan = planWorkload(seed, options.ops ?? 14, options.kills ?? 3);
  log(`seed=${seed}: ${plan.ops.map((o) => (o.kind === 'write' ? `write:${o.category}` : `${o.kind}:${o.viewer}`)).join(' ')}; kills ${plan.kills.map((k) => `${k.target}@${k.at}/${k.when}${k.restoreFrom === undefined ? '' : `<-${k.restoreFrom}`}`).join(' ')}`);
  const lab = options.lab ?? (await startLab({ seed, log }));
  log(`lab ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const acknowledged: string[] = ['setup-laboratory', 'setup-vital-signs'];
  const eventsBefore = lab.events.length;
  const txs: { hash: Hex; kind: string; block: bigint }[] = [];
  const lostByCrash = new Set<Hex>();
  const reads: ReadRecord[] = [];
  let readsUnjudged = 0;
  let rolledBackBlocks = 0;
  const pc = lab.reader.publicClient;

  const saves = new Map<number, string>();
  const crash = async (target: Target, restore?: string) => {
    log(`kill -9 ${target}${restore ? ' (restoring an earlier state save)' : ''}`);
    const lost = await lab.crash(target, restore);
    rolledBackBlocks += lost;
    if (target !== 'chain') return;
    for (const tx of txs) if (tx.block > lab.chainRestoredAt) lostByCrash.add(tx.hash);
  };

  /** Grant state of `viewer` at each block from `from` to `to`, from the chain's events. */
  async function grantActive(viewer: number, from: bigint, to: bigint): Promise<boolean[]> {
    const { account, scope } = lab.viewers[viewer]!;
    const logs = parseEventLogs({ abi: medLedgerAbi, logs: await pc.getLogs({ address: lab.deployment.contract, fromBlock: lab.deployment.deployBlock, toBlock: to }) });
    const scopeHash = hashQuery(scope);
    const mine = logs.filter(
      (l) =>
        (l.eventName === viewerGranted.name || l.eventName === viewerRevoked.name) &&
        (l.args as { relationshipId: bigint }).relationshipId === lab.relationshipId &&
        (l.args as { viewer: Address }).viewer.toLowerCase() === account.address.toLowerCase() &&
        (l.args as { scopeHash: Hex }).scopeHash === scopeHash,
    );
    const result: boolean[] = [];
    for (let b = from; b <= to; b++) {
      const last = mine.filter((l) => l.blockNumber <= b).at(-1);
      result.push(last?.eventName === viewerGranted.name);
    }
    return result;
  }

  async function run(op: Op, i: number): Promise<void> {
    if (op.kind === 'write') {
      const id = `w${seed}-${i}`;
      await retrying(`write ${id}`, async () => {
        try {
          await lab.asProvider().post('/fhir/R4/Observation', observation(lab.patientId, id, op.category));
        } catch (err) {
          // An earlier try was stored before its answer was lost: the id is taken.
          if (!(err instanceof GatekeeperRequestError && err.status === 409)) throw err;
        }
      }, 120_000);
      acknowledged.push(id);
      return;
    }
    const { account, scope } = lab.viewers[op.viewer]!;
    if (op.kind === 'grant' || op.kind === 'revoke') {
      try {
        const r = await lab.client.call<{ transactionHash: Hex; blockNumber: string }>(op.kind, { relationshipId: lab.relationshipId.toString(), viewer: account.address, scope }, 120_000);
        txs.push({ hash: r.transactionHash, kind: op.kind, block: BigInt(r.blockNumber) });
      } catch (err) {
        log(`${op.kind} ${op.viewer}: ${(err as Error).message.split('\n')[0]}`);
      }
      return;
    }
    const epoch = lab.chainEpoch;
    const read = await retrying(`read by viewer ${op.viewer}`, async () => {
      const pre = await pc.getBlockNumber({ cacheTime: 0 });
      const status = await lab
        .asViewer(op.viewer)
        .get<Bundle>(`/fhir/R4/${scope}`)
        .then(
          (r) => r.status,
          (err) => {
            if (err instanceof GatekeeperRequestError && (err.status === 403 || err.status === 410)) return err.status;
            throw err; // unreachable gatekeeper, or a node it could not ask: no decision, try again
          },
        );
      const post = await pc.getBlockNumber({ cacheTime: 0 });
      return { pre, status, post };
    }, 120_000);
    if (epoch !== lab.chainEpoch) {
      readsUnjudged++;
      return;
    }
    const active = await grantActive(op.viewer, read.pre, read.post);
    if (epoch !== lab.chainEpoch) {
      readsUnjudged++;
      return;
    }
    reads.push({ viewer: op.viewer, status: read.status, pre: read.pre.toString(), post: read.post.toString(), active });
  }

  try {
    for (let i = 0; i < plan.ops.length; i++) {
      const op = plan.ops[i]!;
      const kill = plan.kills.find((k) => k.at === i);
      if (plan.kills.some((k) => k.restoreFrom === i)) saves.set(i, await lab.copyChainState());
      const restore = kill?.restoreFrom === undefined ? undefined : saves.get(kill.restoreFrom);
      const during = kill?.when === 'during' ? sleep(kill.delayMs).then(() => crash(kill.target, restore)) : undefined;
      await run(op, i);
      if (kill?.when === 'after') await crash(kill.target, restore);
      await during;
    }

    // Quiet down: outboxes re-send what the chain lost, the gatekeeper publishes what it left behind.
    let quiet = 0;
    for (let round = 0; round < 60 && quiet < 2; round++) {
      const c = await retrying('client settle', () => lab.client.call<{ resubmitted: number }>('settle'));
      const g = await retrying('gatekeeper settle', () => lab.gatekeeper.call<{ resubmitted: number }>('settle'));
      const r = await retrying('gatekeeper reconcile', () => lab.gatekeeper.call<{ published: number; failed: number }>('reconcile'));
      quiet = c.resubmitted + g.resubmitted + r.published + r.failed === 0 ? quiet + 1 : 0;
      if (quiet < 2) await sleep(200);
    }

    // Records: every acknowledged write exactly once.
    const own = lab.asProvider();
    const bundle = (await own.get<Bundle<Observation>>('/fhir/R4/Observation?_count=1000')).body;
    const seen = new Map<string, number>();
    const categoriesStored = new Set<string>();
    for (const e of bundle.entry ?? []) {
      for (const id of (e.resource!.identifier ?? []).filter((x) => x.system === WRITE_SYSTEM)) seen.set(id.value!, (seen.get(id.value!) ?? 0) + 1);
      for (const c of e.resource!.category?.flatMap((c) => c.coding ?? []) ?? []) categoriesStored.add(c.code!);
    }
    const lostRecords = acknowledged.filter((id) => !seen.has(id));
    const duplicatedRecords = [...seen].filter(([, n]) => n > 1).map(([id]) => id);

    // Pointers: the chain's hashes are the store's, and every stored category has its pointer.
    const verify = (await own.get<Parameters>(`/fhir/R4/Patient/${lab.patientId}/$verify`)).body;
    const pointers = (verify.parameter ?? []).filter((p) => p.name === 'pointer');
    const part = (p: (typeof pointers)[number], name: string) => p.part!.find((x) => x.name === name)!;
    const hashMismatches = pointers.filter((p) => !part(p, 'match').valueBoolean).map((p) => `mismatch:${part(p, 'query').valueString}`);
    const queries = new Set(pointers.map((p) => part(p, 'query').valueString));
    for (const c of categoriesStored) if (!queries.has(`Observation?category=${c}`)) hashMismatches.push(`missing:Observation?category=${c}`);

    // The client's local database equals a fresh resync.
    const clientState = JSON.parse(toJson(await retrying('client state', () => lab.client.call('state')))) as Record<string, unknown[]>;
    const freshState = (await resyncState(lab)) as Record<string, unknown[]>;
    const clientMatchesResync = JSON.stringify(clientState) === JSON.stringify(freshState);
    const clientDiff = clientMatchesResync
      ? undefined
      : Object.keys(freshState)
          .map((k) => `${k}: client ${clientState[k]?.length} vs resync ${freshState[k]!.length}${JSON.stringify(clientState[k]) === JSON.stringify(freshState[k]) ? '' : ' (differ)'}`)
          .join('; ');

    // Acknowledged transactions are on the final chain, and succeeded.
    const missingTxs: string[] = [];
    for (const tx of txs) {
      const receipt = (await pc.request({ method: 'eth_getTransactionReceipt', params: [tx.hash] })) as { status: Hex } | null;
      if (receipt?.status !== '0x1') missingTxs.push(`${tx.kind}:${tx.hash}:${receipt ? 'reverted' : 'absent'}`);
    }

    const report: FaultReport = {
      seed,
      ops: plan.ops,
      kills: plan.kills,
      writesAcknowledged: acknowledged.length,
      lostRecords,
      duplicatedRecords,
      hashMismatches,
      clientMatchesResync,
      clientDiff,
      reads: reads.length,
      readRecords: reads,
      readsUnjudged,
      lateGrantReads: reads.filter((r) => r.status === 200 && !r.active.some(Boolean)),
      wrongfulDenials: reads.filter((r) => r.status !== 200 && r.active.every(Boolean)).length,
      acknowledgedTxs: txs.length,
      missingTxs,
      txsLostByCrash: lostByCrash.size,
      resubmittedTxs: new Set(lab.events.slice(eventsBefore).filter((e) => e.event === 'resubmitted').map((e) => e.hash)).size,
      rolledBackBlocks,
      clientRollbacks: lab.events.slice(eventsBefore).filter((e) => e.event === 'rolledBack').length,
      seconds: (Date.now() - started) / 1000,
    };
    log(`seed=${seed}: ${toJson({ ...report, ops: undefined, kills: undefined, readRecords: undefined })}`);
    return report;
  } catch (err) {
    (err as Error).message = `seed=${seed}: ${(err as Error).message}\ngatekeeper stderr: ${lab.gatekeeper?.stderr().slice(-1500)}\nclient stderr: ${lab.client?.stderr().slice(-1500)}`;
    throw err;
  } finally {
    if (!options.lab) await lab.close();
  }
}
