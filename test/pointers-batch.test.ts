/**
 * Batched pointer publishing (issue 19): MedLedger.updatePointers and the SDK's updatePointers, on
 * one fresh chain. A batch is the same updatePointer calls sent one by one, in one transaction: the
 * same stores, the same events in the same order, the same refusals — and all or nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeFunctionData, keccak256, stringToHex, type Address, type Hex, type Log } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { sendRaw, toLedgerError, writeLedger } from '../src/chain/write.js';
import {
  addPointer,
  addRelationship,
  getPointer,
  hashQuery,
  PointerBatchError,
  respond,
  revokeAccreditation,
  setStatus,
  updatePointer,
  updatePointers,
  type LedgerClient,
  type PointerUpdate,
} from '../src/sdk/index.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { travel, travelSkip } from './helpers/time.js';

const ZERO_HASH: Hex = `0x${'0'.repeat(64)}`;
const LAB = 'Observation?category=laboratory';
const VITALS = 'Observation?category=vital-signs';
/** Status numbers of MedLedger.Status. */
const NEW = 1;
const UPDATED = 2;
const AWAITING = 3;
const ACCEPTED = 4;
const REJECTED = 5;

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.close());

const addr = (client: LedgerClient): Address => client.account!.address;
/** A distinct data hash per label. */
const data = (label: string): Hex => keccak256(stringToHex(`batch:${label}`));

async function relationshipOf(id: bigint) {
  return f.governor.publicClient
    .readContract({ abi: medLedgerAbi, address: f.governor.contract, functionName: 'relationshipOf', args: [id] })
    .catch(toLedgerError);
}
const statusOf = async (id: bigint) => (await relationshipOf(id)).status;

/** A relationship of `provider` with a new patient, holding LAB and VITALS, left in `status`. */
async function relationshipIn(provider: LedgerClient, status: number): Promise<bigint> {
  const patient = await f.newPatient(provider);
  const { relationshipId: id } = await addRelationship(provider, { patient: addr(patient), query: LAB, dataHash: data('lab-0') });
  await addPointer(provider, { relationshipId: id, query: VITALS, dataHash: data('vitals-0') });
  if (status === NEW) await setStatus(provider, { relationshipId: id, status: 'new' });
  if (status === AWAITING) await setStatus(provider, { relationshipId: id, status: 'awaiting-approval' });
  if (status === ACCEPTED || status === REJECTED) await respond(patient, { relationshipId: id, accept: status === ACCEPTED });
  assert.equal(await statusOf(id), status);
  return id;
}

/** One relationship per status a pointer change meets, and the updates a provider publishes for them. */
async function world(provider: LedgerClient): Promise<{ ids: bigint[]; updates: PointerUpdate[] }> {
  const ids: bigint[] = [];
  for (const status of [NEW, UPDATED, AWAITING, ACCEPTED, REJECTED]) ids.push(await relationshipIn(provider, status));
  const updates: PointerUpdate[] = [
    ...ids.map((relationshipId, i) => ({ relationshipId, query: LAB, dataHash: data(`lab-${i}`) })),
    // Each relationship named again (its status changes once), and one pointer twice (the last wins).
    ...ids.map((relationshipId, i) => ({ relationshipId, query: VITALS, dataHash: data(`vitals-${i}`) })),
    { relationshipId: ids[0]!, query: LAB, dataHash: data('lab-again') },
  ];
  return { ids, updates };
}

/** A receipt's logs with each relationship id replaced by its index in `ids`, to compare two worlds. */
function normalised(logs: readonly Log[], ids: readonly bigint[]): string[] {
  const names = new Map(ids.map((id, i) => [`0x${id.toString(16).padStart(64, '0')}`, `rel#${i}`]));
  return logs.map((log) => [...log.topics.map((t) => names.get(t!) ?? t), log.data].join(' '));
}

