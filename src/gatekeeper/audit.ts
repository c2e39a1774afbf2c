/**
 * The gatekeeper's audit trail: one AuditEvent (IHE Basic Audit Log Patterns shape,
 * https://profiles.ihe.net/ITI/BALP/) per decision, permit and deny, appended to an audit log with a
 * sequence number. Batches are anchored on chain as Merkle roots, so a patient can check that the
 * "who read my data" list the gatekeeper shows them is the one it committed to.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { keccak256, stringToBytes, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { writeLedger } from '../chain/write.js';
import type { Db } from '../records/db.js';
import { canonicalJson } from '../records/hash.js';
import { join, sql } from '../records/sql.js';
import { merkleProof, merkleRoot, processProof } from './merkle.js';

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  seq bigserial PRIMARY KEY,
  recorded timestamptz NOT NULL,
  patient_id text,
  requester text NOT NULL,
  event jsonb NOT NULL,
  leaf text NOT NULL,
  root text
);
CREATE INDEX IF NOT EXISTS audit_log_patient ON audit_log (patient_id, seq);
CREATE INDEX IF NOT EXISTS audit_log_unanchored ON audit_log (seq) WHERE root IS NULL;
`;

export const ADDRESS_SYSTEM = 'urn:medledger:address';

export interface Decision {
  requester: Address;
  gatekeeper: Address;
  /** FHIR restful interaction: read, vread, history-instance, search-type, operation, login. */
  interaction: string;
  method: string;
  path: string;
  patientId?: string;
  permitted: boolean;
  status: number;
  reason?: string;
}

/** Builds the AuditEvent for one decision. */
export function auditEventFor(d: Decision, recorded = new Date()): AuditEvent {
  const entity: NonNullable<AuditEvent['entity']> = [
    { type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' }, query: Buffer.from(`${d.method} ${d.path}`).toString('base64') },
  ];
  if (d.patientId) {
    entity.unshift({
      what: { reference: `Patient/${d.patientId}` },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: randomUUID(),
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: d.interaction }],
    action: 'R',
    recorded: recorded.toISOString(),
    outcome: d.permitted ? '0' : '4',
    outcomeDesc: d.permitted ? `permitted (${d.status})` : `denied (${d.status}): ${d.reason ?? ''}`.trim(),
    agent: [
      { who: { identifier: { system: ADDRESS_SYSTEM, value: d.requester.toLowerCase() } }, requestor: true },
      { who: { identifier: { system: ADDRESS_SYSTEM, value: d.gatekeeper.toLowerCase() } }, requestor: false, type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] } },
    ],
    source: { observer: { identifier: { system: ADDRESS_SYSTEM, value: d.gatekeeper.toLowerCase() } } },
    entity,
  };
}

/** The Merkle leaf of an AuditEvent: keccak256 of its canonical JSON. */
export const auditLeaf = (event: AuditEvent): Hex => keccak256(stringToBytes(canonicalJson(event)));

const auditRow = (event: AuditEvent, d: Decision) =>
  sql`(${event.recorded}, ${d.patientId ?? null}, ${d.requester.toLowerCase()}, ${JSON.stringify(event)}, ${auditLeaf(event)})`;

/**
 * Group commit for the audit log: decisions that arrive while a write is in progress are written
 * together in the next multi-row INSERT. Each caller still waits until its own row is stored, so no
 * answer leaves the gatekeeper before its audit record exists.
 */
export function createAuditWriter(db: Db): (d: Decision) => Promise<void> {
  let queue: { row: ReturnType<typeof auditRow>; done: () => void; fail: (e: unknown) => void }[] = [];
  let writing = false;
  async function flush(): Promise<void> {
    writing = true;
    while (queue.length) {
      const batch = queue.slice(0, 500);
      queue = queue.slice(batch.length);
      try {
        await db.query(sql`INSERT INTO audit_log (recorded, patient_id, requester, event, leaf) VALUES ${join(batch.map((b) => b.row), ', ')}`);
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.fail(err);
      }
    }
    writing = false;
  }
  return (d) =>
    new Promise<void>((done, fail) => {
      const event = auditEventFor(d);
      queue.push({ row: auditRow(event, d), done, fail });
      if (!writing) void flush();
    });
}

