/**
 * The audit row, built fast: the AuditEvent text the gatekeeper writes directly (auditEventJson) is
 * byte for byte the canonical JSON of the AuditEvent object (auditEventFor), so its leaf is what a
 * patient's browser recomputes (src/sdk/audit.ts auditLeaf).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Address } from 'viem';
import { AUDIT_SCHEMA, auditEventFor, auditEventJson, auditLeaf, auditTrail, createAuditWriter, type Decision } from '../src/gatekeeper/audit/audit.js';
import { keccak256Hex } from '../src/protocol/keccak.js';
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
