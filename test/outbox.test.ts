/**
 * The durable outbox (src/chain/outbox.ts): a signed transaction is stored before it is sent, and when
 * the chain loses it (here evm_snapshot/evm_revert stand in for the second an embedded node loses on a
 * crash; test/fault.test.ts does it with a real kill -9) the same signed bytes go out again, before any
 * new transaction of the account. The last tests are regressions of the lost revoke of issue 14: an
 * acknowledged transaction the outbox gave up after a rollback (its fee refused; a receipt missing on
 * a node that restarted between two reads).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createPublicClient, encodeFunctionData, http, keccak256, parseGwei, type Hex } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { withOutbox } from '../src/chain/client.js';
import { waitForReceipt } from '../src/chain/write.js';
import { createOutbox, fileOutboxStorage, type OutboxEntry } from '../src/chain/outbox.js';
import { checkAccess, grantViewer, type LedgerClient } from '../src/sdk/index.js';
import { tempDir, type Fixture } from '../bench/harness/chain.js';
import { acceptedRelationship, LAB_SCOPE } from './helpers/accepted-relationship.js';

let f: Fixture;
let provider: LedgerClient;
let patient: LedgerClient;
let relationshipId: bigint;
const SCOPE = LAB_SCOPE;
const dir = tempDir('medledger-outbox-');

const rpc = <T>(client: LedgerClient, method: string, params: unknown[] = []) => client.publicClient.request({ method: method as never, params: params as never }) as Promise<T>;
const receiptOf = (client: LedgerClient, hash: Hex) => rpc<unknown>(client, 'eth_getTransactionReceipt', [hash]);
const granted = (viewer: `0x${string}`) =>
  checkAccess(patient, { relationshipId, viewer, scope: SCOPE }).then(
    () => true,
    () => false,
  );
/** Whether the grant holds once `hash` (just sent again by a settle, which does not wait) is mined. */
const grantedOnceMined = async (viewer: `0x${string}`, hash: Hex) => {
  await patient.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  return granted(viewer);
};

before(async () => {
  ({ f, provider, patient, relationshipId } = await acceptedRelationship());
});
after(async () => {
  await f?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the signed transaction is on disk before it is sent; a write through the outbox keeps the writeLedger API', async () => {
  const file = join(dir, 'before-send.json');
  const seenAtSend: OutboxEntry[][] = [];
  const publicClient = createPublicClient({
    transport: http(f.runtime.deployment.rpcUrl, {
      async onFetchRequest(request) {
        const body = (await request.clone().json()) as { method: string };
        if (body.method === 'eth_sendRawTransaction') seenAtSend.push(fileOutboxStorage(file).load());
      },
    }),
  });
  const outbox = createOutbox(fileOutboxStorage(file));
  const client = withOutbox({ ...patient, publicClient }, outbox);
  const viewer = await f.newAccount();
  const r = await grantViewer(client, { relationshipId, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });
  assert.equal(seenAtSend.length, 1);
  assert.deepEqual(
    seenAtSend[0]!.map((e) => e.hash),
    [r.transactionHash],
    'the entry with this very hash was stored before eth_sendRawTransaction',
  );
  assert.ok(await granted(viewer.address));
  const stored = JSON.parse(readFileSync(file, 'utf8')) as OutboxEntry[];
  assert.deepEqual(
    stored.map((e) => [e.hash, e.from]),
    [[r.transactionHash, patient.account!.address.toLowerCase()]],
    'kept after the receipt, until 12 blocks deep',
  );
});

