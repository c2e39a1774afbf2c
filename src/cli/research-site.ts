/**
 * `medledger research-site --hospital <h>` (hidden from --help: for demos, the bench and tests): one
 * UCI heart-disease hospital's gatekeeper in a process of its own (issue 16 §8), so a study's
 * coordinator reaches each site only over HTTP. Started by src/manager/research-sites.ts, which
 * first creates and accredits the site's provider key (src/demo/heart-sites.ts researchSitesDir).
 *
 * It joins the chain of the running system (MEDLEDGER_RPC_URL, or the `medledger start` of this data
 * directory; it never starts one of its own), seeds its PGlite store once with the hospital's rows as
 * FHIR, prints `research site <hospital> <provider> ready at <url>` on one line when it listens, and
 * closes cleanly on SIGTERM/SIGINT or when the process that started it dies.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { createLedgerClient } from '../chain/client.js';
import { HEART_SITE_SEED, heartSiteUser, isHeartHospital, researchSitesDir, seedHeartSite } from '../demo/heart-sites.js';
import { unlockUser } from '../keys/users.js';
import { createHeartResearchSite } from '../ml/research/site.js';
import { loadPepper } from '../sdk/identity.js';
import { parsePort } from './parse.js';
import { joinRunningChain, untilStopped } from './site-process.js';

interface ResearchSiteOptions {
  hospital: string;
  port: string;
  seed: string;
  corsOrigin: string[];
}

export function addResearchSiteCommand(program: Command, config: () => Config, password: () => string | undefined): void {
  program
    .command('research-site', { hidden: true })
    .description("run one UCI heart-disease hospital's gatekeeper as a research site until stopped (demos, bench, tests)")
    .requiredOption('--hospital <hospital>', 'cleveland, hungarian, switzerland or va')
    .option('--port <port>', 'HTTP port (0 = a free one)', '0')
    .option('--seed <seed>', "the stand-in patients' key seed (src/demo/heart-sites.ts)", HEART_SITE_SEED)
    .option('--cors-origin <origin>', 'a browser origin allowed to call (repeatable; default any)', (v: string, all: string[]) => [...all, v], [])
    .action((opts: ResearchSiteOptions) => runResearchSite(config(), opts, password()));
}

async function runResearchSite(cfg: Config, opts: ResearchSiteOptions, password: string | undefined): Promise<void> {
  const { hospital } = opts;
  if (!isHeartHospital(hospital)) throw new Error(`--hospital must be cleveland, hungarian, switzerland or va, not ${hospital}`);
  const port = parsePort(opts.port, '--port');
  const runtime = await joinRunningChain(cfg);
  const sitesDir = researchSitesDir(cfg.dataDir);
  const ledger = createLedgerClient(runtime.deployment, { account: unlockUser(sitesDir, heartSiteUser(hospital), password), pollingIntervalMs: cfg.pollingIntervalMs });
  const storeDir = join(sitesDir, hospital, 'pgdata');
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  const { startGatekeeper } = await import('../gatekeeper/index.js'); // loaded only by this command
  const gk = await startGatekeeper({
    ledger,
    database: { dataDir: storeDir },
    port,
    anchorIntervalMs: 30_000,
    corsOrigins: opts.corsOrigin.length ? opts.corsOrigin : ['*'],
    pepper: loadPepper(cfg.dataDir, cfg.identityPepper),
    research: createHeartResearchSite(),
  });
  try {
    const seeded = await seedHeartSite(gk.store, opts.seed, hospital);
    if (seeded.stored) console.error(`${hospital}: seeded ${seeded.stored} resources`);
  } catch (err) {
    await gk.close();
    throw err;
  }
  console.log(`research site ${hospital} ${ledger.account!.address} ready at ${gk.url}`);
  await untilStopped();
  await gk.close();
}
