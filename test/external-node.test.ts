/**
 * The flow through the MEDLEDGER_RPC_URL path: a separately started anvil with a 1 s block time (no
 * instant mining), reached only through JSON-RPC; the contract is deployed with MEDLEDGER_DEPLOYER_KEY.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPublicClient, http, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startAnvil, type AnvilNode } from '../src/chain/anvil.js';
import { feesFor, sendRaw, waitForReceipt } from '../src/chain/write.js';
import { startFixture, tempDir, type Fixture } from '../bench/harness/chain.js';
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

test('a free-gas network (base fee 0, as Besu with zeroBaseFee): an account holding no ether still sends', { timeout: 60_000 }, async () => {
  const free = await startAnvil({ stateFile: `${tempDir('medledger-free-')}/state.json`, baseFee: 0 });
  try {
    const publicClient = createPublicClient({ transport: http(free.rpcUrl) });
    const account = privateKeyToAccount(generatePrivateKey());
    assert.equal(await publicClient.getBalance({ address: account.address }), 0n);
    const chainId = await publicClient.getChainId();
    const receipt = await sendRaw(publicClient, account, chainId, { to: privateKeyToAccount(generatePrivateKey()).address, data: '0x', gas: 21_000n }, 100);
    assert.equal(receipt.status, 'success');
    assert.equal(receipt.effectiveGasPrice, 0n, 'no fee paid, none owed');
  } finally {
    await free.stop();
  }
});

test('fees: a tip of 1 wei above a doubled base fee; nothing on a free-gas chain; legacy without EIP-1559', async () => {
  const legacy = { getGasPrice: async () => 7n };
  assert.deepEqual(await feesFor(legacy, 10n), { type: 'eip1559', maxFeePerGas: 21n, maxPriorityFeePerGas: 1n });
  assert.deepEqual(await feesFor(legacy, 0n), { type: 'eip1559', maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });
  assert.deepEqual(await feesFor(legacy, null), { type: 'legacy', gasPrice: 7n });
});

test('a receipt that does not come on an automining node: it is asked to mine once; a node with a block time is only waited for', async () => {
  const node = (automine: boolean | 'unknown') => {
    const calls: string[] = [];
    let mined = false;
    const client = {
      request: async ({ method }: { method: string }) => {
        calls.push(method);
        if (method === 'anvil_getAutomine') {
          if (automine === 'unknown') throw new Error('Method not found');
          return automine;
        }
        if (method === 'evm_mine') mined = true;
        return null;
      },
      waitForTransactionReceipt: async ({ timeout }: { timeout: number }) => {
        if (mined) return { status: 'success' };
        if (timeout <= 3_000) throw Object.assign(new Error('timed out'), { name: 'WaitForTransactionReceiptTimeoutError' });
        return { status: automine === true ? 'never' : 'success', mined: false };
      },
    };
    return { client: client as unknown as Parameters<typeof waitForReceipt>[0], calls };
  };
  const anvil = node(true);
  assert.equal((await waitForReceipt(anvil.client, '0x01', 5)).status, 'success');
  assert.deepEqual(anvil.calls, ['anvil_getAutomine', 'evm_mine']);
  for (const kind of [false, 'unknown'] as const) {
    const besu = node(kind);
    await waitForReceipt(besu.client, '0x01', 5);
    assert.deepEqual(besu.calls, ['anvil_getAutomine'], `no evm_mine on a node whose automine is ${kind}`);
  }
});