test('a chain that loses the transaction: settle re-sends the same signed bytes, and a new write comes after it', async (t) => {
  if (!f.runtime.node) return t.skip('needs the embedded node to roll the chain back (evm_revert)');
  const resent: Hex[] = [];
  const outbox = createOutbox(fileOutboxStorage(join(dir, 'rollback.json')), { onResubmit: (e) => resent.push(e.hash) });
  const client = withOutbox(patient, outbox);
  const [a, b] = [await f.newAccount(), await f.newAccount()];
  const snapshot = await rpc<Hex>(client, 'evm_snapshot');
  const lost = await grantViewer(client, { relationshipId, viewer: a.address, scope: SCOPE, expiresAt: 0 });
  assert.ok(await granted(a.address));
  await rpc(client, 'evm_revert', [snapshot]);
  assert.equal(await receiptOf(client, lost.transactionHash), null, 'the rollback took the grant');
  assert.equal(await granted(a.address), false);

  // The next write settles first: the lost grant goes out again (same hash), then the new one.
  const next = await grantViewer(client, { relationshipId, viewer: b.address, scope: SCOPE, expiresAt: 0 });
  assert.deepEqual(resent, [lost.transactionHash]);
  const again = (await receiptOf(client, lost.transactionHash)) as { blockNumber: Hex; status: Hex };
  assert.equal(again.status, '0x1');
  assert.ok(BigInt(again.blockNumber) < next.blockNumber, 'the lost transaction keeps its nonce, before the new one');
  assert.ok((await granted(a.address)) && (await granted(b.address)));
});

test('a crash after storing, before sending: a new outbox on the same file sends it at its first settle', async () => {
  const file = join(dir, 'crash.json');
  const viewer = await f.newAccount();
  // What a process killed between storing and sending leaves behind: a signed entry, never sent.
  const pc = patient.publicClient;
  const account = patient.account!;
  const nonce = await pc.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const data = encodeFunctionData({ abi: medLedgerAbi, functionName: 'grantViewer', args: [relationshipId, viewer.address, SCOPE, 0n] });
  const raw = await account.signTransaction({ to: patient.contract, data, gas: 200_000n, nonce, chainId: patient.chainId, type: 'eip1559', maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: 1n });
  fileOutboxStorage(file).save([{ hash: keccak256(raw), from: account.address.toLowerCase() as `0x${string}`, nonce, chainId: patient.chainId, raw }]);
  assert.equal(await granted(viewer.address), false);

  const restarted = createOutbox(fileOutboxStorage(file));
  const { resubmitted } = await restarted.settle(patient);
  assert.deepEqual(
    resubmitted.map((e) => e.hash),
    [keccak256(raw)],
  );
  assert.ok(await grantedOnceMined(viewer.address, keccak256(raw)));
});

test('a transaction the node dropped while we wait for its receipt is sent again by the wait itself', async (t) => {
  if (!f.runtime.node) return t.skip('needs the embedded node (evm_setAutomine, anvil_dropTransaction)');
  const resent: Hex[] = [];
  const outbox = createOutbox(fileOutboxStorage(join(dir, 'dropped.json')), { onResubmit: (e) => resent.push(e.hash) });
  const client = withOutbox({ ...patient, pollingIntervalMs: 10 }, outbox);
  const viewer = await f.newAccount();
  await rpc(client, 'evm_setAutomine', [false]);
  try {
    const pending = grantViewer(client, { relationshipId, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });
    let hash: Hex | undefined;
    while (!(hash = outbox.entries()[0]?.hash)) await new Promise((r) => setTimeout(r, 5));
    while (!(await rpc<unknown>(client, 'eth_getTransactionByHash', [hash]))) await new Promise((r) => setTimeout(r, 5));
    await rpc(client, 'anvil_dropTransaction', [hash]);
    while (!resent.includes(hash)) await new Promise((r) => setTimeout(r, 10));
    await rpc(client, 'evm_mine');
    const r = await pending;
    assert.equal(r.transactionHash, hash);
  } finally {
    await rpc(client, 'evm_setAutomine', [true]);
  }
  assert.ok(await granted(viewer.address));
});

