/**
 * The gatekeeper's audit trail: one AuditEvent (IHE Basic Audit Log Patterns shape,
 * https://profiles.ihe.net/ITI/BALP/) per decision, permit and deny, appended to an audit log with a
 * sequence number. Batches are anchored on chain as Merkle roots, so a patient can check that the
 * "who read my data" list the gatekeeper shows them is the one it committed to.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { writeLedger } from '../chain/write.js';
import type { Db } from '../records/db.js';
import { sql } from '../records/sql.js';
import { canonicalJson } from '../records/hash.js';
import { journalOf } from './journal.js';
import { keccak256Hex } from './keccak.js';
import { merkleProof, merkleRoot } from './merkle.js';
import type { AuditEntry } from '../sdk/audit.js';

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
export const BREAK_THE_GLASS = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG', display: 'break the glass' } as const;

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
  /** Set when the requester read under an open break-glass: the reason they stated (checked against the chain). */
  breakGlass?: string;
  /** Set when this gatekeeper served its copy of another provider's records (replica-routes.ts): that
   * provider. `patientId` is then the source's Patient id. */
  source?: Address;
}

/** The audit log's patient key: a replica read is filed under `<source address>/<patient id>`, apart from this provider's own patients. */
export const auditPatientKey = (patientId: string | undefined, source?: Address): string | null =>
  patientId === undefined ? null : source ? `${source.toLowerCase()}/${patientId}` : patientId;

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
  if (d.source) {
    entity.push({
      what: { identifier: { system: ADDRESS_SYSTEM, value: d.source.toLowerCase() } },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      description: `replica of the records of provider ${d.source.toLowerCase()}`,
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
    // Break-glass reads say so, with the stated reason (https://terminology.hl7.org/CodeSystem-v3-ActReason.html#v3-ActReason-BTG).
    ...(d.breakGlass === undefined ? {} : { purposeOfEvent: [{ coding: [BREAK_THE_GLASS], text: d.breakGlass }] }),
  };
}

export { auditLeaf, verifyAuditEntry, type AuditEntry } from '../sdk/audit.js';

/** auditLeaf with the gatekeeper's faster keccak (keccak.ts): every decision needs one. The canonical JSON is stored too. */
const auditRow = (event: AuditEvent, d: Decision) => {
  const json = canonicalJson(event);
  return sql`(${event.recorded}, ${auditPatientKey(d.patientId, d.source)}, ${d.requester.toLowerCase()}, ${json}, ${keccak256Hex(json)})`;
};

/**
 * The audit log's writer. Rows are group-committed with the nonces (journal.ts): each caller waits
 * until its own row is stored, so no answer leaves the gatekeeper before its audit record exists.
 */
export function createAuditWriter(db: Db): (d: Decision) => Promise<void> {
  const journal = journalOf(db);
  return (d) => {
    const event = auditEventFor(d);
    return journal.appendAudit(auditRow(event, d));
  };
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
