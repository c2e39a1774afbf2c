/**
 * The four UCI heart-disease hospitals as research sites, each its own process (issue 16 §8): what
 * `npm start`, the bench (bench/research.ts) and the study tests run studies over. For each hospital
 * this creates its provider key once (a demo user of its own users directory, researchSitesDir, so the
 * demo's users are unchanged), funds and accredits it, then runs `medledger research-site` (the
 * compiled CLI, src/cli/research-site.ts) and waits for the URL it prints. A study's coordinator
 * reaches them only over HTTP.
 *
 * The children die with us: `stop()` ends them (SIGTERM, then SIGKILL), a watchdog
 * (src/chain/lifeline.ts) ends them if we are killed outright, and each stops itself when re-parented.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { createLedgerClient, type LedgerClient } from '../chain/client.js';
import { guardChildren } from '../chain/lifeline.js';
import { DEMO_SCRYPT_N, type ChainRuntime } from '../chain/runtime.js';
import { enrollHeartPatients, HEART_HOSPITALS, HEART_SITE_SEED, heartSiteUser, researchSitesDir, type HeartHospital } from '../demo/heart-sites.js';
import { createUser, loadUsers } from '../keys/users.js';
import { HEART_HOSPITAL_NAMES } from '../ml/heart-codes.js';
import { packageRoot } from '../package-root.js';
import { childReady, stopChild } from './child-sites.js';
import { announcedGatekeepers, announceGatekeepers } from './gatekeeper-directory.js';
import type { ManagerProvider } from './server.js';
import { hashIdentity } from '../sdk/identity.js';
import { accreditProvider, getAccount } from '../sdk/registrar.js';

/** The first start seeds about 12 000 FHIR resources per hospital; later starts only open the store. */
const READY_WITHIN_MS = 300_000;
const READY_LINE = /^research site (\S+) (0x[0-9a-fA-F]{40}) ready at (\S+)$/m;

export interface ResearchSitesOptions {
  /** The running chain: its deployment, governor (accredits the sites, relays enrolments) and faucet. */
  runtime: ChainRuntime;
  /** The system's data directory (deployment record, identity pepper; the sites' keys and stores go under it). */
  dataDir: string;
  pepper: Hex;
  hospitals?: readonly HeartHospital[];
  /** The stand-in patients' key seed (src/demo/heart-sites.ts; default HEART_SITE_SEED). */
  seed?: string;
  /** Enrol the consenting share of each site's patients in this study once the sites run. */
  study?: Hex;
  /** Share of each hospital's patients who consent (default 0.8). */
  consentShare?: number;
  /** Browser origins the sites accept (the EHR Manager); none = any. */
  corsOrigins?: readonly string[];
  pollingIntervalMs?: number;
  onProgress?: (line: string) => void;
}

export interface ResearchSiteInfo {
  hospital: HeartHospital;
  provider: Address;
  /** The hospital in words. */
  name: string;
  /** The gatekeeper's base URL (FHIR at /fhir/R4, studies at /research/studies). */
  url: string;
  pid: number;
}

export interface RunningResearchSites {
  sites: ResearchSiteInfo[];
  /** Enrols the consenting share of every site's patients in `studyId` (patients' own signatures, relayed by the governor). */
  enroll(studyId: Hex, share?: number): Promise<{ enrolled: number; unchanged: number }>;
  stop(): Promise<void>;
}

/** The research-site user of each hospital, created (demo password, fast scrypt), funded and accredited when missing. */
async function ensureSiteProviders(o: ResearchSitesOptions, governor: LedgerClient, hospitals: readonly HeartHospital[]): Promise<Map<HeartHospital, Address>> {
  const dir = researchSitesDir(o.dataDir);
  const providers = new Map<HeartHospital, Address>();
  for (const hospital of hospitals) {
    const name = heartSiteUser(hospital);
    const identity = `urn:medledger:org|${name}`;
    let user = loadUsers(dir).find((u) => u.name === name);
    if (!user) {
      const password = randomBytes(9).toString('base64url');
      user = createUser(dir, { name, role: 'provider', label: HEART_HOSPITAL_NAMES[hospital], identity, password, demoPassword: password, scryptN: DEMO_SCRYPT_N });
    }
    await o.runtime.fund(user.address);
    if (!(await getAccount(governor, user.address)).accredited) {
      await accreditProvider(governor, { provider: user.address, identityHash: hashIdentity(identity, o.pepper) });
      o.onProgress?.(`accredited research site ${name}`);
    }
    providers.set(hospital, user.address);
  }
  return providers;
}