test('entries leave once confirmed deep enough, or when another transaction took their nonce', async (t) => {
  if (!f.runtime.node) return t.skip('counts blocks it mines itself (evm_mine): on a node with its own block time they come anyway');
  const file = join(dir, 'prune.json');
  const outbox = createOutbox(fileOutboxStorage(file), { confirmations: 3 });
  const client = withOutbox(patient, outbox);
  await grantViewer(client, { relationshipId, viewer: (await f.newAccount()).address, scope: SCOPE, expiresAt: 0 });
  assert.equal(outbox.entries().length, 1);
  await outbox.settle(client);
  assert.equal(outbox.entries().length, 1, 'one block deep is not enough');
  for (let i = 0; i < 2; i++) await rpc(client, 'evm_mine');
  await outbox.settle(client);
  assert.equal(outbox.entries().length, 0);
  assert.equal(outbox.stats.confirmed, 1);

  // The same key signed elsewhere: our stored transaction's nonce is used by another one.
  const account = patient.account!;
  const nonce = await patient.publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const ours = await account.signTransaction({ to: account.address, value: 1n, gas: 21_000n, nonce, chainId: patient.chainId, type: 'eip1559', maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: 1n });
  const theirs = await account.signTransaction({ to: account.address, value: 2n, gas: 21_000n, nonce, chainId: patient.chainId, type: 'eip1559', maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: 1n });
  await patient.publicClient.sendRawTransaction({ serializedTransaction: theirs });
  fileOutboxStorage(file).save([{ hash: keccak256(ours), from: account.address.toLowerCase() as `0x${string}`, nonce, chainId: patient.chainId, raw: ours }]);
  const reopened = createOutbox(fileOutboxStorage(file));
  const { resubmitted } = await reopened.settle(patient);
  assert.equal(resubmitted.length, 0);
  assert.equal(reopened.entries().length, 0);
  assert.equal(reopened.stats.replaced, 1);
});

/** Sets the base fee of the chain's next block. */
const setBaseFee = (client: LedgerClient, wei: bigint) => rpc(client, 'anvil_setNextBlockBaseFeePerGas', [`0x${wei.toString(16)}`]);

test('a rollback that brings back a higher base fee: the lost transaction is signed again at its nonce, never dropped', async (t) => {
  if (!f.runtime.node) return t.skip('needs the embedded node to roll the chain back (evm_revert)');
  const events: string[] = [];
  const outbox = createOutbox(fileOutboxStorage(join(dir, 'fee.json')), {
    onResign: (e, next, reason) => events.push(`resign:${reason}:${e.hash}->${next.hash}`),
    onDrop: (e, reason) => events.push(`drop:${reason}:${e.hash}`),
  });
  const client = withOutbox(patient, outbox);
  const viewer = await f.newAccount();
  // The chain as it was: base fee 1 gwei. Then 8 nearly empty blocks lower it to (7/8)^8 ≈ 0.34 gwei,
  // and the grant is signed for at most twice that: below the 1 gwei of the chain it rolls back to.
  await setBaseFee(client, parseGwei('1'));
  await rpc(client, 'evm_mine');
  const snapshot = await rpc<Hex>(client, 'evm_snapshot');
  for (let i = 0; i < 8; i++) await rpc(client, 'evm_mine');
  const lost = await grantViewer(client, { relationshipId, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });
  await rpc(client, 'evm_revert', [snapshot]);
  // A node restarted from that older state computes the next base fee from it (evm_revert alone keeps the lower one).
  await setBaseFee(client, parseGwei('1'));
  assert.equal(await receiptOf(client, lost.transactionHash), null, 'the rollback took the acknowledged grant');
  const lostEntry = outbox.entries().find((e) => e.hash === lost.transactionHash)!;
  await assert.rejects(client.publicClient.sendRawTransaction({ serializedTransaction: lostEntry.raw }), /base fee/, 'its signed bytes cannot be mined any more');

  await outbox.settle(client);
  const [entry] = outbox.entries().filter((e) => e.replaces?.includes(lost.transactionHash));
  assert.ok(entry, `the intent is kept, signed again: ${events.join(' ')}`);
  assert.deepEqual(events, [`resign:fee:${lost.transactionHash}->${entry.hash}`]);
  assert.equal(entry.nonce, lostEntry.nonce, 'at the same nonce: nothing signed later can pass it');
  // Sent by settle, not waited for: anvil may hold it in its pool a moment (waitForReceipt, src/chain/write.ts).
  assert.equal((await waitForReceipt(client.publicClient, entry.hash, 50)).status, 'success');
  assert.ok(await granted(viewer.address), 'the grant the patient was told about holds');
});

