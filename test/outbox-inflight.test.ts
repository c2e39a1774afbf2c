/**
 * Many transactions in flight per account (issue 19; src/chain/outbox.ts): the outbox signs, stores
 * and sends under its lock and waits for receipts outside it, so concurrent writes of one account
 * land in one block; what the node loses meanwhile (a dropped nonce with later ones pooled, a
 * rollback, a kill of this process) goes out again in nonce order with the same signed bytes, and a
 * transaction the node holds but cannot mine is signed again at its nonce with bumped fees. The
 * blocks are held with anvil's automine off and mined with evm_mine, so what shares a block is
 * decided by the test, not by timing.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createPublicClient, custom, parseGwei, parseTransaction, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { withOutbox } from '../src/chain/client.js';
import { createOutbox, fileOutboxStorage, memoryOutboxStorage, type OutboxEntry, type OutboxOptions } from '../src/chain/outbox.js';
import { checkAccess, grantViewer, type LedgerClient, type TxResult } from '../src/sdk/index.js';
import { tempDir, type Fixture } from '../bench/harness/chain.js';
import { acceptedRelationship, LAB_SCOPE } from './helpers/accepted-relationship.js';

let f: Fixture;
let patient: LedgerClient;
let relationshipId: bigint;
const SCOPE = LAB_SCOPE;
const dir = tempDir('medledger-inflight-');

const rpc = <T>(method: string, params: unknown[] = []) => patient.publicClient.request({ method: method as never, params: params as never }) as Promise<T>;
const tick = () => new Promise((r) => setTimeout(r, 5));
/** Checks `condition` until it holds (the node and the outbox answer in their own time; no fixed sleeps). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await tick();
}
const viewer = () => privateKeyToAccount(generatePrivateKey()).address;
const grant = (client: LedgerClient, to = viewer()) => grantViewer(client, { relationshipId, viewer: to, scope: SCOPE, expiresAt: 0 }).then((r) => ({ ...r, viewer: to }));
const granted = (to: `0x${string}`) =>
  checkAccess(patient, { relationshipId, viewer: to, scope: SCOPE }).then(
    () => true,
    () => false,
  );
const count = (blockTag: 'latest' | 'pending') => patient.publicClient.getTransactionCount({ address: patient.account!.address, blockTag });
/** Resolves once `n` transactions of the patient wait in the node's pool. */
const pooled = async (n: number) => until(async () => (await count('pending')) - (await count('latest')) === n);
const nonceOf = async (hash: Hex) => (await patient.publicClient.getTransaction({ hash })).nonce;
/** The outbox client of the patient, polling fast; blocks are mined by the test. */
const outboxClient = (options: OutboxOptions = {}, file?: string) => {
  const outbox = createOutbox(file ? fileOutboxStorage(file) : memoryOutboxStorage(), options);
  return { outbox, client: withOutbox({ ...patient, pollingIntervalMs: 10 }, outbox) };
};

/** Runs `fn` with automine off (blocks only when the test mines them). */
async function heldBlocks<T>(fn: () => Promise<T>): Promise<T> {
  await rpc('evm_setAutomine', [false]);
  try {
    return await fn();
  } finally {
    await rpc('evm_setAutomine', [true]);
  }
}

before(async () => {
  ({ f, patient, relationshipId } = await acceptedRelationship());
});
after(async () => {
  await f?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Asserts the writes (each mined with success: writeLedger throws on a revert) are one block's, their nonces contiguous, each transaction mined once. */
async function assertOneBlock(receipts: TxResult[], n: number): Promise<void> {
  assert.equal(receipts.length, n);
  assert.equal(new Set(receipts.map((r) => r.blockNumber)).size, 1, 'all in one block');
  const block = await patient.publicClient.getBlock({ blockNumber: receipts[0]!.blockNumber });
  const ours = new Set(receipts.map((r) => r.transactionHash));
  assert.equal(block.transactions.filter((h) => ours.has(h)).length, n, `${n} of the account's transactions in block ${block.number}`);
  const nonces = (await Promise.all(receipts.map((r) => nonceOf(r.transactionHash)))).sort((a, b) => a - b);
  assert.deepEqual(
    nonces,
    nonces.map((_, i) => nonces[0]! + i),
    'contiguous nonces',
  );
}

test('30 concurrent writes of one account through the outbox are all in flight together and land in one block', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('holds blocks with evm_setAutomine');
  const { outbox, client } = outboxClient();
  const receipts = await heldBlocks(async () => {
    const writes = Array.from({ length: 30 }, () => grant(client));
    await pooled(30);
    assert.equal(outbox.stats.inFlight, 30, 'none waits for another one to be mined');
    await rpc('evm_mine');
    return Promise.all(writes);
  });
  await assertOneBlock(receipts, 30);
  assert.equal(outbox.stats.maxInFlight, 30);
  assert.equal(outbox.stats.inFlight, 0, 'every receipt delivered');
  assert.ok((await Promise.all(receipts.map((r) => granted(r.viewer)))).every(Boolean));
});

test('concurrent writes without an outbox are in flight together too (the nonce tracked locally)', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('holds blocks with evm_setAutomine');
  const plain = { ...patient, pollingIntervalMs: 10 };
  const receipts = await heldBlocks(async () => {
    const writes = Array.from({ length: 12 }, () => grant(plain));
    await pooled(12);
    await rpc('evm_mine');
    return Promise.all(writes);
  });
  await assertOneBlock(receipts, 12);
});

