/**
 * The scale bench's own instruments (bench/scale-writes.ts): the pointer-lag judgement from chain and
 * store alone (bench/harness/pointer-lag.ts), the blocks an account's burst spread over
 * (bench/harness/provider-blocks.ts), and the eth_-only RPC of the external-node mode
 * (bench/harness/external-node.ts), which must refuse what a production node refuses.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPublicClient, http, type Hex } from 'viem';
import { startExternalNode, type ExternalNode } from '../bench/harness/external-node.js';
import { historyOf, percentile, pointerLags } from '../bench/harness/pointer-lag.js';
import { busyBlocks } from '../bench/harness/provider-blocks.js';
import { hashResultSet, type ResourceLike } from '../src/records/hash.js';

/** A lab result created at `ms` (its id and value name it). */
const created = (id: string, ms: number): ResourceLike => ({
  resourceType: 'Observation',
  id,
  meta: { versionId: '1', lastUpdated: new Date(ms).toISOString() },
  status: 'final',
  valueQuantity: { value: Number(id.slice(1)) },
});

// Four commits a second apart; heads: block 10 from t = 0 s, 11 from 2 s, 12 from 4 s (2 s blocks).
const commits = [created('o0', 0), created('o1', 1_000), created('o2', 2_500), created('o3', 3_000)];
const T0 = Date.parse(String(commits[0]!.meta!.lastUpdated));
const headAt = (ms: number) => 10n + BigInt(Math.floor((ms - T0) / 2_000));
const state = (k: number) => hashResultSet(commits.slice(0, k + 1));

test('a write is covered by the first event carrying its state or a later one; its lag counts from the head when it committed', () => {
  // Shuffled on purpose: the order resources come back from the store must not matter.
  const history = historyOf([commits[2]!, commits[0]!, commits[3]!, commits[1]!], [
    { blockNumber: 11n, dataHash: state(1) }, // o0 and o1 (both committed under head 10)
    { blockNumber: 13n, dataHash: state(3) }, // o2 and o3 (committed under head 11)
  ]);
  assert.deepEqual(history.commits.map((c) => c.id), ['o0', 'o1', 'o2', 'o3']);
  const lags = pointerLags([history], new Set(['o1', 'o2', 'o3']), headAt);
  assert.deepEqual(lags, { lags: [1, 2, 2], uncovered: 0, unmatchedEvents: 0 });
});

test('a write no event reaches is uncovered, and an event whose hash is no state in commit order is skipped', () => {
  const stray: Hex = hashResultSet([commits[0]!, commits[2]!]); // o1 left out: not a state in commit order
  const history = historyOf(commits, [
    { blockNumber: 12n, dataHash: stray },
    { blockNumber: 14n, dataHash: state(2) },
  ]);
  const lags = pointerLags([history], new Set(['o0', 'o1', 'o2', 'o3']), headAt);
  // o0, o1 and o2 wait for block 14 (the stray event at 12 covers nothing); o3 never gets its state on chain.
  assert.deepEqual(lags, { lags: [4, 4, 3], uncovered: 1, unmatchedEvents: 1 });
});

test('percentiles by nearest rank, and the busy blocks of a burst', () => {
  const lags = Array.from({ length: 100 }, (_, i) => (i < 98 ? 1 : 5));
  assert.equal(percentile(lags, 50), 1);
  assert.equal(percentile(lags, 99), 5);
  assert.ok(Number.isNaN(percentile([], 99)));
  assert.deepEqual(busyBlocks([0, 0, 7, 0, 20, 3, 0]), [7, 0, 20, 3]);
  assert.deepEqual(busyBlocks([0, 0]), []);
});

let node: ExternalNode;
before(async () => {
  node = await startExternalNode({ blockTime: 1 });
});
after(async () => {
  await node?.close();
});

test('the external node answers eth_ and refuses anvil_ and evm_ methods, as a production RPC node', async () => {
  const client = createPublicClient({ transport: http(node.rpcUrl) });
  assert.equal(await client.getChainId(), 31337);
  await assert.rejects(client.request({ method: 'evm_mine' as never }), /Method not found: evm_mine/);
  await assert.rejects(client.request({ method: 'anvil_setBalance' as never, params: ['0x0000000000000000000000000000000000000001', '0x1'] as never }), /Method not found/);
  assert.deepEqual(Object.fromEntries(node.refused), { evm_mine: 1, anvil_setBalance: 1 });
  assert.match(node.env(3).MEDLEDGER_DEPLOYER_KEY ?? '', /^0x[0-9a-f]{64}$/);
  assert.equal(node.env().MEDLEDGER_RPC_URL, node.rpcUrl);
});
