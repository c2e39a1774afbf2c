/**
 * Test fixture for gatekeepers: a chain, a provider running a gatekeeper over a fresh store (PGlite
 * in memory, or PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set), and signed clients.
 */
import type { LocalAccount } from 'viem';
import { startGatekeeper, type RunningGatekeeper } from '../../src/gatekeeper/run.js';
import { gatekeeperClient } from '../../src/sdk/gatekeeper.js';
import type { LedgerClient } from '../../src/chain/client.js';
import { testDatabase } from './db.js';

export async function startTestGatekeeper(ledger: LedgerClient): Promise<RunningGatekeeper> {
  return startGatekeeper({ ledger, database: await testDatabase() });
}

export function clientFor(gk: RunningGatekeeper, ledger: LedgerClient, account: LocalAccount) {
  return gatekeeperClient({ url: gk.url, gatekeeper: gk.chain.provider, chainId: ledger.chainId, account });
}
