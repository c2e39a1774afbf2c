/**
 * The seed's whole consent flow on the embedded node, through the SDK, then a privacy scan of every
 * transaction and event it produced.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeEventLog, decodeFunctionData, type Hex } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { parsePointerQuery } from '../src/protocol/pointer-query.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { PHI, seedFlow } from './helpers/flow.js';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.close());

test('the seed flow, from a new record to restore-from-chain', () => seedFlow(f));

test('no medical data, names or identifiers in any transaction or event of the flow', async () => {
  const pc = f.governor.publicClient;
  const latest = await pc.getBlockNumber();
  let txs = 0;
  let strings = 0;
  const scan = (hex: Hex, where: string) => {
    const text = Buffer.from(hex.slice(2), 'hex').toString('latin1');
    for (const word of PHI) assert.ok(!text.includes(word), `${where} contains "${word}"`);
  };
  const checkStrings = (args: unknown, where: string) => {
    for (const value of Object.values(args ?? {})) {
      if (typeof value === 'string' && !value.startsWith('0x')) {
        strings++;
        assert.doesNotThrow(() => parsePointerQuery(value), `${where}: "${value}" is not an on-chain-safe query`);
      }
    }
  };
  for (let n = f.runtime.deployment.deployBlock + 1n; n <= latest; n++) {
    const block = await pc.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.to?.toLowerCase() !== f.runtime.deployment.contract.toLowerCase()) continue;
      txs++;
      scan(tx.input, `tx ${tx.hash}`);
      const call = decodeFunctionData({ abi: medLedgerAbi, data: tx.input });
      checkStrings(call.args, `${call.functionName} calldata`);
      const receipt = await pc.getTransactionReceipt({ hash: tx.hash });
      for (const log of receipt.logs) {
        scan(log.data, `log of ${tx.hash}`);
        for (const topic of log.topics) scan(topic, `topic of ${tx.hash}`);
        const event = decodeEventLog({ abi: medLedgerAbi, data: log.data, topics: log.topics });
        checkStrings(event.args, event.eventName);
      }
    }
  }
  assert.ok(txs >= 10, `scanned ${txs} transactions`);
  assert.ok(strings >= 4, `checked ${strings} strings`);
});