test('a node restart between reading the nonce and the receipt: the acknowledged transaction is not taken for replaced', async (t) => {
  if (!f.runtime.node) return t.skip('needs the embedded node to roll the chain back (evm_revert)');
  const file = join(dir, 'torn-read.json');
  const viewer = await f.newAccount();
  const snapshot = await rpc<Hex>(patient, 'evm_snapshot');
  const acknowledged = await grantViewer(withOutbox(patient, createOutbox(fileOutboxStorage(file))), { relationshipId, viewer: viewer.address, scope: SCOPE, expiresAt: 0 });

  // The process restarts (its outbox read back from the file); its first receipt lookup reaches a node
  // that has just come back without the grant's block: the nonce it read a moment before was the old chain's.
  let torn = false;
  const publicClient = createPublicClient({
    transport: http(f.runtime.deployment.rpcUrl, {
      async onFetchRequest(request) {
        const body = (await request.clone().json()) as { method: string };
        if (body.method === 'eth_getTransactionReceipt' && !torn) {
          torn = true;
          await rpc(patient, 'evm_revert', [snapshot]);
        }
      },
    }),
  });
  const dropped: string[] = [];
  const restarted = createOutbox(fileOutboxStorage(file), { onDrop: (e, reason) => dropped.push(`${reason}:${e.hash}`) });
  const client = withOutbox({ ...patient, publicClient }, restarted);
  await restarted.settle(client);
  assert.ok(torn);
  assert.deepEqual(dropped, [], 'kept: the reads spanned two chains');
  assert.equal(await receiptOf(client, acknowledged.transactionHash), null);
  const { resubmitted } = await restarted.settle(client);
  assert.deepEqual(
    resubmitted.map((e) => e.hash),
    [acknowledged.transactionHash],
    'the next settle finds it lost and sends the same bytes',
  );
  assert.ok(await grantedOnceMined(viewer.address, acknowledged.transactionHash));
});

test('an intent whose nonce another transaction took (the key used elsewhere) is signed again at a fresh nonce: its effect still happens', async () => {
  const file = join(dir, 'taken-nonce.json');
  const viewer = await f.newAccount();
  const account = patient.account!;
  const pc = patient.publicClient;
  const nonce = await pc.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const intent = { to: patient.contract, data: encodeFunctionData({ abi: medLedgerAbi, functionName: 'grantViewer', args: [relationshipId, viewer.address, SCOPE, 0n] }), gas: '200000' };
  const fees = { type: 'eip1559' as const, maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: 1n };
  const ours = await account.signTransaction({ to: intent.to, data: intent.data, gas: 200_000n, nonce, chainId: patient.chainId, ...fees });
  const theirs = await account.signTransaction({ to: account.address, value: 1n, gas: 21_000n, nonce, chainId: patient.chainId, ...fees });
  await pc.sendRawTransaction({ serializedTransaction: theirs });
  fileOutboxStorage(file).save([{ hash: keccak256(ours), from: account.address.toLowerCase() as `0x${string}`, nonce, chainId: patient.chainId, raw: ours, intent }]);
  const reasons: string[] = [];
  const reopened = createOutbox(fileOutboxStorage(file), { onResign: (_e, _next, reason) => reasons.push(reason) });
  const { resubmitted } = await reopened.settle(patient);
  assert.deepEqual(reasons, ['nonce']);
  assert.equal(resubmitted.length, 1);
  assert.equal(resubmitted[0]!.nonce, nonce + 1, 'a fresh nonce, after the one taken');
  assert.deepEqual(resubmitted[0]!.replaces, [keccak256(ours)]);
  await pc.waitForTransactionReceipt({ hash: resubmitted[0]!.hash, pollingInterval: 10, timeout: 30_000 });
  assert.ok(await granted(viewer.address));
  assert.equal(reopened.stats.replaced, 0, 'nothing given up');
});
