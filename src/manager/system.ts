/**
 * `medledger start`: the whole system, for a demo or a single-site trial — the chain (embedded anvil or
 * MEDLEDGER_RPC_URL), the contract, demo users, one records store and gatekeeper per demo provider
 * seeded from the FHIR generator (each its own process: provider-sites.ts), the research sites (each
 * its own process: research-sites.ts), and, in this process, the manager's Ethereum client and the
 * EHR Manager.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import type { Config } from '../config.js';
import { packageRoot } from '../package-root.js';
import { createLedgerClient, type LedgerClient } from '../chain/client.js';
import { announceNode, startChain, withdrawNode, type ChainRuntime } from '../chain/runtime.js';
import { createWatcher } from '../client/watcher.js';
import { DEMO_USERS, ensureDemoUsers } from '../demo/users.js';
import { DEMO_PROVIDERS, type DemoProvider } from '../demo/generate.js';
import { seedDemoStudy } from '../demo/study.js';
import type { ModelRegistry } from '../ml/registry.js';
import type { HeartHospital } from '../ml/data.js';
import { recordServedModels, startModelService } from '../ml/service.js';
import { announceGatekeepers, withdrawGatekeepers } from './gatekeeper-directory.js';
import type { RunningGatekeeper, SmartOptions } from '../gatekeeper/index.js';
import { demoPasswordOf, loadUsers, markDemoDataDir } from '../keys/users.js';
import { openDb } from '../records/db.js';
import { loadPepper } from '../sdk/identity.js';
import { assertDemoBind } from './demo-mode.js';
import { buildManager, type ManagerProvider } from './server.js';
import { startDocumentService } from '../ml/document-service.js';
import { createNotificationHub, type NotificationHub } from './notifications.js';
import { createStudyCatalogue } from './study-catalogue.js';
import { joinResearchSites, launchResearchSites, type RunningResearchSites } from './research-sites.js';
import { publicHealthSource } from './outbreak-source.js';
import { demoNow, startProviderSite, type ReadNotice } from './provider-site.js';
import { launchProviderSites } from './provider-sites.js';

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
  /**
   * Each demo provider's gatekeeper in a process of its own (`medledger provider-site`, provider-sites.ts;
   * issue 16 §8; default true; needs the compiled CLI). False runs them in this process, for tests that
   * read a provider's store directly (`gatekeepers`).
   */
  providerProcesses?: boolean;
}

/** Where a demo provider's gatekeeper listens, and its process. */
export interface SystemProvider {
  name: DemoProvider;
  provider: Address;
  url: string;
  pid: number;
}

export interface RunningSystem {
  url: string;
  runtime: ChainRuntime;
  /** The demo providers' gatekeepers, wherever they run. */
  providers: SystemProvider[];
  /** The gatekeepers themselves, when they run in this process (`providerProcesses: false`); else empty. */
  gatekeepers: Map<DemoProvider, RunningGatekeeper>;
  /** The served models (src/ml/service.ts), as the manager's /api/ml routes serve them. */
  models: ModelRegistry;
  /** The research sites' processes (none with `researchSites: false`). */
  researchSites?: RunningResearchSites;
  stop(): Promise<void>;
}

// From the package root: this module runs from src/ (tsx) and from dist/src/ (compiled).
const DEFAULT_WEB_ROOT = join(packageRoot(), 'dist', 'web');

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

    // Set once the hub exists; gatekeepers start first. A read before then is not lost: it is in the provider's audit trail.
    let tellPatient: (notice: ReadNotice) => void = () => undefined;
    const started = await startProviders(cfg, options, runtime, pepper, managerOrigin, (n) => tellPatient(n), log);
    closers.push(started.stop);
    const { gatekeepers, providers: sites } = started;
    announceGatekeepers(cfg.dataDir, new Map(sites.map((s) => [s.provider, s.url])));
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
    tellPatient = (n) => hub.publish(n.patient, { kind: 'grant-used', blockNumber: '0', payload: n.payload });

    const providers: ManagerProvider[] = sites.map((site) => {
      const user = users.find((u) => u.name === site.name)!;
      return { name: site.name, label: user.label ?? site.name, address: user.address, gatekeeperUrl: site.url };
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
      outbreak: publicHealthSource(cfg.dataDir, users, sites, runtime.deployment.chainId),
      documents,
      models,
      studies,
      researchSites: research?.providers,
    });
    const url = await app.listen({ port: cfg.port, host });
    closers.push(() => app.close());
    // SMART discovery at each gatekeeper points patients' apps at the manager's authorize page.
    started.announceManager(url);
    return { url, runtime, providers: sites, gatekeepers, models, researchSites: research?.running, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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

/**
 * The demo providers' gatekeepers: each its own process (provider-sites.ts), or with
 * `providerProcesses: false` in this one (provider-site.ts), one after the other.
 */
async function startProviders(cfg: Config, options: SystemOptions, runtime: ChainRuntime, pepper: Hex, managerOrigin: string, onRead: (n: ReadNotice) => void, log: (line: string) => void) {
  const corsOrigins = cfg.port ? [managerOrigin, `http://localhost:${cfg.port}`] : undefined;
  // Written here first, so every provider's generator uses the same "today".
  demoNow(cfg.dataDir);
  if (options.providerProcesses !== false) {
    const running = await launchProviderSites({ dataDir: cfg.dataDir, rpcUrl: runtime.deployment.rpcUrl, providers: DEMO_PROVIDERS, patients: options.patients, firstPort: cfg.gatekeeperPort || undefined, corsOrigins, pollingIntervalMs: cfg.pollingIntervalMs, onRead, log });
    for (const s of running.sites) log(`gatekeeper of ${s.name} running as process ${s.pid}`);
    return { providers: running.sites, gatekeepers: new Map<DemoProvider, RunningGatekeeper>(), announceManager: running.announceManager, stop: running.stop };
  }
  const smart: SmartOptions = {};
  const gatekeepers = new Map<DemoProvider, RunningGatekeeper>();
  const stop = async () => {
    for (const gk of gatekeepers.values()) await gk.close().catch(() => undefined);
  };
  try {
    for (const [i, provider] of DEMO_PROVIDERS.entries()) {
      const port = cfg.gatekeeperPort ? cfg.gatekeeperPort + i : 0;
      gatekeepers.set(provider, await startProviderSite({ runtime, dataDir: cfg.dataDir, pepper, provider, patients: options.patients, port, corsOrigins, pollingIntervalMs: cfg.pollingIntervalMs, onRead, log, smart }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const providers = [...gatekeepers].map(([name, gk]) => ({ name, provider: gk.chain.provider, url: gk.url, pid: process.pid }));
  return { providers, gatekeepers, announceManager: (url: string) => void (smart.authorizeUrl = `${url}/smart/authorize`), stop };
}
