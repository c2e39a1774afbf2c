/**
 * One demo provider's gatekeeper (st-marys, city-lab) with everything the demo gives it: its key, its
 * PGlite store seeded from the FHIR generator, surveillance reporting, its research-site computation,
 * and its demo patients linked to their Registrar addresses with pointers published.
 *
 * `medledger start` runs each in a process of its own (`medledger provider-site`, provider-sites.ts;
 * issue 16 §8); tests that read a store directly run them inside the system's process. Either way the
 * gatekeeper tells the caller of every read a patient should hear of (`onRead`), which the EHR
 * Manager turns into the patient's notification.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { createLedgerClient } from '../chain/client.js';
import type { ChainRuntime } from '../chain/runtime.js';
import { DEMO_MRN_SYSTEM, generatePatients, resourcesOf, type DemoProvider } from '../demo/generate.js';
import { seedStore } from '../demo/seed.js';
import { surveillanceConsents } from '../demo/surveillance.js';
import { modelWorkups } from '../demo/workups.js';
import { addressOfPatient, linkPatient, startGatekeeper, type Decision, type RunningGatekeeper, type SmartOptions } from '../gatekeeper/index.js';
import { loadUsers, unlockUser, type UserRecord } from '../keys/users.js';
import { createHeartResearchSite } from '../ml/research/site.js';
import { surveillanceReporting } from './outbreak-source.js';

/** Fixed so every data directory gets the same demo patients. */
export const DEMO_SEED = 'medledger-demo-1';

/** A read of a patient's records by someone other than them and their provider: what the patient is told. */
export interface ReadNotice {
  patient: Address;
  payload: { viewer: Address; provider: Address; request: string; emergency?: true };
}

export interface ProviderSiteOptions {
  runtime: ChainRuntime;
  dataDir: string;
  pepper: Hex;
  provider: DemoProvider;
  /** Demo patients to seed the store with (0 = none; the store is seeded once). */
  patients: number;
  port?: number;
  corsOrigins?: readonly string[];
  pollingIntervalMs?: number;
  /** The provider's keystore password (default: its stored demo password). */
  password?: string;
  onRead?: (notice: ReadNotice) => void;
  log?: (line: string) => void;
  /** SMART App Launch: where the EHR Manager's authorize page is (set once the manager listens; read on each discovery request). */
  smart?: SmartOptions;
}

export async function startProviderSite(o: ProviderSiteOptions): Promise<RunningGatekeeper> {
  const log = o.log ?? (() => undefined);
  const users = loadUsers(o.dataDir);
  const ledger = createLedgerClient(o.runtime.deployment, { account: unlockUser(o.dataDir, o.provider, o.password), pollingIntervalMs: o.pollingIntervalMs });
  const storeDir = join(o.dataDir, 'providers', o.provider, 'pgdata');
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  const gk: RunningGatekeeper = await startGatekeeper({
    ledger,
    database: { dataDir: storeDir },
    port: o.port ?? 0,
    anchorIntervalMs: 30_000,
    corsOrigins: o.corsOrigins?.length ? o.corsOrigins : ['*'],
    pepper: o.pepper,
    onDecision: (d) => void readNotice(gk, d).then((n) => n && o.onRead?.(n), () => undefined),
    surveillance: surveillanceReporting(users),
    research: createHeartResearchSite(),
    smart: o.smart,
  });
  try {
    if (o.patients) {
      const generated = generatePatients({ seed: DEMO_SEED, count: o.patients, now: demoNow(o.dataDir) });
      const resources = [...resourcesOf(generated, o.provider), ...surveillanceConsents(generated, o.provider, DEMO_SEED), ...modelWorkups(generated, o.provider, DEMO_SEED)];
      const r = await seedStore(gk.store, resources, (done, total) => log(`seeding ${o.provider}: ${done}/${total} resources`));
      if (r.stored) log(`seeded ${o.provider}: ${r.stored} resources of ${generated.length} patients`);
    }
    await linkDemoPatients(gk, users, o.pepper, log, o.provider);
    return gk;
  } catch (err) {
    await gk.close();
    throw err;
  }
}

/** What the patient is told of a permitted read, when it is someone else's (not theirs, not their provider's, not a login). */
async function readNotice(gk: RunningGatekeeper, d: Decision): Promise<ReadNotice | undefined> {
  if (!d.permitted || !d.patientId || d.interaction === 'login' || d.requester.toLowerCase() === d.gatekeeper.toLowerCase()) return undefined;
  const patient = addressOfPatient((await gk.store.read('Patient', d.patientId)) as Patient);
  if (!patient || patient.toLowerCase() === d.requester.toLowerCase()) return undefined;
  // A break-glass read is not through a grant; say so, so the patient tells it apart at a glance.
  const emergency = d.breakGlass === undefined ? {} : { emergency: true as const };
  return { patient, payload: { viewer: d.requester, provider: d.gatekeeper, request: `${d.method} ${d.path}`, ...emergency } };
}

/** The demo's "today", fixed at the first start so the generated history does not move. */
export function demoNow(dataDir: string): string {
  const file = join(dataDir, 'demo-now.txt');
  if (!existsSync(file)) writeFileSync(file, new Date().toISOString());
  return readFileSync(file, 'utf8').trim();
}

/**
 * Links the demo patients' local records to their Registrar addresses and publishes pointers to them,
 * through the gatekeeper's publisher (issue 19): it knows these hashes are pending and sends the
 * patients' pointers together rather than one transaction after another.
 */
async function linkDemoPatients(gk: RunningGatekeeper, users: UserRecord[], pepper: Hex, log: (line: string) => void, provider: string) {
  const linked: { name: string; id: string }[] = [];
  for (const user of users.filter((u) => u.role === 'patient' && u.identity?.startsWith(`${DEMO_MRN_SYSTEM}|`))) {
    const local = await gk.store.findPatientByIdentifier(DEMO_MRN_SYSTEM, user.identity!.split('|')[1]!);
    if (!local?.id) continue;
    if (!addressOfPatient(local)) await linkPatient(gk.store, gk.ledger, local.id, user.identity!, pepper);
    linked.push({ name: user.name, id: local.id });
  }
  const published = await Promise.all(linked.map(({ id }) => gk.publisher.sync(id, { chainQueries: false })));
  linked.forEach(({ name }, i) => published[i]!.length && log(`${provider}: published ${published[i]!.length} pointers to ${name}'s records`));
}
