/**
 * Chain time for tests: read it, and move it forward on the embedded dev node (anvil's
 * evm_increaseTime + evm_mine). On a shared external node moving time would expire other files'
 * grants, so tests that travel are skipped there.
 */
import type { LedgerClient } from '../../src/chain/client.js';

export const travelSkip = process.env.MEDLEDGER_RPC_URL ? 'external node: moving chain time would disturb the other test files' : false;

/** The latest block's timestamp (unix seconds). */
export async function chainNow(client: LedgerClient): Promise<number> {
  return Number((await client.publicClient.getBlock({ blockTag: 'latest' })).timestamp);
}

/** Moves chain time forward by `seconds` and mines a block at the new time. */
export async function travel(client: LedgerClient, seconds: number): Promise<void> {
  const pc = client.publicClient;
  await pc.request({ method: 'evm_increaseTime' as never, params: [seconds] as never });
  await pc.request({ method: 'evm_mine' as never, params: [] as never });
}