/**
 * Anchors every unanchored audit event (up to `max`) as one Merkle root on chain, then records the
 * root against them. Returns the root, or undefined when there was nothing to anchor.
 */
export async function anchorPending(db: Db, provider: LedgerClient, max = 50_000): Promise<{ root: Hex; count: number } | undefined> {
  const rows = await db.query<{ seq: string; leaf: Hex }>(sql`SELECT seq::text AS seq, leaf FROM audit_log WHERE root IS NULL ORDER BY audit_log.seq LIMIT ${max}`);
  if (rows.length === 0) return undefined;
  const root = merkleRoot(rows.map((r) => r.leaf));
  const first = rows[0]!.seq;
  const last = rows[rows.length - 1]!.seq;
  await writeLedger(provider, 'anchorAudit', [root, BigInt(first), BigInt(rows.length)]);
  await db.query(sql`UPDATE audit_log SET root = ${root} WHERE root IS NULL AND seq BETWEEN ${first}::bigint AND ${last}::bigint`);
  return { root, count: rows.length };
}

export interface AuditEntry {
  seq: string;
  event: AuditEvent;
  leaf: Hex;
  /** Absent until the batch is anchored. */
  root?: Hex;
  proof?: Hex[];
}

/** A patient's audit trail with a Merkle proof for every anchored entry. */
export async function auditTrail(db: Db, patientId: string): Promise<AuditEntry[]> {
  const rows = await db.query<{ seq: string; event: AuditEvent; leaf: Hex; root: Hex | null }>(
    sql`SELECT seq::text AS seq, event, leaf, root FROM audit_log WHERE patient_id = ${patientId} ORDER BY audit_log.seq`,
  );
  const batches = new Map<string, Hex[]>();
  const seqs = new Map<string, string[]>();
  for (const root of new Set(rows.map((r) => r.root).filter((r): r is Hex => r !== null))) {
    const batch = await db.query<{ seq: string; leaf: Hex }>(sql`SELECT seq::text AS seq, leaf FROM audit_log WHERE root = ${root} ORDER BY audit_log.seq`);
    batches.set(root, batch.map((b) => b.leaf));
    seqs.set(root, batch.map((b) => b.seq));
  }
  return rows.map((r) => {
    if (!r.root) return { seq: r.seq, event: r.event, leaf: r.leaf };
    const index = seqs.get(r.root)!.indexOf(r.seq);
    return { seq: r.seq, event: r.event, leaf: r.leaf, root: r.root, proof: merkleProof(batches.get(r.root)!, index) };
  });
}

/**
 * Verifies an audit entry from the chain alone: the event hashes to the leaf, the proof leads to the
 * root, and `provider` anchored that root. Returns the anchoring time (unix seconds), or throws.
 */
export async function verifyAuditEntry(client: LedgerClient, provider: Address, entry: AuditEntry): Promise<number> {
  if (auditLeaf(entry.event) !== entry.leaf) throw new Error(`audit entry ${entry.seq}: the event does not hash to its leaf`);
  if (!entry.root || !entry.proof) throw new Error(`audit entry ${entry.seq} is not anchored yet`);
  if (processProof(entry.leaf, entry.proof) !== entry.root) throw new Error(`audit entry ${entry.seq}: the proof does not lead to the root`);
  const at = await client.publicClient.readContract({ address: client.contract, abi: medLedgerAbi, functionName: 'auditAnchorOf', args: [provider, entry.root] });
  if (at === 0n) throw new Error(`audit entry ${entry.seq}: root ${entry.root} was never anchored by ${provider}`);
  return Number(at);
}
