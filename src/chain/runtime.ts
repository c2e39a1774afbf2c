/**
 * Brings the chain up for this data directory: the embedded anvil node (default) or an external
 * JSON-RPC node (MEDLEDGER_RPC_URL), with the contract deployed once and recorded in deployment.json.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicClient, http, parseEther, type Address, type LocalAccount, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Config } from '../config.js';
import { createUser, loadUsers, unlockUser, writePrivateFile } from '../keys/users.js';
import { startAnvil, type AnvilNode } from './anvil.js';
import type { Deployment } from './client.js';
import { assertDeployed, deployMedLedger, readDeploymentRecord, toDeployment, writeDeploymentRecord, type DeploymentRecord } from './deploy.js';
import { sendRaw } from './write.js';

export interface ChainRuntime {
  deployment: Deployment;
  record: DeploymentRecord;
  /** The embedded node, when this runtime started one. */
  node?: AnvilNode;
  /** The deployer/governor account, when its key is at hand. */
  governor?: LocalAccount;
  /** Gives `address` enough ether for transactions. */
  fund(address: Address): Promise<void>;
  stop(): Promise<void>;
}

/** scrypt cost of demo and test keystores: light so tests stay fast; real users get the standard. */
export const DEMO_SCRYPT_N = 1 << 14;

const nodeFile = (dataDir: string) => join(dataDir, 'node.json');
const stateFile = (dataDir: string) => join(dataDir, 'chain', 'state.json');

/** Creates the data directory, readable by its owner only. */
export function ensureDataDir(dataDir: string): void {
  mkdirSync(join(dataDir, 'chain'), { recursive: true, mode: 0o700 });
  // It holds keystores, passwords of demo users and health data: owner-only, also when it already existed.
  if (statSync(dataDir).mode & 0o077) chmodSync(dataDir, 0o700);
}

function publicClientFor(rpcUrl: string, pollingIntervalMs: number): PublicClient {
  return createPublicClient({ transport: http(rpcUrl), pollingInterval: pollingIntervalMs });
}

/** anvil dumps state once a second; wait for a dump that includes the deployment. */
async function waitForStateDump(file: string, sinceMs: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(file) && statSync(file).mtimeMs > sinceMs + 100) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the embedded node did not write its state file within 30 s');
}

function embeddedGovernor(config: Config): LocalAccount {
  if (loadUsers(config.dataDir).some((u) => u.name === 'governor')) return unlockUser(config.dataDir, 'governor');
  const password = randomBytes(9).toString('base64url');
  const user = createUser(config.dataDir, {
    name: 'governor',
    role: 'governor',
    label: 'Accreditation authority',
    password,
    demoPassword: password,
    scryptN: DEMO_SCRYPT_N,
  });
  return privateKeyToAccount(user.privateKey);
}

/** Starts (or connects to) the chain and makes sure the contract is deployed. */
export async function startChain(config: Config): Promise<ChainRuntime> {
  ensureDataDir(config.dataDir);
  let node: AnvilNode | undefined;
  let rpcUrl = config.rpcUrl;
  let governor: LocalAccount | undefined;
  if (!rpcUrl) {
    node = await startAnvil({ stateFile: stateFile(config.dataDir), port: config.chainPort, blockTime: config.blockTime });
    rpcUrl = node.rpcUrl;
    governor = embeddedGovernor(config);
  } else if (config.deployerKey) {
    governor = privateKeyToAccount(config.deployerKey);
  }
  const publicClient = publicClientFor(rpcUrl, config.pollingIntervalMs);
  try {
    const fund = async (address: Address) => {
      if (node) {
        await publicClient.request({ method: 'anvil_setBalance' as never, params: [address, `0x${parseEther('100').toString(16)}`] as never });
        return;
      }
      if (!governor || (await publicClient.getBalance({ address })) >= parseEther('0.1')) return;
      const chainId = await publicClient.getChainId();
      // A plain value transfer; networks with free gas (Besu QBFT, min gas price 0) need none of it.
      await sendRaw(publicClient, governor, chainId, { to: address, data: '0x', gas: 21_000n, value: parseEther('1') }, config.pollingIntervalMs).catch(() => undefined);
    };

    let record = readDeploymentRecord(config.dataDir);
    if (!record && config.contractAddress) {
      record = {
        chainId: await publicClient.getChainId(),
        contract: config.contractAddress,
        deployBlock: '0',
        governor: config.governor ?? governor?.address ?? '0x0000000000000000000000000000000000000000',
      };
      writeDeploymentRecord(config.dataDir, record);
    }
    if (!record) {
      if (!governor) throw new Error('no deployment yet: set MEDLEDGER_DEPLOYER_KEY (or MEDLEDGER_CONTRACT_ADDRESS)');
      await fund(governor.address);
      const started = Date.now();
      record = await deployMedLedger(publicClient, governor, config.governor ?? governor.address, config.pollingIntervalMs);
      if (node) await waitForStateDump(stateFile(config.dataDir), started);
      writeDeploymentRecord(config.dataDir, record);
    }
    await assertDeployed(publicClient, record);
    return {
      deployment: toDeployment(record, rpcUrl),
      record,
      node,
      governor,
      fund,
      stop: async () => {
        await node?.stop();
      },
    };
  } catch (err) {
    await node?.stop();
    throw err;
  }
}

/** Records the running node so other `medledger` commands reach it instead of starting their own. */
export function announceNode(dataDir: string, rpcUrl: string, nodePid?: number): void {
  writePrivateFile(nodeFile(dataDir), JSON.stringify({ rpcUrl, pid: process.pid, nodePid }));
}

export function withdrawNode(dataDir: string): void {
  rmSync(nodeFile(dataDir), { force: true });
}

/** The RPC URL of a `medledger start` running on this data directory, if its process is alive. */
export function runningNode(dataDir: string): string | undefined {
  if (!existsSync(nodeFile(dataDir))) return undefined;
  const { rpcUrl, pid } = JSON.parse(readFileSync(nodeFile(dataDir), 'utf8')) as { rpcUrl: string; pid: number };
  try {
    process.kill(pid, 0);
    return rpcUrl;
  } catch {
    return undefined;
  }
}

/**
 * Connects a command to the chain: the external node, or the running `medledger start`, or else an
 * embedded node started just for this command (stopped, with its state saved, by `stop`).
 */
export async function openChain(config: Config): Promise<ChainRuntime> {
  const live = config.rpcUrl ? undefined : runningNode(config.dataDir);
  if (!live) return startChain(config);
  return startChain({ ...config, rpcUrl: live, deployerKey: undefined }).then((rt) => ({
    ...rt,
    governor: loadUsers(config.dataDir).some((u) => u.name === 'governor') ? unlockUser(config.dataDir, 'governor') : undefined,
    fund: async (address: Address) => {
      const pc = publicClientFor(live, config.pollingIntervalMs);
      await pc.request({ method: 'anvil_setBalance' as never, params: [address, `0x${parseEther('100').toString(16)}`] as never });
    },
  }));
}
