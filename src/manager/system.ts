/**
 * `medledger start`: the whole system in one process, for a demo or a single-site trial — the chain
 * (embedded anvil or MEDLEDGER_RPC_URL), the contract, demo users, one records store and gatekeeper per
 * demo provider seeded from the FHIR generator, the manager's Ethereum client, and the EHR Manager.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import type { Config } from '../config.js';
import { packageRoot } from '../package-root.js';
import { createLedgerClient, type LedgerClient } from '../chain/client.js';
import { announceNode, startChain, withdrawNode, type ChainRuntime } from '../chain/runtime.js';
import { createWatcher } from '../client/watcher.js';
import { DEMO_USERS, ensureDemoUsers } from '../demo/users.js';
import { DEMO_MRN_SYSTEM, DEMO_PROVIDERS, generatePatients, resourcesOf, type DemoProvider } from '../demo/generate.js';
import { seedStore } from '../demo/seed.js';
import { surveillanceConsents } from '../demo/surveillance.js';
import { seedDemoStudy } from '../demo/study.js';
import { modelWorkups } from '../demo/workups.js';
import type { ModelRegistry } from '../ml/registry.js';
import type { HeartHospital } from '../ml/data.js';
import { recordServedModels, startModelService } from '../ml/service.js';
import { createHeartResearchSite } from '../ml/research/site.js';
import { announceGatekeepers, withdrawGatekeepers } from './gatekeeper-directory.js';
import { addressOfPatient, linkPatient, publishPatient, startGatekeeper, type Decision, type RunningGatekeeper } from '../gatekeeper/index.js';
import { demoPasswordOf, loadUsers, markDemoDataDir, unlockUser, type UserRecord } from '../keys/users.js';
import { openDb } from '../records/db.js';
import { loadPepper } from '../sdk/identity.js';
import { assertDemoBind } from './demo-mode.js';
import { buildManager, type ManagerProvider } from './server.js';
import { startDocumentService } from '../ml/document-service.js';
import { createNotificationHub, type NotificationHub } from './notifications.js';
import { createStudyCatalogue } from './study-catalogue.js';
import { joinResearchSites, launchResearchSites, type RunningResearchSites } from './research-sites.js';
import { publicHealthSource, surveillanceReporting } from './outbreak-source.js';
import type { Patient } from '@medplum/fhirtypes';

export interface SystemOptions {
  /** Demo patients per provider store (0 = no seeding). */
  patients: number;
  /** Where the built web app is (default: dist/web of this package). */
  webRoot?: string;
  log?: (line: string) => void;
  /**
   * Demo mode: create the demo users if missing (their passwords kept in the data directory) and
   * serve the demo patients' keystores to this machine. Refused unless `host` is loopback.
   */
  demo?: boolean;
  /** Where the EHR Manager listens (default 127.0.0.1). */
  host?: string;
  /** Also run the UCI heart-disease hospitals as research sites, each its own process (research-sites.ts; default true = all four, a list = those; needs the compiled CLI). */
  researchSites?: boolean | readonly HeartHospital[];
}

export interface RunningSystem {
  url: string;
  runtime: ChainRuntime;
  gatekeepers: Map<DemoProvider, RunningGatekeeper>;
  /** The served models (src/ml/service.ts), as the manager's /api/ml routes serve them. */
  models: ModelRegistry;
  /** The research sites' processes (none with `researchSites: false`). */
  researchSites?: RunningResearchSites;
  stop(): Promise<void>;
}

// From the package root: this module runs from src/ (tsx) and from dist/src/ (compiled).
const DEFAULT_WEB_ROOT = join(packageRoot(), 'dist', 'web');
/** Fixed so every data directory gets the same demo patients. */
const DEMO_SEED = 'medledger-demo-1';