test('a batch across relationships and patients stores every hash, with the events of the same updates sent one by one', async () => {
  const one = await f.newProvider();
  const batched = await f.newProvider();
  const a = await world(one);
  const b = await world(batched);
  const singles: Log[] = [];
  for (const u of a.updates) {
    const { transactionHash } = await updatePointer(one, u);
    singles.push(...(await one.publicClient.getTransactionReceipt({ hash: transactionHash })).logs);
  }
  const [result, ...more] = await updatePointers(batched, b.updates);
  assert.equal(more.length, 0, 'one transaction');
  const receipt = await batched.publicClient.getTransactionReceipt({ hash: result!.transactionHash });
  assert.equal(receipt.logs.length, b.updates.length + 3, 'a PointerUpdated per entry, a StatusChanged per relationship that changes (New, AwaitingApproval, Accepted)');
  assert.deepEqual(normalised(receipt.logs, b.ids), normalised(singles, a.ids));
  assert.ok(receipt.logs.every((log) => log.address.toLowerCase() === batched.contract.toLowerCase()));

  // The hashes are stored (the last of a pointer named twice); statuses as the singles left them.
  for (const [i, id] of b.ids.entries()) {
    assert.equal(await getPointer(batched, { relationshipId: id, query: LAB }), data(i === 0 ? 'lab-again' : `lab-${i}`));
    assert.equal(await getPointer(batched, { relationshipId: id, query: VITALS }), data(`vitals-${i}`));
    assert.equal(await statusOf(id), await statusOf(a.ids[i]!));
  }
  assert.deepEqual(await Promise.all(b.ids.map(statusOf)), [UPDATED, UPDATED, UPDATED, UPDATED, REJECTED], 'rejected stays rejected');
});

test('status: Updated set once per relationship, updatedAt kept when it already was Updated', async () => {
  const provider = await f.newProvider();
  const fresh = await relationshipIn(provider, ACCEPTED);
  const updated = await relationshipIn(provider, UPDATED);
  const updatedAt = (await relationshipOf(updated)).updatedAt;
  // A later second than every earlier stamp (on the embedded node), so a write would show.
  if (!travelSkip) await travel(provider, 10);
  const [result] = await updatePointers(provider, [
    { relationshipId: fresh, query: LAB, dataHash: data('s1') },
    { relationshipId: updated, query: LAB, dataHash: data('s2') },
    { relationshipId: fresh, query: VITALS, dataHash: data('s3') },
  ]);
  const receipt = await provider.publicClient.getTransactionReceipt({ hash: result!.transactionHash });
  const statusTopic = keccak256(stringToHex('StatusChanged(uint256,uint8)'));
  const changes = receipt.logs.filter((log) => log.topics[0] === statusTopic);
  assert.equal(changes.length, 1);
  assert.equal(BigInt(changes[0]!.topics[1]!), fresh);
  assert.equal(BigInt(changes[0]!.data), BigInt(UPDATED));
  const block = await provider.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  assert.equal(BigInt((await relationshipOf(fresh)).updatedAt), block.timestamp, 'the change is stamped');
  if (!travelSkip) assert.ok(BigInt(updatedAt) < block.timestamp);
  assert.equal((await relationshipOf(updated)).updatedAt, updatedAt, 'no write when already Updated');
  // The rest of the slot is untouched: provider, pointer count, keyMoved.
  const rel = await relationshipOf(fresh);
  assert.equal(rel.provider, addr(provider));
  assert.equal(rel.pointerCount, 2);
  assert.equal(rel.keyMoved, false);
});

test('one bad entry refuses the batch with that entry\'s custom error, and nothing of it is stored', async () => {
  const provider = await f.newProvider();
  const other = await f.newProvider();
  const mine = await relationshipIn(provider, ACCEPTED);
  const mine2 = await relationshipIn(provider, NEW);
  const foreign = await relationshipIn(other, NEW);
  const good = [
    { relationshipId: mine, query: LAB, dataHash: data('good-1') },
    { relationshipId: mine2, query: LAB, dataHash: data('good-2') },
  ];
  const bad: Array<[PointerUpdate, string, readonly unknown[] | undefined]> = [
    [{ relationshipId: foreign, query: LAB, dataHash: data('x') }, 'NotRelationshipProvider', [foreign, addr(provider)]],
    [{ relationshipId: mine + 1n, query: LAB, dataHash: data('x') }, 'UnknownRelationship', [mine + 1n]],
    [{ relationshipId: mine, query: 'Condition', dataHash: data('x') }, 'UnknownPointer', [hashQuery('Condition')]],
    [{ relationshipId: mine, query: LAB, dataHash: ZERO_HASH }, 'ZeroDataHash', undefined],
  ];
  for (const [entry, errorName, errorArgs] of bad) {
    const refused = updatePointers(provider, [good[0]!, entry, good[1]!]);
    await assert.rejects(refused, (err: unknown) => {
      assert.ok(err instanceof PointerBatchError);
      assert.equal(err.errorName, errorName);
      if (errorArgs) assert.deepEqual(err.errorArgs, errorArgs);
      assert.equal(err.published, 0);
      return true;
    });
  }
  // Mined anyway (a fixed gas limit, no estimate first): the transaction reverts whole.
  const data_ = encodeFunctionData({ abi: medLedgerAbi, functionName: 'updatePointers', args: [[good[0]!, bad[2]![0], good[1]!].map(toEntry)] });
  const receipt = await sendRaw(provider.publicClient, provider.account!, provider.chainId, { to: provider.contract, data: data_, gas: 1_000_000n }, provider.pollingIntervalMs);
  assert.equal(receipt.status, 'reverted');
  assert.equal(await getPointer(provider, { relationshipId: mine, query: LAB }), data('lab-0'));
  assert.equal(await getPointer(provider, { relationshipId: mine2, query: LAB }), data('lab-0'));
  assert.equal(await statusOf(mine2), NEW);
  assert.equal(await statusOf(mine), ACCEPTED);
});

