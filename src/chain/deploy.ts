/**
 * Deploys the MedLedger contract once and records the deployment in the data directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, LocalAccount, PublicClient } from 'viem';
import { writePrivateFile } from '../keys/users.js';
import type { Deployment } from './client.js';
import { medLedgerAbi, medLedgerBytecode } from './generated/contracts.js';
import { deployRaw } from './write.js';

/** What deployment.json holds: the deployment, minus the RPC URL, which can change between starts. */
export interface DeploymentRecord {
  chainId: number;
  contract: Address;
  deployBlock: string;
  governor: Address;
}

const recordFile = (dataDir: string) => join(dataDir, 'deployment.json');

export function readDeploymentRecord(dataDir: string): DeploymentRecord | undefined {
  const file = recordFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DeploymentRecord) : undefined;
}

export function writeDeploymentRecord(dataDir: string, record: DeploymentRecord): void {
  writePrivateFile(recordFile(dataDir), JSON.stringify(record, null, 2));
}

/** Deploys MedLedger with `governor` as the accrediting authority. */
export async function deployMedLedger(
  publicClient: PublicClient,
  deployer: LocalAccount,
  governor: Address,
  pollingIntervalMs: number,
): Promise<DeploymentRecord> {
  const chainId = await publicClient.getChainId();
  const receipt = await deployRaw(
    publicClient,
    deployer,
    chainId,
    { abi: medLedgerAbi, bytecode: medLedgerBytecode, args: [governor] },
    pollingIntervalMs,
  );
  return { chainId, contract: receipt.contractAddress!, deployBlock: receipt.blockNumber.toString(), governor };
}

/** Throws unless `record` points at deployed code on the connected chain. */
export async function assertDeployed(publicClient: PublicClient, record: DeploymentRecord): Promise<void> {
  const chainId = await publicClient.getChainId();
  if (chainId !== record.chainId) {
    throw new Error(`the node is chain ${chainId} but the data directory was deployed on chain ${record.chainId}`);
  }
  const code = await publicClient.getCode({ address: record.contract });
  if (!code || code === '0x') {
    throw new Error(
      `no contract at ${record.contract}: the chain lost its state (run \`medledger reset\` to start over)`,
    );
  }
}

export function toDeployment(record: DeploymentRecord, rpcUrl: string): Deployment {
  return { rpcUrl, chainId: record.chainId, contract: record.contract, deployBlock: BigInt(record.deployBlock) };
}
