/**
 * Deploys the MedLedger contract, and the ModelRegistry and StudyRegistry beside it, once and records
 * the deployment in the data directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, LocalAccount, PublicClient } from 'viem';
import { writePrivateFile } from '../keys/users.js';
import type { Deployment } from './client.js';
import {
  medLedgerAbi,
  medLedgerBytecode,
  modelRegistryAbi,
  modelRegistryBytecode,
  studyRegistryAbi,
  studyRegistryBytecode,
} from './generated/contracts.js';
import { deployRaw } from './write.js';

/** What deployment.json holds: the deployment, minus the RPC URL, which can change between starts. */
export interface DeploymentRecord {
  chainId: number;
  contract: Address;
  deployBlock: string;
  governor: Address;
  /** The ModelRegistry reading this MedLedger's accreditation; absent in deployments made before it. */
  modelRegistry?: Address;
  /** The StudyRegistry of research studies (issue 16); absent in deployments made before it. */
  studyRegistry?: Address;
}

const recordFile = (dataDir: string) => join(dataDir, 'deployment.json');

export function readDeploymentRecord(dataDir: string): DeploymentRecord | undefined {
  const file = recordFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DeploymentRecord) : undefined;
}

export function writeDeploymentRecord(dataDir: string, record: DeploymentRecord): void {
  writePrivateFile(recordFile(dataDir), JSON.stringify(record, null, 2));
}

/**
 * Deploys MedLedger with `governor` as the accrediting authority, then the ModelRegistry that reads it
 * and the StudyRegistry (which stands alone).
 */
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
  const contract = receipt.contractAddress!;
  const registry = await deployRaw(
    publicClient,
    deployer,
    chainId,
    { abi: modelRegistryAbi, bytecode: modelRegistryBytecode, args: [contract] },
    pollingIntervalMs,
  );
  const studies = await deployRaw(
    publicClient,
    deployer,
    chainId,
    { abi: studyRegistryAbi, bytecode: studyRegistryBytecode, args: [] },
    pollingIntervalMs,
  );
  return {
    chainId,
    contract,
    deployBlock: receipt.blockNumber.toString(),
    governor,
    modelRegistry: registry.contractAddress!,
    studyRegistry: studies.contractAddress!,
  };
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
  return {
    rpcUrl,
    chainId: record.chainId,
    contract: record.contract,
    deployBlock: BigInt(record.deployBlock),
    ...(record.modelRegistry ? { modelRegistry: record.modelRegistry } : {}),
    ...(record.studyRegistry ? { studyRegistry: record.studyRegistry } : {}),
  };
}