/** Resolves with the site once the child prints its ready line (child-sites.ts). */
async function siteReady(child: ChildProcess, hospital: HeartHospital): Promise<ResearchSiteInfo> {
  const m = await childReady(child, `research site ${hospital}`, READY_LINE, READY_WITHIN_MS);
  return { hospital, provider: m[2] as Address, name: HEART_HOSPITAL_NAMES[hospital], url: m[3]!, pid: child.pid! };
}

export interface LaunchedResearchSites {
  /** The sites once every process printed its URL (seeding its store first, the first time). */
  ready: Promise<RunningResearchSites>;
  /** Ends the processes, ready or not. */
  stop(): Promise<void>;
}

/**
 * Creates, funds and accredits the sites' providers (chain transactions: awaited, so they never race
 * the caller's own), then spawns the processes and returns at once: `ready` resolves when they all
 * listen, so a caller (src/manager/system.ts) starts the rest of the system meanwhile. `study` is not
 * enrolled here (see startResearchSites).
 */
export async function launchResearchSites(o: ResearchSitesOptions): Promise<LaunchedResearchSites> {
  const bin = join(packageRoot(), 'bin', 'medledger.js');
  if (!existsSync(join(packageRoot(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('the research sites run the compiled CLI: run npm run build first');
  if (!o.runtime.governor) throw new Error('the governor key is needed to accredit the research sites');
  const governor = createLedgerClient(o.runtime.deployment, { account: o.runtime.governor, pollingIntervalMs: o.pollingIntervalMs ?? 20 });
  const hospitals = o.hospitals ?? HEART_HOSPITALS;
  const seed = o.seed ?? HEART_SITE_SEED;
  await ensureSiteProviders(o, governor, hospitals);
  const env: NodeJS.ProcessEnv = { ...process.env, MEDLEDGER_DATA_DIR: o.dataDir, MEDLEDGER_RPC_URL: o.runtime.deployment.rpcUrl, MEDLEDGER_POLLING_MS: String(o.pollingIntervalMs ?? 20) };
  // The site unlocks its own key with its stored demo password, never with whatever password this process was given.
  delete env.MEDLEDGER_PASSWORD;
  const cors = (o.corsOrigins ?? []).flatMap((origin) => ['--cors-origin', origin]);
  const children = hospitals.map((hospital) =>
    spawn(process.execPath, [bin, 'research-site', '--hospital', hospital, '--seed', seed, ...cors], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const lifeline = guardChildren(children.flatMap((c) => (c.pid ? [c.pid] : [])));
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    lifeline.release();
  };
  const enroll = (studyId: Hex, share = o.consentShare) => enrollHeartPatients(governor, studyId, { hospitals, seed, share, onProgress: o.onProgress });
  const ready = Promise.all(children.map((child, i) => siteReady(child, hospitals[i]!))).then(
    (sites) => {
      for (const s of sites) o.onProgress?.(`research site ${s.hospital} at ${s.url}`);
      return { sites, enroll, stop };
    },
    async (err: unknown) => {
      await stop();
      throw err;
    },
  );
  // Awaited by the caller later; until then a failure must not count as unhandled.
  ready.catch(() => undefined);
  return { ready, stop };
}

/** Starts the research sites (all four hospitals by default), waits for them, and with `study` enrols their consenting patients in it. */
export async function startResearchSites(o: ResearchSitesOptions): Promise<RunningResearchSites> {
  const launched = await launchResearchSites(o);
  const running = await launched.ready;
  try {
    if (o.study) await running.enroll(o.study);
    return running;
  } catch (err) {
    await running.stop();
    throw err;
  }
}

/**
 * The system's side (src/manager/system.ts): waits for the launched sites, enrols the consenting
 * share of their patients in the demo study, announces them in gatekeepers.json beside the demo
 * providers (so `medledger study run` finds them) and describes them for the manager's /api/config.
 */
export async function joinResearchSites(launched: LaunchedResearchSites, dataDir: string, demoStudyId: Hex | undefined): Promise<{ running: RunningResearchSites; providers: ManagerProvider[] }> {
  const running = await launched.ready;
  if (demoStudyId) await running.enroll(demoStudyId);
  announceGatekeepers(dataDir, new Map([...announcedGatekeepers(dataDir), ...running.sites.map((s) => [s.provider, s.url] as const)]));
  const providers = running.sites.map((s) => ({ name: heartSiteUser(s.hospital), label: s.name, address: s.provider, gatekeeperUrl: s.url }));
  return { running, providers };
}