const toEntry = (u: PointerUpdate) => ({ relationshipId: u.relationshipId, queryHash: hashQuery(u.query), dataHash: u.dataHash });

test('accreditation: checked where updatePointer checks it, once per batch', async () => {
  const provider = await f.newProvider();
  const id = await relationshipIn(provider, NEW);
  const other = await f.newProvider();
  const foreign = await relationshipIn(other, NEW);
  const stranger = f.as(await f.newAccount());
  // Not the provider: the relationship's own refusal first, as updatePointer gives it.
  await assert.rejects(updatePointers(stranger, [{ relationshipId: id, query: LAB, dataHash: data('a') }]), {
    errorName: 'NotRelationshipProvider',
    errorArgs: [id, addr(stranger)],
  });
  await revokeAccreditation(f.governor, { provider: addr(provider) });
  await assert.rejects(updatePointers(provider, [{ relationshipId: id, query: LAB, dataHash: data('a') }]), { errorName: 'NotAccredited', errorArgs: [addr(provider)] });
  await assert.rejects(updatePointer(provider, { relationshipId: id, query: LAB, dataHash: data('a') }), { errorName: 'NotAccredited', errorArgs: [addr(provider)] });
  // A foreign first entry: the same refusal as updatePointer's for it.
  await assert.rejects(updatePointers(provider, [{ relationshipId: foreign, query: LAB, dataHash: data('a') }]), { errorName: 'NotRelationshipProvider' });
  assert.equal(await getPointer(provider, { relationshipId: id, query: LAB }), data('lab-0'));
});

test('SDK: large inputs are sent in chunks, in order; a refused chunk says how many were published', async () => {
  const provider = await f.newProvider();
  const ids = [await relationshipIn(provider, NEW), await relationshipIn(provider, ACCEPTED), await relationshipIn(provider, UPDATED)];
  const updates = ids.flatMap((relationshipId, i) => [
    { relationshipId, query: LAB, dataHash: data(`c-lab-${i}`) },
    { relationshipId, query: VITALS, dataHash: data(`c-vitals-${i}`) },
  ]);
  const results = await updatePointers(provider, updates, { chunkSize: 4 });
  assert.equal(results.length, 2);
  assert.notEqual(results[0]!.transactionHash, results[1]!.transactionHash);
  assert.ok(results[0]!.blockNumber < results[1]!.blockNumber, 'one after another');
  for (const [i, id] of ids.entries()) {
    assert.equal(await getPointer(provider, { relationshipId: id, query: LAB }), data(`c-lab-${i}`));
    assert.equal(await getPointer(provider, { relationshipId: id, query: VITALS }), data(`c-vitals-${i}`));
  }
  assert.deepEqual(await updatePointers(provider, []), [], 'nothing to send');
  await assert.rejects(updatePointers(provider, updates, { chunkSize: 0 }), RangeError);

  const withBad = [...updates.slice(0, 3).map((u) => ({ ...u, dataHash: data(`d-${u.dataHash}`) })), { relationshipId: ids[0]!, query: 'Condition', dataHash: data('x') }];
  await assert.rejects(updatePointers(provider, withBad, { chunkSize: 2 }), (err: unknown) => {
    assert.ok(err instanceof PointerBatchError);
    assert.equal(err.errorName, 'UnknownPointer');
    assert.equal(err.published, 2);
    return true;
  });
  // The first chunk is on chain, the refused one (entries 2 and 3) is not.
  assert.equal(await getPointer(provider, { relationshipId: ids[0]!, query: LAB }), withBad[0]!.dataHash);
  assert.equal(await getPointer(provider, { relationshipId: ids[0]!, query: VITALS }), withBad[1]!.dataHash);
  assert.equal(await getPointer(provider, { relationshipId: ids[1]!, query: LAB }), data('c-lab-1'));
});

test('contract: an empty batch changes nothing', async () => {
  const provider = await f.newProvider();
  const receipt = await writeLedger(provider, 'updatePointers', [[]]);
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.logs.length, 0);
});
