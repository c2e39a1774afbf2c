/**
 * The demo providers' gatekeepers, each in a process of its own (issue 16 §8): `medledger start` runs
 * `medledger provider-site --provider <name>` (src/cli/provider-site.ts) per demo provider, waits for
 * the URL each prints, and from then on reaches them only over HTTP — as the EHR Manager, the public
 * health authority and a study's coordinator would in a real network.
 *
 * One thing comes back over the child's IPC channel, not HTTP: the reads its patients should hear of
 * (provider-site.ts ReadNotice), and its progress lines. In a deployment the gatekeeper would post
 * those to the patient's notification service; here the manager is the parent.
 *
 * The children die with us: `stop()` ends them, a watchdog (src/chain/lifeline.ts) ends them if we
 * are killed outright, and each stops itself when re-parented.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Address } from 'viem';
import { guardChildren } from '../chain/lifeline.js';
import type { DemoProvider } from '../demo/generate.js';
import { packageRoot } from '../package-root.js';
import { childReady, stopChild } from './child-sites.js';
import type { ReadNotice } from './provider-site.js';

/** The first start seeds each store (thousands of resources for the default 20 patients); later ones only open it. */
const READY_WITHIN_MS = 300_000;
export const PROVIDER_READY_LINE = /^provider (\S+) (0x[0-9a-fA-F]{40}) ready at (\S+)$/m;

/** What a provider-site child sends its parent over IPC. */
export type ProviderSiteMessage = { kind: 'read'; notice: ReadNotice } | { kind: 'log'; line: string };
/** What the parent tells its provider-site children: where the EHR Manager listens (its SMART authorize page), once it does. */
export type ManagerMessage = { kind: 'manager'; url: string };

export interface ProviderSiteInfo {
  name: DemoProvider;
  provider: Address;
  /** The gatekeeper's base URL (FHIR at /fhir/R4). */
  url: string;
  pid: number;
}

export interface LaunchProviderSitesOptions {
  dataDir: string;
  rpcUrl: string;
  providers: readonly DemoProvider[];
  patients: number;
  /** Ports to listen on: `firstPort + i` for the i-th provider (0 or absent = free ones). */
  firstPort?: number;
  corsOrigins?: readonly string[];
  pollingIntervalMs?: number;
  onRead: (notice: ReadNotice) => void;
  log?: (line: string) => void;
}

export interface RunningProviderSites {
  sites: ProviderSiteInfo[];
  /** Tells every provider where the EHR Manager listens (their SMART discovery points patients' apps at its authorize page). */
  announceManager(url: string): void;
  stop(): Promise<void>;
}

export async function launchProviderSites(o: LaunchProviderSitesOptions): Promise<RunningProviderSites> {
  const bin = join(packageRoot(), 'bin', 'medledger.js');
  if (!existsSync(join(packageRoot(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('the providers\' gatekeepers run the compiled CLI: run npm run build first');
  const env: NodeJS.ProcessEnv = { ...process.env, MEDLEDGER_DATA_DIR: o.dataDir, MEDLEDGER_RPC_URL: o.rpcUrl, ...(o.pollingIntervalMs ? { MEDLEDGER_POLLING_MS: String(o.pollingIntervalMs) } : {}) };
  // Each provider unlocks its own key with its stored demo password, never with whatever password this process was given.
  delete env.MEDLEDGER_PASSWORD;
  const cors = (o.corsOrigins ?? []).flatMap((origin) => ['--cors-origin', origin]);
  const children: ChildProcess[] = o.providers.map((provider, i) => {
    const port = o.firstPort ? String(o.firstPort + i) : '0';
    const child = spawn(process.execPath, [bin, 'provider-site', '--provider', provider, '--patients', String(o.patients), '--port', port, ...cors], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.on('message', (m: ProviderSiteMessage) => {
      if (m.kind === 'read') o.onRead(m.notice);
      else if (m.kind === 'log') o.log?.(m.line);
    });
    return child;
  });
  const lifeline = guardChildren(children.flatMap((c) => (c.pid ? [c.pid] : [])));
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    lifeline.release();
  };
  try {
    const sites = await Promise.all(
      children.map(async (child, i) => {
        const m = await childReady(child, `the gatekeeper of ${o.providers[i]}`, PROVIDER_READY_LINE, READY_WITHIN_MS);
        return { name: o.providers[i]!, provider: m[2] as Address, url: m[3]!, pid: child.pid! };
      }),
    );
    const announceManager = (url: string) => {
      for (const child of children) if (child.connected) child.send({ kind: 'manager', url } satisfies ManagerMessage);
    };
    return { sites, announceManager, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
