/**
 * The audit row, built fast: the AuditEvent text the gatekeeper writes directly (auditEventJson) is
 * byte for byte the canonical JSON of the AuditEvent object (auditEventFor), so its leaf is what a
 * patient's browser recomputes (src/sdk/audit.ts auditLeaf).
 *
 * Anchoring (issue 19): anchors are events plus one record per provider (MedLedger.anchorAudit), with
 * contiguous sequence numbers; an entry verifies only through the hash chain up to the provider's head
 * in storage, so an RPC that makes up an event does not pass; rollbacks and a lost UPDATE reconcile.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createPublicClient, custom, encodeAbiParameters, encodeEventTopics, keccak256, parseEventLogs, stringToHex, type Address, type Hex, type PublicClient } from 'viem';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import type { LedgerClient } from '../src/chain/client.js';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { createOutbox, memoryOutboxStorage } from '../src/chain/outbox.js';
import { LedgerError, writeLedger } from '../src/chain/write.js';
import { AUDIT_SCHEMA, anchorPending, auditEventFor, auditEventJson, auditLeaf, auditTrail, createAuditWriter, verifyAuditEntry, type Decision } from '../src/gatekeeper/audit/audit.js';
import { merkleProof, merkleRoot } from '../src/protocol/merkle.js';
import type { Db } from '../src/records/db.js';
import { auditChainOf, auditHeadAfter, type AuditAnchor } from '../src/sdk/audit.js';
import { keccak256Hex } from '../src/protocol/keccak.js';
import { sql } from '../src/records/sql.js';
import { canonicalJson } from '../src/records/hash.js';
import { openTestDb } from './helpers/db.js';
import { RUNS } from './helpers/properties.js';

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('', '"', '\\', '\u0000', '\ud800', '}],"x":'));
const addr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString('hex').replace(/^./, (c) => c.toUpperCase())}` as Address);
const decision: fc.Arbitrary<Decision> = fc.record(
  {
    requester: addr,
    gatekeeper: addr,
    interaction: fc.oneof(fc.constantFrom('read', 'vread', 'search-type', 'operation', 'login'), text),
    method: fc.constantFrom('GET', 'POST', 'PUT'),
    path: text,
    patientId: text,
    permitted: fc.boolean(),
    status: fc.integer({ min: 100, max: 599 }),
    reason: text,
    breakGlass: text,
    source: addr,
  },
  { requiredKeys: ['requester', 'gatekeeper', 'interaction', 'method', 'path', 'permitted', 'status'] },
);

test('auditEventJson is the canonical JSON of auditEventFor, and hashes to its auditLeaf', () => {
  fc.assert(
    fc.property(decision, fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }), fc.uuid(), (d, at, id) => {
      const event = auditEventFor(d, at, id);
      const json = auditEventJson(d, at.toISOString(), id);
      assert.equal(json, canonicalJson(event));
      assert.deepEqual(JSON.parse(json), event);
      assert.equal(keccak256Hex(json), auditLeaf(JSON.parse(json)));
    }),
    RUNS,
  );
});

test('a decision about a hostile patient id (NUL, from a refused URL) is stored with the others, and verifies', async () => {
  const db = await openTestDb();
  try {
    await db.exec(AUDIT_SCHEMA);
    const write = createAuditWriter(db);
    const d = { requester: `0x${'ab'.repeat(20)}`, gatekeeper: `0x${'cd'.repeat(20)}`, interaction: 'operation', method: 'GET', permitted: false, status: 401 } as const;
    await Promise.all([write({ ...d, path: '/fhir/R4/Patient/%00/$everything', patientId: 'a\u0000b' }), write({ ...d, path: '/fhir/R4/Patient/p1/$everything', patientId: 'p1' })]);
    const [hostile] = await auditTrail(db, 'a\uFFFDb');
    assert.equal(hostile!.event.entity?.[0]?.what?.reference, 'Patient/a\u0000b');
    assert.equal(keccak256Hex(canonicalJson(hostile!.event)), hostile!.leaf);
    assert.equal((await auditTrail(db, 'p1')).length, 1);
  } finally {
    await db.close();
  }
});

// ------------------------------------------------------------------ anchoring on chain

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(async () => {
  await f?.close();
});

const rootOf = (text: string): Hex => keccak256(stringToHex(text));
const rpc = <T>(client: LedgerClient, method: string, params: unknown[] = []) => client.publicClient.request({ method: method as never, params: params as never }) as Promise<T>;
/** A fresh reader: verifyAuditEntry keeps the anchors it proved per client, and a rollback is not one it expects. */
const reader = () => ({ ...f.governor });
const refusal = (name: string, args?: readonly unknown[]) => (err: unknown) => {
  assert.ok(err instanceof LedgerError, String(err));
  assert.equal(err.errorName, name);
  if (args) assert.deepEqual(err.errorArgs, args);
  return true;
};
function anchoredIn(receipt: { logs: Parameters<typeof parseEventLogs>[0]['logs'] }): AuditAnchor {
  const [log] = parseEventLogs({ abi: medLedgerAbi, logs: receipt.logs, eventName: 'AuditAnchored' });
  const a = log!.args;
  return { root: a.root, firstSeq: a.firstSeq, count: a.count, anchoredAt: Number(a.anchoredAt), previousHead: a.previousHead };
}