test('a send the node refuses among many in flight leaves no nonce gap: it fails alone, the others are mined on consecutive nonces', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('holds blocks with evm_setAutomine');
  const { outbox, client } = outboxClient();
  const account = patient.account!;
  const chain = { ...client, account };
  const start = await count('latest');
  const sends = await heldBlocks(async () => {
    const sends = [1n, 10n ** 30n, 1n, 1n, 1n].map((value) =>
      outbox.send(chain, account, { to: account.address, data: '0x', gas: 21_000n, value }).then(
        (r) => r,
        (err: Error) => err,
      ),
    );
    await pooled(4);
    await rpc('evm_mine');
    return Promise.all(sends);
  });
  assert.ok(sends[1] instanceof Error && /insufficient funds/i.test(sends[1].message), String(sends[1]));
  const mined = sends.filter((s): s is Exclude<typeof s, Error> => !(s instanceof Error));
  assert.equal(mined.length, 4);
  const nonces = (await Promise.all(mined.map((r) => nonceOf(r.transactionHash)))).sort((a, b) => a - b);
  assert.deepEqual(nonces, [start, start + 1, start + 2, start + 3]);
  assert.ok(outbox.entries().every((e) => mined.some((r) => r.transactionHash === e.hash)), 'the refused one left the outbox');
});

test('maxInFlight 1: each write waits for the receipt of the one before (one transaction per block)', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('holds blocks with evm_setAutomine');
  const { outbox, client } = outboxClient({ maxInFlight: 1 });
  const receipts = await heldBlocks(async () => {
    let done = false;
    const writes = Promise.all(Array.from({ length: 4 }, () => grant(client))).finally(() => (done = true));
    // The test's miner: a block whenever one of the account's transactions waits in the pool.
    while (!done) {
      if ((await count('pending')) > (await count('latest'))) {
        assert.equal((await count('pending')) - (await count('latest')), 1, 'never two in flight');
        await rpc('evm_mine');
      }
      await tick();
    }
    return writes;
  });
  assert.equal(new Set(receipts.map((r) => r.blockNumber)).size, 4, 'four blocks');
  assert.equal(outbox.stats.maxInFlight, 1);
});

test('a dropped nonce with later ones still pooled: the lost ones go out again in nonce order, same bytes, each mined once', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('needs anvil_dropTransaction');
  const resent: OutboxEntry[] = [];
  const { outbox, client } = outboxClient({ onResubmit: (e) => resent.push(e) });
  const start = await count('latest');
  const receipts = await heldBlocks(async () => {
    const writes = Array.from({ length: 10 }, () => grant(client));
    await pooled(10);
    const sent = [...outbox.entries()].sort((a, b) => a.nonce - b.nonce);
    await rpc('anvil_dropTransaction', [sent[4]!.hash]); // anvil drops the later nonces of the account with it
    assert.ok((await count('pending')) - start < 10, 'the node lost some');
    await until(() => resent.some((e) => e.hash === sent[4]!.hash));
    await pooled(10);
    await rpc('evm_mine');
    const receipts = await Promise.all(writes);
    assert.deepEqual(
      receipts.map((r) => r.transactionHash).sort(),
      sent.map((e) => e.hash).sort(),
      'the very hashes first sent',
    );
    return receipts;
  });
  const nonces = resent.map((e) => e.nonce);
  assert.deepEqual(nonces, [...nonces].sort((a, b) => a - b), 'in nonce order');
  assert.ok(nonces.includes(start + 4));
  await assertOneBlock(receipts, 10);
  assert.equal(await count('latest'), start + 10, 'nothing sent twice');
});

