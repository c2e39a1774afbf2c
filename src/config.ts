/**
 * Configuration, read once from the environment at start. Everything else receives a Config; no
 * module reads process.env on its own.
 */
import { resolve } from 'node:path';

export interface Config {
  /** Where keystores, chain state, deployment record and local caches live. */
  dataDir: string;
  /** External EVM JSON-RPC endpoint; when unset an embedded anvil node is started. */
  rpcUrl?: string;
  /** Private key that deploys (and governs) on an external node. Embedded mode generates one. */
  deployerKey?: `0x${string}`;
  /** Use an existing deployment instead of deploying. */
  contractAddress?: `0x${string}`;
  /** Governor (accredits providers); defaults to the deployer. */
  governor?: `0x${string}`;
  /** Port of the embedded node; 0 picks a free one. */
  chainPort: number;
  /** Block time of the embedded node in seconds; 0 = mine each transaction at once (automine). */
  blockTime: number;
  /** Receipt polling interval in ms. */
  pollingIntervalMs: number;
  /** PostgreSQL connection string for provider stores; unset = PGlite in the data directory. */
  databaseUrl?: string;
  /** Network-wide pepper for identity hashes (hex); generated into the data directory when unset. */
  identityPepper?: `0x${string}`;
  /** HTTP port of the EHR Manager (`medledger start`); 0 picks a free one. */
  port: number;
  /** HTTP port of the first demo provider's gatekeeper; the next provider gets the next port (0 = free ones). */
  gatekeeperPort: number;
}

function hex(name: string, value: string | undefined): `0x${string}` | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^0x[0-9a-fA-F]+$/.test(value)) throw new Error(`${name} must be 0x-prefixed hex`);
  return value as `0x${string}`;
}

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

/** Reads the configuration from `env` (defaults to process.env). */
export function readConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const rpcUrl = env.MEDLEDGER_RPC_URL || undefined;
  return {
    dataDir: resolve(cwd, env.MEDLEDGER_DATA_DIR || '.medledger'),
    rpcUrl,
    deployerKey: hex('MEDLEDGER_DEPLOYER_KEY', env.MEDLEDGER_DEPLOYER_KEY),
    contractAddress: hex('MEDLEDGER_CONTRACT_ADDRESS', env.MEDLEDGER_CONTRACT_ADDRESS),
    governor: hex('MEDLEDGER_GOVERNOR', env.MEDLEDGER_GOVERNOR),
    chainPort: int('MEDLEDGER_CHAIN_PORT', env.MEDLEDGER_CHAIN_PORT, 8545),
    blockTime: int('MEDLEDGER_BLOCK_TIME', env.MEDLEDGER_BLOCK_TIME, 0),
    pollingIntervalMs: int('MEDLEDGER_POLLING_MS', env.MEDLEDGER_POLLING_MS, rpcUrl ? 250 : 20),
    databaseUrl: env.DATABASE_URL || undefined,
    identityPepper: hex('MEDLEDGER_IDENTITY_PEPPER', env.MEDLEDGER_IDENTITY_PEPPER),
    port: int('MEDLEDGER_PORT', env.MEDLEDGER_PORT, 8080),
    gatekeeperPort: int('MEDLEDGER_GATEKEEPER_PORT', env.MEDLEDGER_GATEKEEPER_PORT, 8081),
  };
}