test('anchors follow each other: a gap, a duplicate or an empty batch is refused by name, and the record is a hash chain of the events', async () => {
  const provider = await f.newProvider();
  const me = provider.account!.address;
  assert.deepEqual(await auditChainOf(provider, me), { head: `0x${'00'.repeat(32)}`, nextSeq: 0n });
  await assert.rejects(writeLedger(provider, 'anchorAudit', [rootOf('a'), 1n, 5n]), refusal('AuditSequenceMismatch', [0n, 1n]));
  const receipt = await writeLedger(provider, 'anchorAudit', [rootOf('a'), 0n, 5n]);
  const first = anchoredIn(receipt);
  const block = await provider.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  assert.deepEqual(first, { root: rootOf('a'), firstSeq: 0n, count: 5n, anchoredAt: Number(block.timestamp), previousHead: `0x${'00'.repeat(32)}` });
  assert.deepEqual(await auditChainOf(provider, me), { head: auditHeadAfter(first), nextSeq: 5n });
  await assert.rejects(writeLedger(provider, 'anchorAudit', [rootOf('b'), 0n, 5n]), refusal('AuditSequenceMismatch', [5n, 0n]), 'the same events again');
  await assert.rejects(writeLedger(provider, 'anchorAudit', [rootOf('b'), 3n, 5n]), refusal('AuditSequenceMismatch', [5n, 3n]), 'an overlap');
  await assert.rejects(writeLedger(provider, 'anchorAudit', [rootOf('b'), 6n, 1n]), refusal('AuditSequenceMismatch', [5n, 6n]), 'a gap');
  await assert.rejects(writeLedger(provider, 'anchorAudit', [`0x${'00'.repeat(32)}`, 5n, 1n]), refusal('InvalidAuditBatch'));
  await assert.rejects(writeLedger(provider, 'anchorAudit', [rootOf('b'), 5n, 0n]), refusal('InvalidAuditBatch'));
  await assert.rejects(writeLedger(provider, 'anchorAudit', [rootOf('b'), 5n, 2n ** 64n - 5n]), refusal('InvalidAuditBatch'), 'past the last uint64');
  const second = anchoredIn(await writeLedger(provider, 'anchorAudit', [rootOf('b'), 5n, 3n]));
  assert.equal(second.previousHead, auditHeadAfter(first));
  assert.deepEqual([second.root, second.firstSeq, second.count], [rootOf('b'), 5n, 3n]);
  assert.deepEqual(await auditChainOf(provider, me), { head: auditHeadAfter(second), nextSeq: 8n });
  // Another provider's record is its own.
  const other = await f.newProvider();
  await writeLedger(other, 'anchorAudit', [rootOf('b'), 0n, 1n]);
  assert.equal((await auditChainOf(provider, me)).nextSeq, 8n);
});

/** A database with the audit schema, and `decide(n)`: n more decisions about a patient (p1 unless named). */
async function auditDb(): Promise<{ db: Db; decide(n: number, patientId?: string): Promise<void> }> {
  const db = await openTestDb();
  await db.exec(AUDIT_SCHEMA);
  const write = createAuditWriter(db);
  const d = { requester: `0x${'ab'.repeat(20)}`, gatekeeper: `0x${'cd'.repeat(20)}`, interaction: 'read', method: 'GET', permitted: true, status: 200 } as const;
  let i = 0;
  const decide = async (n: number, patientId = 'p1') => {
    for (let k = 0; k < n; k++) await write({ ...d, path: `/fhir/R4/Observation/${i++}`, patientId });
  };
  return { db, decide };
}

async function verifiesAll(db: Db, provider: LedgerClient, expected: number) {
  const entries = await auditTrail(db, 'p1');
  assert.equal(entries.length, expected);
  const client = reader();
  for (const e of entries) assert.ok((await verifyAuditEntry(client, provider.account!.address, e)) > 0, `entry ${e.seq}`);
  return entries;
}

test('the gatekeeper anchors its log in contiguous batches; each entry verifies, and a root never anchored or a made-up event does not', async () => {
  const provider = await f.newProvider();
  const { db, decide } = await auditDb();
  try {
    await decide(3);
    assert.equal((await anchorPending(db, provider))?.count, 3);
    await decide(2);
    await decide(1, 'p2');
    assert.equal((await anchorPending(db, provider))?.count, 3);
    assert.equal(await anchorPending(db, provider), undefined, 'nothing left');
    assert.equal((await auditChainOf(provider, provider.account!.address)).nextSeq, 7n, 'sequence numbers 0 (never used) to 6');
    const entries = await verifiesAll(db, provider, 5);

    // A root the provider never anchored: a tree of the entry with a made-up sibling.
    const [e] = entries;
    const leaves = [e!.leaf, rootOf('sibling')];
    const forged = { ...e!, root: merkleRoot(leaves), proof: merkleProof(leaves, 0) };
    await assert.rejects(verifyAuditEntry(reader(), provider.account!.address, forged), /was never anchored by/);
    // The right root, but an entry number outside the anchored batch.
    await assert.rejects(verifyAuditEntry(reader(), provider.account!.address, { ...e!, seq: '9' }), /was anchored for entries 0 to 3/);

    // A node that makes up an AuditAnchored event for that root, chained onto the real head: its head is not the one in storage.
    const lying = { ...f.governor, publicClient: forgingNode(f.governor.publicClient, provider.account!.address, forged.root) };
    await assert.rejects(verifyAuditEntry(lying, provider.account!.address, forged), /do not lead to its head on chain/);
    // Through that node the honest entries fail too (its extra event breaks their chain to the head): a lying node can deny, not forge.
    await assert.rejects(verifyAuditEntry({ ...lying }, provider.account!.address, e!), /do not (chain|lead to its head)/);
  } finally {
    await db.close();
  }
});