test('a rollback of many mined writes: all go out again in nonce order, same bytes, before the next write', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('needs the embedded node to roll the chain back (evm_revert)');
  const resent: OutboxEntry[] = [];
  const { outbox, client } = outboxClient({ onResubmit: (e) => resent.push(e) });
  const start = await count('latest');
  const snapshot = await rpc<Hex>('evm_snapshot');
  const first = await heldBlocks(async () => {
    const writes = Array.from({ length: 10 }, () => grant(client));
    await pooled(10);
    await rpc('evm_mine');
    return Promise.all(writes.map(async (w) => ({ ...(await w), nonce: await nonceOf((await w).transactionHash) })));
  });
  await rpc('evm_revert', [snapshot]);
  assert.equal(await count('latest'), start, 'the rollback took all ten');

  const next = await grant(client); // finds the loss (pending count below the expected nonce), settles first
  const byNonce = [...first].sort((a, b) => a.nonce - b.nonce).map((r) => r.transactionHash);
  assert.deepEqual(
    resent.map((e) => e.hash),
    byNonce,
    'the same ten hashes, in nonce order',
  );
  assert.equal(await nonceOf(next.transactionHash), start + 10, 'the new write after them');
  for (const hash of byNonce) assert.equal((await patient.publicClient.getTransactionReceipt({ hash })).status, 'success');
  assert.equal(await count('latest'), start + 11, 'nothing sent twice');
  assert.ok((await Promise.all([...first, next].map((r) => granted(r.viewer)))).every(Boolean));
  assert.equal(outbox.stats.replaced, 0);
});

/** Sets the base fee of the chain's next block. */
const setBaseFee = (wei: bigint) => rpc('anvil_setNextBlockBaseFeePerGas', [`0x${wei.toString(16)}`]);

test('a transaction whose fee cap falls under the base fee is signed again at its nonce with fresh fees; the waiter gets that receipt', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('sets the base fee (anvil_setNextBlockBaseFeePerGas)');
  const resigned: [OutboxEntry, OutboxEntry, string][] = [];
  const { outbox, client } = outboxClient({ onResign: (e, next, reason) => resigned.push([e, next, reason]) });
  await setBaseFee(parseGwei('1'));
  await rpc('evm_mine');
  const r = await heldBlocks(async () => {
    const write = grant(client);
    await pooled(1);
    const [underpriced] = outbox.entries();
    // Base fee 100 gwei from the next block on: far above the ~2 gwei the grant was signed for.
    await setBaseFee(parseGwei('100'));
    await rpc('evm_mine');
    assert.equal(await count('latest'), underpriced!.nonce, 'not mined: its fee cap is under the base fee');
    await until(() => resigned.length > 0);
    const [old, next, reason] = resigned[0]!;
    // anvil evicts such a transaction from its pool when it mines the block ('fee': the bytes are
    // refused when sent again); geth and Besu keep it pooled, and the tracker signs it again as 'stuck'.
    assert.ok(['fee', 'stuck'].includes(reason), reason);
    assert.equal(old.hash, underpriced!.hash);
    assert.equal(next.nonce, underpriced!.nonce, 'the same nonce: only one of the two can be mined');
    assert.deepEqual(next.replaces, [underpriced!.hash]);
    await until(async () => (await patient.publicClient.getTransaction({ hash: next.hash }).catch(() => undefined)) !== undefined);
    await rpc('evm_mine');
    const r = await write;
    assert.equal(r.transactionHash, next.hash, 'the waiter follows the replacement');
    return r;
  });
  assert.ok(await granted(r.viewer));
  assert.deepEqual(
    outbox.entries().map((e) => e.hash),
    [r.transactionHash],
    'the replaced signing left the outbox',
  );
});

