/**
 * Ethereum client sync speed: 10,000 events (updatePointer emits two) produced quickly by turning
 * automine off and mining many transactions per block, then one fresh client syncs them all. The
 * reference beside it is the rate of only fetching and decoding the same logs (no local database).
 */
import { encodeFunctionData, parseEventLogs, type Hex } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { createWatcher } from '../src/client/watcher.js';
import { openDb } from '../src/records/db.js';
import { addRelationship, hashQuery } from '../src/sdk/index.js';
import { startFixture, tempDir } from './harness/chain.js';

export interface SyncBench {
  events: number;
  eventsPerSec: number;
  decodeOnlyEventsPerSec: number;
}

export async function benchSync(events = 10_000, log: (line: string) => void = console.log): Promise<SyncBench> {
  const f = await startFixture();
  try {
    const provider = await f.newProvider();
    const patient = await f.newPatient(provider);
    const me = patient.account!.address;
    const query = 'Observation?category=laboratory';
    const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
    const { relationshipId } = await addRelationship(provider, { patient: me, query, dataHash: hash(1) });
    const pc = provider.publicClient;
    const account = provider.account!;
    await pc.request({ method: 'evm_setAutomine' as never, params: [false] as never });
    let nonce = await pc.getTransactionCount({ address: account.address, blockTag: 'pending' });
    const txs = Math.ceil(events / 2);
    log(`  producing ${txs} transactions (${txs * 2} events)…`);
    for (let i = 0; i < txs; i++) {
      const data = encodeFunctionData({ abi: medLedgerAbi, functionName: 'updatePointer', args: [relationshipId, hashQuery(query), hash(i + 2)] });
      const serializedTransaction = await account.signTransaction({ to: provider.contract, data, gas: 100_000n, maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1n, nonce: nonce++, chainId: provider.chainId, type: 'eip1559' });
      await pc.sendRawTransaction({ serializedTransaction });
      if (i % 250 === 249 || i === txs - 1) await pc.request({ method: 'evm_mine' as never, params: [] as never });
    }
    await pc.request({ method: 'evm_setAutomine' as never, params: [true] as never });

    let t = performance.now();
    const logs = await pc.getLogs({ address: provider.contract, fromBlock: provider.deployBlock, toBlock: 'latest' });
    const decoded = parseEventLogs({ abi: medLedgerAbi, logs }).length;
    const decodeOnlyEventsPerSec = decoded / ((performance.now() - t) / 1000);

    const db = await openDb({ dataDir: tempDir('medledger-bench-sync-') });
    const watcher = createWatcher({ ledger: patient, db, user: me });
    await watcher.init();
    t = performance.now();
    const result = await watcher.sync();
    const seconds = (performance.now() - t) / 1000;
    await db.close();
    log(`  synced ${result.events} events in ${seconds.toFixed(1)} s (${(result.events / seconds).toFixed(0)}/s; fetch+decode only ${decodeOnlyEventsPerSec.toFixed(0)}/s)`);
    return { events: result.events, eventsPerSec: Math.round(result.events / seconds), decodeOnlyEventsPerSec: Math.round(decodeOnlyEventsPerSec) };
  } finally {
    await f.close();
  }
}