/** A public client whose eth_getLogs adds an AuditAnchored event of `root` by `provider`, chained onto its real head, in the latest block. */
function forgingNode(real: PublicClient, provider: Address, root: Hex): PublicClient {
  return createPublicClient({
    transport: custom({
      async request({ method, params }) {
        const result = await real.request({ method, params } as never);
        if (method !== 'eth_getLogs') return result;
        const filter = (params as [{ topics?: (Hex | null)[]; address: Address }])[0];
        if (filter.topics?.[2] && filter.topics[2] !== root) return result;
        const { head, nextSeq } = await auditChainOf({ ...f.governor, publicClient: real }, provider);
        const latest = await real.getBlock();
        const forged = {
          address: filter.address,
          topics: encodeEventTopics({ abi: medLedgerAbi, eventName: 'AuditAnchored', args: { provider, root, firstSeq: nextSeq } }),
          data: encodeAbiParameters([{ type: 'uint64' }, { type: 'uint64' }, { type: 'bytes32' }], [1n, latest.timestamp, head]),
          blockNumber: `0x${latest.number.toString(16)}`,
          blockHash: latest.hash,
          transactionHash: rootOf('forged'),
          transactionIndex: '0x0',
          logIndex: '0x63',
          removed: false,
        };
        return [...(result as unknown[]), forged];
      },
    }),
  }) as PublicClient;
}

test('a rollback: the outbox sends the lost anchor again and it lands once; one the chain lost for good is anchored again; a lost UPDATE is read back from the event', async (t) => {
  if (!f.runtime.node) return t.skip('needs the embedded node to roll the chain back (evm_revert)');
  const provider = await f.newProvider();
  const me = provider.account!.address;
  const { db, decide } = await auditDb();
  try {
    // 1. Through the outbox: the rollback takes the anchor, settle sends the same signed bytes again.
    const resent: Hex[] = [];
    const outbox = createOutbox(memoryOutboxStorage(), { onResubmit: (e) => resent.push(e.hash) });
    const viaOutbox = { ...provider, outbox };
    await decide(4);
    const snapshot = await rpc<Hex>(provider, 'evm_snapshot');
    const { root } = (await anchorPending(db, viaOutbox))!;
    const [sent] = outbox.entries();
    await rpc(provider, 'evm_revert', [snapshot]);
    assert.equal((await auditChainOf(provider, me)).nextSeq, 0n, 'the rollback took the anchor');
    await outbox.settle(viaOutbox);
    assert.deepEqual(resent, [sent!.hash], 'the same signed transaction');
    const again = await provider.publicClient.waitForTransactionReceipt({ hash: sent!.hash, pollingInterval: 20 });
    assert.equal(again.status, 'success');
    assert.equal(anchoredIn(again).root, root);
    assert.equal((await auditChainOf(provider, me)).nextSeq, 5n);
    // Once: the same batch as a new transaction is a duplicate, and the gatekeeper has nothing to anchor.
    await assert.rejects(writeLedger(provider, 'anchorAudit', [root, 0n, 5n]), refusal('AuditSequenceMismatch', [5n, 0n]));
    assert.equal(await anchorPending(db, viaOutbox), undefined);
    await verifiesAll(db, provider, 4);

    // 2. Without an outbox that still has it: the gatekeeper anchors those entries again.
    await decide(2);
    const before = await rpc<Hex>(provider, 'evm_snapshot');
    await anchorPending(db, provider);
    await rpc(provider, 'evm_revert', [before]);
    assert.equal((await auditChainOf(provider, me)).nextSeq, 5n);
    assert.equal((await anchorPending(db, provider))?.count, 2, 'anchored again');
    await verifiesAll(db, provider, 6);

    // 3. Stopped between the transaction and the UPDATE: the next run reads the root back, then anchors what is new.
    await decide(1);
    const lost = (await anchorPending(db, provider))!.root;
    await db.query(sql`UPDATE audit_log SET root = NULL WHERE root = ${lost}`);
    await decide(2);
    assert.equal((await anchorPending(db, provider))?.count, 2, 'only the new entries');
    const [redone] = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM audit_log WHERE root = ${lost}`);
    assert.equal(redone?.n, 1, 'the lost UPDATE, redone');
    await verifiesAll(db, provider, 9);
  } finally {
    await db.close();
  }
});
