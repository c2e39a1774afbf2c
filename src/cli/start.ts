/**
 * `medledger start`: the chain (and, unless --chain-only, the whole system) until Ctrl-C. With
 * --demo (what `npm start` runs) it creates the demo users, prints their passwords here — the only
 * place a password is ever shown — and lets the EHR Manager serve demo patients' keystores to this
 * machine. Whatever it started dies with it: on SIGINT/SIGTERM/SIGHUP, when its parent dies, and
 * (through the chain node's watchdog, src/chain/lifeline.ts) when it is killed outright.
 */
import { join } from 'node:path';
import type { Config } from '../config.js';
import { announceNode, runningNode, startChain, withdrawNode, type ChainRuntime } from '../chain/runtime.js';
import { demoPasswordOf, isDemoDataDir, loadUsers, markDemoDataDir } from '../keys/users.js';
import { assertDemoBind } from '../manager/demo-mode.js';
import { startSystem } from '../manager/system.js';
import { loadPepper } from '../sdk/identity.js';
import { ensureDemoUsers } from '../demo/users.js';
import { watchParent } from '../chain/lifeline.js';

export interface StartOptions {
  chainOnly?: boolean;
  patients: string;
  demo?: boolean;
  host: string;
  /** False with --no-research-sites. */
  researchSites?: boolean;
}

export async function runStart(cfg: Config, opts: StartOptions): Promise<void> {
  if (runningNode(cfg.dataDir)) throw new Error(`medledger is already running on ${cfg.dataDir}`);
  const patients = Number(opts.patients);
  if (!Number.isInteger(patients) || patients < 0 || patients > 10_000) throw new Error('--patients must be an integer from 0 to 10000');
  if (opts.demo) {
    assertDemoBind(opts.host);
    // Explicit demo mode makes this a demo data directory (also one from before demo.json existed).
    markDemoDataDir(cfg.dataDir);
  }
  const log = (l: string) => console.log(`  ${l}`);
  const { runtime, stop, url, gatekeepers } = opts.chainOnly ? await startChainOnly(cfg, !!opts.demo, log) : await startWhole(cfg, opts, patients, log);
  const nodeDied = (code: number | null, signal: NodeJS.Signals | null) => {
    // The node died under us (crash, kill -9): say so and exit; the next start resumes from its state file.
    withdrawNode(cfg.dataDir);
    console.error(`medledger: the chain node exited (${signal ?? `code ${code}`}); run \`medledger start\` again`);
    process.exit(1);
  };
  runtime.node?.process.once('exit', nodeDied);
  printBanner(cfg, runtime, gatekeepers, url);
  const why = await new Promise<string>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve(signal));
    watchParent(() => resolve('parent gone'));
  });
  console.log(`stopping… (${why})`);
  runtime.node?.process.off('exit', nodeDied);
  await stop();
}

type Started = { runtime: ChainRuntime; stop: () => Promise<void>; url?: string; gatekeepers: string[] };

async function startChainOnly(cfg: Config, demo: boolean, log: (l: string) => void): Promise<Started> {
  const runtime = await startChain(cfg);
  const stop = async () => {
    withdrawNode(cfg.dataDir);
    await runtime.stop();
  };
  try {
    announceNode(cfg.dataDir, runtime.deployment.rpcUrl, runtime.node?.process.pid);
    if (demo) await ensureDemoUsers(runtime, cfg.dataDir, loadPepper(cfg.dataDir, cfg.identityPepper), log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { runtime, stop, gatekeepers: [] };
}

async function startWhole(cfg: Config, opts: StartOptions, patients: number, log: (l: string) => void): Promise<Started> {
  const system = await startSystem(cfg, { patients, log, demo: opts.demo, host: opts.host, researchSites: opts.researchSites });
  const gatekeepers = system.providers.map((p) => `${p.name.padEnd(10)} ${p.url}/fhir/R4  (process ${p.pid})`);
  for (const s of system.researchSites?.sites ?? []) gatekeepers.push(`${`uci-${s.hospital}`.padEnd(10)} ${s.url}/fhir/R4  (research site: ${s.name})`);
  return { runtime: system.runtime, stop: system.stop, url: system.url, gatekeepers };
}

/** What is running, and the demo users' passwords: printed here, never sent over HTTP. */
function printBanner(cfg: Config, runtime: ChainRuntime, gatekeepers: string[], url: string | undefined): void {
  const users = loadUsers(cfg.dataDir);
  console.log(`\nMedLedger is running (data directory ${cfg.dataDir})`);
  console.log(`  chain       ${runtime.deployment.rpcUrl}  (chain id ${runtime.deployment.chainId}${runtime.node ? ', embedded anvil' : ''})`);
  console.log(`  MedLedger   ${runtime.deployment.contract}  (deployed in block ${runtime.deployment.deployBlock})`);
  for (const g of gatekeepers) console.log(`  gatekeeper  ${g}`);
  if (users.length) {
    console.log(isDemoDataDir(cfg.dataDir) ? '  demo users:' : '  users:');
    for (const u of users) console.log(`    ${u.name.padEnd(10)} ${u.role.padEnd(12)} ${u.address}  password ${demoPasswordOf(cfg.dataDir, u) ?? '(not stored)'}`);
    if (isDemoDataDir(cfg.dataDir)) console.log(`  (demo passwords: kept in this demo data directory, shown only here; keystore files: ${join(cfg.dataDir, 'keys')}/<address>.json)`);
  }
  if (url) console.log(`\n  EHR Manager: ${url}   (open it in a browser; a demo patient picks their name and types the password above, a provider loads its keystore file)`);
  console.log('\nTry: medledger --as alice patient list     Stop with Ctrl-C.');
}
