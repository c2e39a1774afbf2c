/**
 * Generates a MedLedger Besu QBFT network: a node key for each of the 4 validators and for each
 * provider's RPC node (and a deployer key unless one is given), written only into the directory you
 * name, which must lie outside this repository; then the genesis (validators in its extraData),
 * permissions_config.toml and one config-<node>.toml per node beside them.
 *
 *   node --import tsx deploy/besu/generate.ts --out ~/medledger-network \
 *     --validators 'Regional Health Authority@10.0.1.1,St Mary's Hospital Group@10.0.2.1,…' \
 *     --providers 'st-marys@10.0.2.10,city-lab@10.0.3.10' --governor 0x<multisig signer>
 *
 * `--example` rewrites the committed example files in deploy/besu/ from keys derived from public
 * strings (so anyone can derive them: examples only, never a network).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getAddress, keccak256, stringToHex, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { nodeIdentity, P2P_PORT, renderNetwork, type BesuNode, type NetworkPlan } from './network.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');

export const DEFAULT_CHAIN_ID = 48_215;
export const BLOCK_PERIOD_SECONDS = 2;
/** 30 M gas per 2 s block: 15 M gas/s, about 17 times the average need of a 10 M-patient region (docs/scale.md). */
export const GAS_LIMIT = 30_000_000n;

export interface Site {
  /** Validators: the organisation; providers: the provider's short name. */
  name: string;
  host: string;
  /** Provider RPC nodes: host names of its gatekeepers and EHR Manager. */
  clients?: string[];
}

export interface GenerateOptions {
  chainId?: number;
  /** Exactly 4: QBFT tolerates f faulty validators out of 3f + 1. */
  validators: Site[];
  /** One RPC node per provider organisation. */
  providers: Site[];
  /** Deploys the contract; generated when absent. */
  deployer?: Address;
  /** MEDLEDGER_GOVERNOR; defaults to the deployer. */
  governor?: Address;
  accounts?: Address[];
  timestamp?: number;
  /** Key for a node (or the deployer) by name; random by default. */
  keyFor?: (name: string) => Hex;
}

export interface GeneratedNetwork {
  plan: NetworkPlan;
  /** Private keys by node name (and `deployer` when generated). */
  keys: Record<string, Hex>;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Builds the plan and its keys; writes nothing. */
export function generateNetwork(options: GenerateOptions): GeneratedNetwork {
  if (options.validators.length !== 4) throw new Error(`a QBFT network here has 4 validators, got ${options.validators.length}`);
  if (options.providers.length === 0) throw new Error('give at least one provider organisation (its RPC node)');
  const keyFor = options.keyFor ?? (() => generatePrivateKey());
  const keys: Record<string, Hex> = {};
  const node = (site: Site, role: BesuNode['role'], name: string): BesuNode => {
    keys[name] = keyFor(name);
    return {
      name,
      role,
      organisation: site.name,
      host: site.host,
      p2pPort: P2P_PORT,
      ...nodeIdentity(keys[name]),
      ...(role === 'rpc' ? { rpcClients: site.clients ?? [`gatekeeper.${slug(site.name)}.internal`, `manager.${slug(site.name)}.internal`, 'localhost'] } : {}),
    };
  };
  const validators = options.validators.map((site, i) => node(site, 'validator', `validator-${i + 1}`));
  const rpcNodes = options.providers.map((site) => node(site, 'rpc', `rpc-${slug(site.name)}`));
  let deployer = options.deployer;
  if (!deployer) {
    keys.deployer = keyFor('deployer');
    deployer = privateKeyToAccount(keys.deployer).address;
  }
  return {
    keys,
    plan: {
      chainId: options.chainId ?? DEFAULT_CHAIN_ID,
      blockPeriodSeconds: BLOCK_PERIOD_SECONDS,
      gasLimit: GAS_LIMIT,
      validators,
      rpcNodes,
      deployer: getAddress(deployer),
      governor: getAddress(options.governor ?? deployer),
      accounts: (options.accounts ?? []).map((a) => getAddress(a)),
      timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    },
  };
}

/** The committed example: public-string keys, documentation IP ranges (RFC 5737), the demo's two providers. */
export function exampleNetwork(): GeneratedNetwork {
  const exampleKey = (name: string): Hex => keccak256(stringToHex(`medledger besu example key, public, never use: ${name}`));
  const exampleAddress = (name: string) => privateKeyToAccount(exampleKey(name)).address;
  return generateNetwork({
    validators: [
      { name: 'Regional Health Authority', host: '192.0.2.11' },
      { name: "St Mary's Hospital Group", host: '192.0.2.12' },
      { name: 'City Laboratory Services', host: '192.0.2.13' },
      { name: 'University Medical Centre', host: '192.0.2.14' },
    ],
    providers: [
      { name: 'st-marys', host: '198.51.100.21' },
      { name: 'city-lab', host: '198.51.100.22' },
    ],
    // A governor apart from the deployer (one signer of the governance multisig), and each provider's own account.
    governor: exampleAddress('governor-signer'),
    accounts: [exampleAddress('provider-st-marys'), exampleAddress('provider-city-lab')],
    timestamp: 1_767_225_600, // 2026-01-01
    keyFor: exampleKey,
  });
}

export const EXAMPLE_HEADER =
  '# EXAMPLE ONLY: generated by `node --import tsx deploy/besu/generate.ts --example` from keys anyone can\n' +
  '# derive from this repository. Generate your network with `generate.ts --out <dir>` (see README.md).\n';

/** The directory for keys, refused when it is inside this repository (keys are never committed). */
function outsideRepo(dir: string): string {
  const abs = resolve(dir);
  const rel = relative(REPO, abs);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) throw new Error(`${abs} is inside the repository: keys must never be committed; choose a directory outside it`);
  return abs;
}

