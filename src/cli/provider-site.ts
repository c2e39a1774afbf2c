/**
 * `medledger provider-site --provider <name>` (hidden from --help: `medledger start` runs it): one demo
 * provider's gatekeeper in a process of its own (issue 16 §8; src/manager/provider-sites.ts starts it).
 *
 * It joins the chain of the running system (MEDLEDGER_RPC_URL, or the `medledger start` of this data
 * directory; it never starts one of its own), seeds its store once and links its demo patients
 * (src/manager/provider-site.ts), prints `provider <name> <address> ready at <url>` on one line when
 * it listens, and closes cleanly on SIGTERM/SIGINT or when the process that started it dies. Reads its
 * patients should hear of go to the parent over the IPC channel, when there is one.
 */
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { DEMO_PROVIDERS, type DemoProvider } from '../demo/generate.js';
import { loadPepper } from '../sdk/identity.js';
import { parsePort } from './parse.js';
import { joinRunningChain, untilStopped } from './site-process.js';

interface ProviderSiteOptions {
  provider: string;
  patients: string;
  port: string;
  corsOrigin: string[];
}

export function addProviderSiteCommand(program: Command, config: () => Config, password: () => string | undefined): void {
  program
    .command('provider-site', { hidden: true })
    .description("run one demo provider's gatekeeper until stopped (medledger start runs one per provider)")
    .requiredOption('--provider <name>', DEMO_PROVIDERS.join(' or '))
    .option('--patients <n>', 'demo patients to seed the store with, once (0 = none)', '0')
    .option('--port <port>', 'HTTP port (0 = a free one)', '0')
    .option('--cors-origin <origin>', 'a browser origin allowed to call (repeatable; default any)', (v: string, all: string[]) => [...all, v], [])
    .action((opts: ProviderSiteOptions) => runProviderSite(config(), opts, password()));
}

type Message = import('../manager/provider-sites.js').ProviderSiteMessage;
type ManagerMessage = import('../manager/provider-sites.js').ManagerMessage;
type SmartOptions = import('../gatekeeper/index.js').SmartOptions;

async function runProviderSite(cfg: Config, opts: ProviderSiteOptions, password: string | undefined): Promise<void> {
  const provider = opts.provider as DemoProvider;
  if (!DEMO_PROVIDERS.includes(provider)) throw new Error(`--provider must be ${DEMO_PROVIDERS.join(' or ')}, not ${opts.provider}`);
  const patients = Number(opts.patients);
  if (!Number.isInteger(patients) || patients < 0) throw new Error('--patients must be a whole number');
  const port = parsePort(opts.port, '--port');
  const runtime = await joinRunningChain(cfg);
  const send = (m: Message) => (process.send ? process.send(m) : m.kind === 'log' && console.error(m.line));
  const { startProviderSite } = await import('../manager/provider-site.js'); // loaded only by this command
  // The EHR Manager's authorize page, once the parent says where the manager listens.
  const smart: SmartOptions = {};
  process.on('message', (m: ManagerMessage) => {
    if (m?.kind === 'manager') smart.authorizeUrl = `${m.url}/smart/authorize`;
  });
  const gk = await startProviderSite({
    runtime,
    dataDir: cfg.dataDir,
    pepper: loadPepper(cfg.dataDir, cfg.identityPepper),
    provider,
    patients,
    port,
    corsOrigins: opts.corsOrigin,
    pollingIntervalMs: cfg.pollingIntervalMs,
    password,
    onRead: (notice) => send({ kind: 'read', notice }),
    log: (line) => send({ kind: 'log', line }),
    smart,
  });
  console.log(`provider ${provider} ${gk.ledger.account!.address} ready at ${gk.url}`);
  await untilStopped();
  await gk.close();
  // The IPC channel would keep this process alive.
  process.disconnect?.();
}
