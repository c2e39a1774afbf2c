/**
 * Test fixture: a fresh embedded chain in a temporary data directory, with funded accounts for a
 * governor, two accredited providers, patients, a third party and a stranger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient, type LedgerClient } from '../../src/chain/client.js';
import { startChain, type ChainRuntime } from '../../src/chain/runtime.js';
import { readConfig, type Config } from '../../src/config.js';
import { accreditProvider, attestPatient, registerPatient } from '../../src/sdk/registrar.js';
import { hashIdentity } from '../../src/sdk/identity.js';

export const PEPPER: Hex = '0x5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed';

export function tempDir(prefix = 'medledger-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config for a test: a temp data dir, a free port, and MEDLEDGER_* from the environment (external node mode). */
export function testConfig(dataDir = tempDir(), env: NodeJS.ProcessEnv = process.env): Config {
  return { ...readConfig({ ...env, MEDLEDGER_DATA_DIR: dataDir, MEDLEDGER_CHAIN_PORT: '0' }), dataDir };
}

export interface Fixture {
  runtime: ChainRuntime;
  config: Config;
  governor: LedgerClient;
  /** A client for `account` on this deployment. */
  as(account: LocalAccount): LedgerClient;
  /** A new funded account. */
  newAccount(): Promise<LocalAccount>;
  /** A new accredited provider. */
  newProvider(): Promise<LedgerClient>;
  /** A new registered patient (attested by `attester`). */
  newPatient(attester: LedgerClient, identity?: string): Promise<LedgerClient>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * Starts the chain for a test file. With MEDLEDGER_RPC_URL + MEDLEDGER_DEPLOYER_KEY set, it deploys
 * a fresh contract on that external node instead (the suite's external-node mode).
 */
export async function startFixture(env: NodeJS.ProcessEnv = process.env): Promise<Fixture> {
  const config = testConfig(tempDir(), env);
  return fixtureOn(await startChain(config), config);
}

/** A fixture on a chain that is already running (e.g. the one `startSystem` started). */
export function fixtureOn(runtime: ChainRuntime, config: Config): Fixture {
  const as = (account: LocalAccount) =>
    createLedgerClient(runtime.deployment, { account, pollingIntervalMs: config.pollingIntervalMs });
  const governor = as(runtime.governor!);
  const newAccount = async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    await runtime.fund(account.address);
    return account;
  };
  const fixture: Fixture = {
    runtime,
    config,
    governor,
    as,
    newAccount,
    async newProvider() {
      const account = await newAccount();
      await accreditProvider(governor, { provider: account.address, identityHash: hashIdentity(`provider|${account.address}`, PEPPER) });
      return as(account);
    },
    async newPatient(attester, identity = `urn:test:mrn|${Date.now()}-${counter++}`) {
      const patient = as(await newAccount());
      const identityHash = hashIdentity(identity, PEPPER);
      const attestation = await attestPatient(attester, { identityHash, patient: patient.account!.address });
      await registerPatient(patient, { identityHash, attester: attester.account!.address, attestation });
      return patient;
    },
    async close() {
      await runtime.stop();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
