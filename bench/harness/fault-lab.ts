/**
 * The processes of a fault run (fault-driver.ts): the chain node (anvil), one provider's gatekeeper
 * (fault-gatekeeper.ts), the patient's Ethereum client (fault-client.ts) and the provider's EHR that
 * sends bursts of writes (fault-ehr.ts), each its own process so that it can be `kill -9`ed and
 * restarted on the same data directory. Besides the patient whose client runs, the gatekeeper holds
 * BURST_PATIENTS more linked patients, so that a burst's writes change the pointers of several
 * relationships at once.
 */
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { freePort, startAnvil, type AnvilNode } from '../../src/chain/anvil.js';
import { createLedgerClient, type LedgerClient } from '../../src/chain/client.js';
import { startChain } from '../../src/chain/runtime.js';
import { createWatcher, localState } from '../../src/client/watcher.js';
import { openDb } from '../../src/records/db.js';
import { gatekeeperClient, type GatekeeperClient } from '../../src/sdk/gatekeeper.js';
import { accreditProvider, attestPatient, findRelationship, registerPatient } from '../../src/sdk/index.js';
import { hashIdentity } from '../../src/sdk/identity.js';
import { PEPPER, tempDir, testConfig } from './chain.js';
import { CATEGORIES, type Target } from './fault-plan.js';
import { spawnChild, toJson, type Child, type ChildEvent } from './fault-process.js';
import { observation } from './fault-records.js';

export { observation, WRITE_SYSTEM } from './fault-records.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Linked patients besides the one whose client runs (their records take part in bursts). */
export const BURST_PATIENTS = 5;

/**
 * How the gatekeeper brings pointer hashes on chain (src/gatekeeper/publish/publisher.ts): `batched`,
 * the default, coalesces the writes of a short window into one updatePointers transaction and answers
 * a write once its pointers are mined; `batched-early` answers at the store commit (its publish_intents
 * note stands for the pointer update until it is mined); `per-pointer` sends one transaction per
 * changed pointer, serialised per patient (patients in parallel: many transactions in flight).
 */
