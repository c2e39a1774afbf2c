/**
 * The flow through the MEDLEDGER_RPC_URL path: a separately started anvil with a 1 s block time (no
 * instant mining), reached only through JSON-RPC; the contract is deployed with MEDLEDGER_DEPLOYER_KEY.
 */
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startAnvil, type AnvilNode } from '../src/chain/anvil.js';
import { startFixture, tempDir, type Fixture } from './helpers/chain.js';
import { seedFlow } from './helpers/flow.js';

let node: AnvilNode;
let f: Fixture;

before(async () => {
  node = await startAnvil({ stateFile: `${tempDir('medledger-ext-')}/state.json`, blockTime: 1 });
  const deployerKey = generatePrivateKey();
  await fetch(node.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_setBalance', params: [privateKeyToAccount(deployerKey).address, `0x${parseEther('1000').toString(16)}`] }),
  });
  f = await startFixture({ MEDLEDGER_RPC_URL: node.rpcUrl, MEDLEDGER_DEPLOYER_KEY: deployerKey });
});
after(async () => {
  await f?.close();
  await node?.stop();
});

test('the seed flow on an external node with 1 s blocks', { timeout: 180_000 }, async (t) => {
  if (f.runtime.node) throw new Error('expected the external-node path, got an embedded node');
  await seedFlow(f);
  t.diagnostic(`external node ${node.rpcUrl}, deployment ${f.runtime.deployment.contract}`);
});