/** Writes keys (owner-only) under `<dir>/keys/<node>/key` and the public files into `dir`. */
export function writeNetwork(dir: string, network: GeneratedNetwork, header = ''): string[] {
  const out = outsideRepo(dir);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [name, key] of Object.entries(network.keys)) {
    const keyDir = join(out, 'keys', name);
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    // Besu reads the node key file as 0x-prefixed hex.
    writeFileSync(join(keyDir, 'key'), key, { mode: 0o600 });
    chmodSync(join(keyDir, 'key'), 0o600);
    written.push(join('keys', name, 'key'));
  }
  for (const [file, text] of Object.entries(renderNetwork(network.plan, header))) {
    writeFileSync(join(out, file), text);
    written.push(file);
  }
  return written;
}

/** Rewrites the committed example files (public files only; the example keys are not written). */
export function writeExample(dir = HERE): string[] {
  const files = renderNetwork(exampleNetwork().plan, EXAMPLE_HEADER);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return Object.keys(files);
}

function parseSites(value: string | undefined, what: string): Site[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((entry) => {
    const [name, host] = entry.split('@');
    if (!name?.trim() || !host?.trim()) throw new Error(`${what}: expected name@ip, got "${entry}"`);
    return { name: name.trim(), host: host.trim() };
  });
}

function parseArgs(argv: string[]): Record<string, string[]> {
  const args: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (!flag.startsWith('--')) throw new Error(`unexpected argument ${flag}`);
    const value = flag === '--example' ? 'yes' : argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    (args[flag.slice(2)] ??= []).push(value);
  }
  return args;
}

function main(argv: string[]): void {
  const args = parseArgs(argv);
  if (args.example) {
    for (const f of writeExample()) console.log(`wrote deploy/besu/${f}`);
    return;
  }
  const out = args.out?.[0];
  if (!out) throw new Error('usage: generate.ts --out <dir outside the repository> [--validators org@ip,…×4] [--providers name@ip,…] [--deployer 0x…] [--governor 0x…] [--account 0x…]… [--chain-id n] | --example');
  const example = exampleNetwork().plan;
  const validators = parseSites(args.validators?.[0], '--validators') ?? example.validators.map((v) => ({ name: v.organisation, host: v.host }));
  const providers = parseSites(args.providers?.[0], '--providers') ?? example.rpcNodes.map((n) => ({ name: n.organisation, host: n.host }));
  const network = generateNetwork({
    chainId: args['chain-id'] ? Number(args['chain-id'][0]) : undefined,
    validators,
    providers,
    deployer: args.deployer?.[0] as Address | undefined,
    governor: args.governor?.[0] as Address | undefined,
    accounts: args.account as Address[] | undefined,
  });
  const written = writeNetwork(out, network);
  console.log(`wrote ${written.length} files to ${resolve(out)} (keys under keys/, owner-only):`);
  for (const f of written) console.log(`  ${f}`);
  for (const v of network.plan.validators) console.log(`validator ${v.name} ${v.address} (${v.organisation}, ${v.host})`);
  if (network.keys.deployer) console.log(`deployer ${network.plan.deployer}: MEDLEDGER_DEPLOYER_KEY=$(cat ${join(resolve(out), 'keys', 'deployer', 'key')})`);
  if (!args.validators || !args.providers) console.log('note: hosts not given are the example documentation addresses (192.0.2.x, 198.51.100.x): pass --validators and --providers');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`generate.ts: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