export const PUBLISH_MODES = ['batched', 'batched-early', 'per-pointer'] as const;
export type PublishMode = (typeof PUBLISH_MODES)[number];
const PUBLISH_OPTIONS: Record<PublishMode, { coalesce?: boolean; awaitChain?: boolean }> = {
  batched: {},
  'batched-early': { awaitChain: false },
  'per-pointer': { coalesce: false },
};

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
export async function retrying<T>(what: string, fn: () => Promise<T>, ms = 180_000): Promise<T> {
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
  /** Every patient linked at the gatekeeper, `patientId` first (bursts write to all of them). */
  patients: string[];
  /** The running processes (replaced on each restart). */
  node: AnvilNode;
  gatekeeper: Child;
  client: Child;
  /** The provider's EHR, which sends burst writes (fault-ehr.ts). */
  ehr: Child;
  /** How the running gatekeeper publishes. */
  publish: PublishMode;
  /** Restarts the gatekeeper (a clean stop) with another publish mode, unless it has it already. */
  usePublish(mode: PublishMode): Promise<void>;
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
export async function startLab(options: { seed: number; publish?: PublishMode; log?: (line: string) => void }): Promise<Lab> {
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
    if (e.event === 'resigned') log(`${e.who} outbox signed ${e.hash} (nonce ${e.nonce}) again as ${e.next} (${e.reason})`);
    if (e.event === 'refused') log(`${e.who} outbox: the node refused ${e.hash} (nonce ${e.nonce}): ${e.error}`);
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
    spawnChild('gatekeeper', 'bench/harness/fault-gatekeeper.ts', { ...childChain(providerKey, 'provider'), port: gatekeeperPort, pepper: PEPPER, publish: PUBLISH_OPTIONS[lab.publish] }, onEvent);
  const startClientChild = () => spawnChild('client', 'bench/harness/fault-client.ts', childChain(patientKey, 'client'), onEvent);
  const startEhrChild = () =>
    spawnChild('ehr', 'bench/harness/fault-ehr.ts', { url: `http://127.0.0.1:${gatekeeperPort}`, gatekeeper: provider.address, chainId: deployment.chainId, key: providerKey }, onEvent);

  const stateSaved = async (sinceMs: number) => {
    const deadline = Date.now() + 30_000;
    while (!(existsSync(stateFile) && statSync(stateFile).mtimeMs > sinceMs)) {
      if (Date.now() > deadline) throw new Error('anvil did not save its state within 30 s');
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
    patients: [],
    node: runtime.node!,
    gatekeeper: undefined as unknown as Child,
    client: undefined as unknown as Child,
    ehr: undefined as unknown as Child,
    publish: options.publish ?? 'batched',
    async usePublish(mode) {
      if (lab.publish === mode) return;
      lab.publish = mode;
      await lab.gatekeeper.stop();
      lab.gatekeeper = await startGatekeeperChild();
    },
    events,
    chainEpoch: 0,
    chainRestoredAt: 0n,
    asProvider: () => gatekeeperClient({ url: `http://127.0.0.1:${gatekeeperPort}`, gatekeeper: provider.address, chainId: deployment.chainId, account: provider }),
    asViewer: (i) => gatekeeperClient({ url: `http://127.0.0.1:${gatekeeperPort}`, gatekeeper: provider.address, chainId: deployment.chainId, account: viewers[i]!.account }),
    stateSaved,
    async saveChainState() {
      // A save whose file is written after now may have been taken before the newest block (under load
      // anvil's dump lags its write): wait for one that holds the block the chain is at now.
      const at = await reader.publicClient.getBlockNumber({ cacheTime: 0 });
      for (;;) {
        await stateSaved(Date.now());
        const copy = await lab.copyChainState();
        if (BigInt((JSON.parse(readFileSync(copy, 'utf8')) as { best_block_number: number | string }).best_block_number) >= at) return copy;
      }
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
      if (target === 'ehr') {
        await lab.ehr.kill();
        lab.ehr = await startEhrChild();
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
      lab.node = await retrying('restarting anvil', () => startAnvil({ stateFile, port: chainPort }), 60_000);
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
      await Promise.all([lab.gatekeeper?.kill(), lab.client?.kill(), lab.ehr?.kill()]);
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
    lab.patients = [lab.patientId];
    const fund = (address: Address) => runtime.fund(address);
    for (let k = 1; k <= BURST_PATIENTS; k++) lab.patients.push(await linkBurstPatient({ own, deployment, provider: provider.address, providerLedger, fund, seed: options.seed, patientId: `${lab.patientId}-b${k}`, k }));
    lap('records written');
    lab.ehr = await startEhrChild();
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

/**
 * One more patient for bursts, registered and linked like the first, with a record per category (so
 * that bursts update existing pointers); resolves with their local id.
 */
async function linkBurstPatient(options: {
  own: GatekeeperClient;
  deployment: Lab['deployment'];
  provider: Address;
  providerLedger: LedgerClient;
  fund: (address: Address) => Promise<unknown>;
  seed: number;
  patientId: string;
  k: number;
}): Promise<string> {
  const { own, providerLedger, patientId, k } = options;
  const value = `${options.seed}-b${k}`;
  const identity = `urn:medledger:fault|${value}`;
  const account = privateKeyToAccount(generatePrivateKey());
  await options.fund(account.address);
  const identityHash = hashIdentity(identity, PEPPER);
  const attestation = await attestPatient(providerLedger, { identityHash, patient: account.address });
  await registerPatient(createLedgerClient(options.deployment, { account, pollingIntervalMs: 20 }), { identityHash, attester: options.provider, attestation });
  await own.post('/fhir/R4/Patient', { resourceType: 'Patient', id: patientId, identifier: [{ system: 'urn:medledger:fault', value }] });
  await own.post('/registrar/link', { identity });
  for (const category of CATEGORIES) await own.post('/fhir/R4/Observation', observation(patientId, `setup-b${k}-${category}`, category));
  return patientId;
}

/**
 * startLab, tried up to three times: setting a lab up is not part of what a run tests, and on a loaded
 * machine a start-up limit (a child's readiness, the node's first state save) is now and then missed.
 */
export async function startLabRetrying(options: { seed: number; publish?: PublishMode; log?: (line: string) => void }): Promise<Lab> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLab(options);
    } catch (err) {
      if (attempt >= 3) throw err;
      options.log?.(`setting the lab up failed (attempt ${attempt}): ${(err as Error).message.split('\n')[0]}`);
    }
  }
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
