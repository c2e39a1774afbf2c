/**
 * The provider's own pointers for many patients at once, as one flush needs them (publisher.ts): one
 * log query for the PointerAdded events of all their relationships with this provider (the ids are
 * derived, relationshipIdFor), then each named pointer's hash from storage, all at one block. A
 * pointer removed since has no hash in storage and is left out. Far fewer calls than a Summary per
 * patient (src/sdk/summary.ts), which also reads every other provider's relationships and the grants.
 */
import { getAbiItem, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { medLedgerAbi } from '../../chain/generated/contracts.js';
import { relationshipIdFor } from '../../sdk/relationships.js';

const pointerAdded = getAbiItem({ abi: medLedgerAbi, name: 'PointerAdded' });
const ZERO = /^0x0{64}$/;

/** Per patient address (lower case), the live pointers of its relationship with the client's account. */
export async function ownPointers(ledger: LedgerClient, patients: readonly Address[]): Promise<Map<string, { query: string; dataHash: Hex }[]>> {
  const provider = ledger.account!.address;
  const byId = new Map(patients.map((p) => [relationshipIdFor(p, provider), p.toLowerCase()]));
  const result = new Map<string, { query: string; dataHash: Hex }[]>(patients.map((p) => [p.toLowerCase(), []]));
  if (byId.size === 0) return result;
  const pc = ledger.publicClient;
  // Not viem's cached number: the flush must see the blocks of the transactions it waited for.
  const blockNumber = await pc.getBlockNumber({ cacheTime: 0 });
  const logs = await pc.getLogs({ address: ledger.contract, event: pointerAdded, args: { relationshipId: [...byId.keys()] }, fromBlock: ledger.deployBlock, toBlock: blockNumber });
  const named = new Map<string, { id: bigint; queryHash: Hex; query: string }>();
  for (const log of logs) named.set(`${log.args.relationshipId}:${log.args.queryHash}`, { id: log.args.relationshipId!, queryHash: log.args.queryHash!, query: log.args.query! });
  await Promise.all(
    [...named.values()].map(async ({ id, queryHash, query }) => {
      const dataHash = await pc.readContract({ address: ledger.contract, abi: medLedgerAbi, functionName: 'pointerOf', args: [id, queryHash], blockNumber });
      if (!ZERO.test(dataHash)) result.get(byId.get(id)!)!.push({ query, dataHash });
    }),
  );
  return result;
}