test('a transaction the node holds but does not mine for 3 blocks is signed again at its nonce with fees 10 % higher; the waiter gets that receipt', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('sets the block gas limit (anvil_setBlockGasLimit)');
  // What the outbox sees of the chain, frozen at one height while the test makes three blocks that
  // cannot hold the grant (a gas limit under its gas), then let go once the limit is back.
  let frozen: Hex | undefined;
  const view = createPublicClient({
    transport: custom({
      request: async ({ method, params }) => (method === 'eth_blockNumber' && frozen ? frozen : patient.publicClient.request({ method: method as never, params: params as never })),
    }),
  });
  const resigned: [OutboxEntry, OutboxEntry, string][] = [];
  const outbox = createOutbox(memoryOutboxStorage(), { stuckAfterBlocks: 3, onResign: (e, next, reason) => resigned.push([e, next, reason]) });
  const client = withOutbox({ ...patient, publicClient: view, pollingIntervalMs: 10 }, outbox);
  const { gasLimit } = await patient.publicClient.getBlock({ blockTag: 'latest' });
  const r = await heldBlocks(async () => {
    const write = grant(client);
    await pooled(1);
    const [stuck] = outbox.entries();
    frozen = await rpc<Hex>('eth_blockNumber');
    try {
      await rpc('anvil_setBlockGasLimit', ['0x' + (30_000).toString(16)]);
      for (let i = 0; i < 3; i++) await rpc('evm_mine');
    } finally {
      await rpc('anvil_setBlockGasLimit', ['0x' + gasLimit.toString(16)]);
    }
    assert.equal(await count('latest'), stuck!.nonce, 'three blocks without it');
    assert.ok(await patient.publicClient.getTransaction({ hash: stuck!.hash }), 'the node still holds it');
    frozen = undefined;
    await until(() => resigned.length > 0);
    const [old, next, reason] = resigned[0]!;
    assert.equal(reason, 'stuck');
    assert.equal(old.hash, stuck!.hash);
    assert.equal(next.nonce, stuck!.nonce, 'the same nonce: only one of the two can be mined');
    assert.deepEqual(next.replaces, [stuck!.hash]);
    const [before, after] = [await patient.publicClient.getTransaction({ hash: stuck!.hash }).catch(() => undefined), await patient.publicClient.getTransaction({ hash: next.hash })];
    assert.equal(before, undefined, 'the node took the replacement in its place');
    const [oldTx, newTx] = [parseTransaction(stuck!.raw), parseTransaction(next.raw)];
    assert.ok(newTx.maxFeePerGas! * 10n >= oldTx.maxFeePerGas! * 11n && newTx.maxPriorityFeePerGas! * 10n >= oldTx.maxPriorityFeePerGas! * 11n, 'fees at least 10 % higher');
    assert.equal(after.hash, next.hash);
    await rpc('evm_mine');
    const r = await write;
    assert.equal(r.transactionHash, next.hash, 'the waiter follows the replacement');
    return r;
  });
  assert.ok(await granted(r.viewer));
});

test('the process killed with writes in flight: a new outbox from its file sends the same signed bytes, in nonce order', { timeout: 60_000 }, async (t) => {
  if (!f.runtime.node) return t.skip('holds blocks with evm_setAutomine');
  const file = join(dir, 'killed.json');
  // The process that dies: its node connection goes dead once its writes are out.
  let dead = false;
  const link = createPublicClient({
    transport: custom({
      request: ({ method, params }) => {
        if (dead) throw new Error('fetch failed (ECONNREFUSED): the process is gone');
        return patient.publicClient.request({ method: method as never, params: params as never });
      },
    }),
  });
  const outbox = createOutbox(fileOutboxStorage(file), { timeoutMs: 1_000 });
  const client = withOutbox({ ...patient, publicClient: link, pollingIntervalMs: 10 }, outbox);
  const start = await count('latest');
  await heldBlocks(async () => {
    const writes = Array.from({ length: 8 }, () => grant(client).catch((err: Error) => err));
    await pooled(8);
    dead = true;
    const stored = JSON.parse(readFileSync(file, 'utf8')) as OutboxEntry[];
    // The node loses its pool too (as a node restarted without it).
    await rpc('anvil_dropAllTransactions');
    assert.equal(await count('pending'), start);

    const restarted = createOutbox(fileOutboxStorage(file));
    const { resubmitted } = await restarted.settle(patient);
    assert.deepEqual(
      resubmitted.map((e) => [e.nonce, e.raw]),
      stored.sort((a, b) => a.nonce - b.nonce).map((e) => [e.nonce, e.raw]),
      'the very bytes stored before the kill, in nonce order',
    );
    await rpc('evm_mine');
    for (const e of stored) assert.equal((await patient.publicClient.getTransactionReceipt({ hash: e.hash })).status, 'success');
    // The dead process's waiters never heard a receipt: they time out, their entries kept.
    assert.ok((await Promise.all(writes)).every((w) => w instanceof Error && /kept in the outbox/.test(w.message)));
  });
  assert.equal(await count('latest'), start + 8, 'nothing sent twice');
});