export async function startSystem(cfg: Config, options: SystemOptions): Promise<RunningSystem> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  if (options.demo) {
    assertDemoBind(host);
    // Explicit demo mode makes this a demo data directory (also one from before demo.json existed).
    markDemoDataDir(cfg.dataDir);
  }
  const missing = DEMO_USERS.filter((d) => !loadUsers(cfg.dataDir).some((u) => u.name === d.name));
  if (!options.demo && missing.length) {
    throw new Error(`the whole system runs the demo providers and patients, and ${missing.map((d) => d.name).join(', ')} are not in this data directory: start with --demo (npm start does), or use --chain-only`);
  }
  const runtime = await startChain(cfg);
  const closers: (() => Promise<unknown>)[] = [async () => runtime.stop(), async () => withdrawNode(cfg.dataDir)];
  const stop = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    announceNode(cfg.dataDir, runtime.deployment.rpcUrl, runtime.node?.process.pid);
    const pepper = loadPepper(cfg.dataDir, cfg.identityPepper);
    await ensureDemoUsers(runtime, cfg.dataDir, pepper, (l) => log(l));
    const users = loadUsers(cfg.dataDir);
    // Loaded from data/models before the gatekeepers start (trained, for seconds, only if a file is missing), recorded on chain by the governor.
    const recorder = runtime.governor ? createLedgerClient(runtime.deployment, { account: runtime.governor, pollingIntervalMs: cfg.pollingIntervalMs }) : undefined;
    const models = await startModelService({ log, recorder, pepper });
    const managerOrigin = `http://127.0.0.1:${cfg.port}`;
    // Launched now and awaited below, so the sites seed their stores while the rest starts.
    const launched = options.researchSites === false ? undefined : await launchResearchSites({ runtime, dataDir: cfg.dataDir, pepper, hospitals: Array.isArray(options.researchSites) ? options.researchSites : undefined, corsOrigins: cfg.port ? [managerOrigin, `http://localhost:${cfg.port}`] : undefined, pollingIntervalMs: cfg.pollingIntervalMs, onProgress: log });
    if (launched) closers.push(launched.stop);

    const gatekeepers = new Map<DemoProvider, RunningGatekeeper>();
    // Set once the hub exists; gatekeepers start first.
    let grantUsed: (gk: RunningGatekeeper, d: Decision) => void = () => undefined;
    const generated = options.patients ? generatePatients({ seed: DEMO_SEED, count: options.patients, now: demoNow(cfg.dataDir) }) : [];
    for (const [i, name] of DEMO_PROVIDERS.entries()) {
      const ledger = createLedgerClient(runtime.deployment, { account: unlockUser(cfg.dataDir, name), pollingIntervalMs: cfg.pollingIntervalMs });
      const dataDir = join(cfg.dataDir, 'providers', name, 'pgdata');
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const gk = await startGatekeeper({
        ledger,
        database: { dataDir },
        port: cfg.gatekeeperPort ? cfg.gatekeeperPort + i : 0,
        anchorIntervalMs: 30_000,
        corsOrigins: cfg.port ? [managerOrigin, `http://localhost:${cfg.port}`] : ['*'],
        pepper,
        onDecision: (d) => grantUsed(gk, d),
        surveillance: surveillanceReporting(users),
        research: createHeartResearchSite(),
      });
      closers.push(() => gk.close());
      gatekeepers.set(name, gk);
      if (generated.length) {
        const resources = [...resourcesOf(generated, name), ...surveillanceConsents(generated, name, DEMO_SEED), ...modelWorkups(generated, name, DEMO_SEED)];
        const r = await seedStore(gk.store, resources, (done, total) => log(`seeding ${name}: ${done}/${total} resources`));
        if (r.stored) log(`seeded ${name}: ${r.stored} resources of ${generated.length} patients`);
      }
      await linkDemoPatients(gk, users, pepper, log, name);
    }
    announceGatekeepers(cfg.dataDir, new Map([...gatekeepers].map(([name, gk]) => [users.find((u) => u.name === name)!.address, gk.url])));
    closers.push(async () => withdrawGatekeepers(cfg.dataDir));

    const managerDir = join(cfg.dataDir, 'manager', 'pgdata');
    mkdirSync(managerDir, { recursive: true, mode: 0o700 });
    const managerDb = await openDb({ dataDir: managerDir });
    closers.push(() => managerDb.close());
    const reader = createLedgerClient(runtime.deployment, { pollingIntervalMs: cfg.pollingIntervalMs });
    const watcher = createWatcher({ ledger: reader, db: managerDb });
    await watcher.init();
    await watcher.sync();
    watcher.start(250);
    closers.push(() => watcher.stop());
    const hub = createNotificationHub(watcher, managerDb);
    closers.push(async () => hub.close());
    grantUsed = (gk, d) => void tellPatientOfRead(gk, d, hub).catch(() => undefined);

    const providers: ManagerProvider[] = DEMO_PROVIDERS.map((name) => {
      const user = users.find((u) => u.name === name)!;
      return { name, label: user.label ?? name, address: user.address, gatekeeperUrl: gatekeepers.get(name)!.url };
    });
    // Uploads are read and classified here, in the providers' own process; the document model trains in about a second.
    const documents = startDocumentService();
    closers.push(() => documents.close());
    models.add({ card: (await documents.documentModel()).card });
    const studies = await startStudyCatalogue(runtime, cfg.dataDir, reader, log);
    const research = launched && (await joinResearchSites(launched, cfg.dataDir, studies?.demoStudyId));
    // Its card exists only now; recorded like the others (a no-op for those already on chain).
    if (recorder) await recordServedModels(models, recorder, pepper, log);
    const app = buildManager({
      chainId: runtime.deployment.chainId,
      contract: runtime.deployment.contract,
      deployBlock: runtime.deployment.deployBlock,
      rpcUrl: runtime.deployment.rpcUrl,
      providers,
      users: users.filter((u) => u.role !== 'governor'),
      keystoreOf: (address: Address) => {
        // Only the generated demo users (a stored demo password), never a user someone created here.
        const user = users.find((u) => u.address.toLowerCase() === address.toLowerCase());
        const file = join(cfg.dataDir, 'keys', `${address.toLowerCase()}.json`);
        return user && demoPasswordOf(cfg.dataDir, user) && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      },
      hub,
      webRoot: options.webRoot ?? DEFAULT_WEB_ROOT,
      demo: options.demo ?? false,
      outbreak: publicHealthSource(cfg.dataDir, users, gatekeepers, runtime.deployment.chainId),
      documents,
      models,
      studies,
      researchSites: research?.providers,
    });
    const url = await app.listen({ port: cfg.port, host });
    closers.push(() => app.close());
    return { url, runtime, gatekeepers, models, researchSites: research?.running, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A permitted read by someone other than the patient and their provider: tell the patient now. */
async function tellPatientOfRead(gk: RunningGatekeeper, d: Decision, hub: NotificationHub): Promise<void> {
  if (!d.permitted || !d.patientId || d.interaction === 'login' || d.requester.toLowerCase() === d.gatekeeper.toLowerCase()) return;
  const patient = addressOfPatient((await gk.store.read('Patient', d.patientId)) as Patient);
  if (!patient || patient.toLowerCase() === d.requester.toLowerCase()) return;
  // A break-glass read is not through a grant; say so, so the patient tells it apart at a glance.
  const emergency = d.breakGlass === undefined ? {} : { emergency: true };
  hub.publish(patient, { kind: 'grant-used', blockNumber: '0', payload: { viewer: d.requester, provider: d.gatekeeper, request: `${d.method} ${d.path}`, ...emergency } });
}

/** The manager's study catalogue, with the demo study registered (once) and published; none on a deployment without a StudyRegistry. */
async function startStudyCatalogue(runtime: ChainRuntime, dataDir: string, reader: LedgerClient, log: (line: string) => void) {
  const studyRegistry = runtime.deployment.studyRegistry;
  if (!studyRegistry) return undefined;
  const catalogue = createStudyCatalogue(join(dataDir, 'manager', 'studies'));
  const demo = await seedDemoStudy(runtime, dataDir, demoNow(dataDir), log);
  catalogue.put(demo.hash, demo.definition);
  return { reader, catalogue, studyRegistry, demoStudyId: demo.studyId };
}

/** The demo's "today", fixed at the first start so the generated history does not move. */
function demoNow(dataDir: string): string {
  const file = join(dataDir, 'demo-now.txt');
  if (!existsSync(file)) writeFileSync(file, new Date().toISOString());
  return readFileSync(file, 'utf8').trim();
}

/** Links the demo patients' local records to their Registrar addresses and publishes pointers to them. */
async function linkDemoPatients(gk: RunningGatekeeper, users: UserRecord[], pepper: Hex, log: (line: string) => void, provider: string) {
  for (const user of users.filter((u) => u.role === 'patient' && u.identity?.startsWith(`${DEMO_MRN_SYSTEM}|`))) {
    const local = await gk.store.findPatientByIdentifier(DEMO_MRN_SYSTEM, user.identity!.split('|')[1]!);
    if (!local?.id) continue;
    if (!addressOfPatient(local)) await linkPatient(gk.store, gk.ledger, local.id, user.identity!, pepper);
    const published = await publishPatient(gk.store, gk.ledger, local.id);
    if (published.length) log(`${provider}: published ${published.length} pointers to ${user.name}'s records`);
  }
}
