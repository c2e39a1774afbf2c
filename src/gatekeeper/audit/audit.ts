/**
 * The gatekeeper's audit trail: one AuditEvent (IHE Basic Audit Log Patterns shape,
 * https://profiles.ihe.net/ITI/BALP/) per decision, permit and deny, appended to an audit log with a
 * sequence number. Batches are anchored on chain as Merkle roots, so a patient can check that the
 * "who read my data" list the gatekeeper shows them is the one it committed to.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { writeLedger } from '../../chain/write.js';
import type { Db } from '../../records/db.js';
import { sql } from '../../records/sql.js';
import { canonicalJson } from '../../records/hash.js';
import { ADDRESS_SYSTEM } from '../../protocol/identifiers.js';
import type { AuditRow } from './audit-spool.js';
import { journalOf } from './journal.js';
import { keccak256Hex } from '../../protocol/keccak.js';
import { merkleProof, merkleRoot } from '../../protocol/merkle.js';
import { auditAnchorStartingAt, auditChainOf, type AuditEntry } from '../../sdk/audit.js';

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  seq bigserial PRIMARY KEY,
  recorded timestamptz NOT NULL,
  patient_id text,
  requester text NOT NULL,
  event text NOT NULL,
  leaf text NOT NULL,
  root text
);
CREATE INDEX IF NOT EXISTS audit_log_patient ON audit_log (patient_id, seq);
CREATE INDEX IF NOT EXISTS audit_log_unanchored ON audit_log (seq) WHERE root IS NULL;
-- The event was jsonb once: text costs less to store, and takes every row (jsonb refuses an escaped NUL).
DO $$ BEGIN
  IF (SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'audit_log' AND column_name = 'event') = 'jsonb' THEN
    ALTER TABLE audit_log ALTER COLUMN event TYPE text;
  END IF;
END $$;
`;

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

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const PERSON = { system: ENTITY_TYPE, code: '1', display: 'Person' } as const;
const SYSTEM_OBJECT = { system: ENTITY_TYPE, code: '2', display: 'System Object' } as const;
const PATIENT_ROLE = { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' } as const;
const REST = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' } as const;
const SOURCE_ROLE = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' } as const;
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';

/** Builds the AuditEvent for one decision. */
export function auditEventFor(d: Decision, recorded = new Date(), id: string = randomUUID()): AuditEvent {
  const entity: NonNullable<AuditEvent['entity']> = [{ type: SYSTEM_OBJECT, query: Buffer.from(`${d.method} ${d.path}`).toString('base64') }];
  if (d.patientId) entity.unshift({ what: { reference: `Patient/${d.patientId}` }, type: PERSON, role: PATIENT_ROLE });
  if (d.source) {
    entity.push({
      what: { identifier: { system: ADDRESS_SYSTEM, value: d.source.toLowerCase() } },
      type: SYSTEM_OBJECT,
      description: `replica of the records of provider ${d.source.toLowerCase()}`,
    });
  }
  return {
    resourceType: 'AuditEvent',
    id,
    type: REST,
    subtype: [{ system: INTERACTION, code: d.interaction }],
    action: 'R',
    recorded: recorded.toISOString(),
    outcome: d.permitted ? '0' : '4',
    outcomeDesc: outcomeDesc(d),
    agent: [
      { who: { identifier: { system: ADDRESS_SYSTEM, value: d.requester.toLowerCase() } }, requestor: true },
      { who: { identifier: { system: ADDRESS_SYSTEM, value: d.gatekeeper.toLowerCase() } }, requestor: false, type: { coding: [SOURCE_ROLE] } },
    ],
    source: { observer: { identifier: { system: ADDRESS_SYSTEM, value: d.gatekeeper.toLowerCase() } } },
    entity,
    // Break-glass reads say so, with the stated reason (https://terminology.hl7.org/CodeSystem-v3-ActReason.html#v3-ActReason-BTG).
    ...(d.breakGlass === undefined ? {} : { purposeOfEvent: [{ coding: [BREAK_THE_GLASS], text: d.breakGlass }] }),
  };
}

const outcomeDesc = (d: Decision) => (d.permitted ? `permitted (${d.status})` : `denied (${d.status}): ${d.reason ?? ''}`.trim());

// The fixed parts of auditEventJson, canonical already.
const q = JSON.stringify;
const address = (a: string) => `{"identifier":{"system":${q(ADDRESS_SYSTEM)},"value":${q(a.toLowerCase())}}}`;
const QUERY_TYPE = `"type":${canonicalJson(SYSTEM_OBJECT)}}`;
const PATIENT_ENTITY = `{"role":${canonicalJson(PATIENT_ROLE)},"type":${canonicalJson(PERSON)},"what":{"reference":`;
const REPLICA_ENTITY = `"type":${canonicalJson(SYSTEM_OBJECT)},"what":`;
const BREAK_GLASS = `"purposeOfEvent":[{"coding":[${canonicalJson(BREAK_THE_GLASS)}],"text":`;
const SERVER = `{"requestor":false,"type":{"coding":[${canonicalJson(SOURCE_ROLE)}]},"who":`;
const SOURCE = `"resourceType":"AuditEvent","source":{"observer":`;
const TYPE = `"system":${q(INTERACTION)}}],"type":${canonicalJson(REST)}}`;

/**
 * canonicalJson(auditEventFor(d, recorded, id)), written directly in sorted-key order: every decision
 * needs one, and building and sorting the object cost more than hashing the text.
 * test/gatekeeper-audit.test.ts checks the two agree on random decisions.
 */
export function auditEventJson(d: Decision, recorded: string, id: string): string {
  const gatekeeper = address(d.gatekeeper);
  let entity = `{"query":${q(Buffer.from(`${d.method} ${d.path}`).toString('base64'))},${QUERY_TYPE}`;
  if (d.patientId) entity = `${PATIENT_ENTITY}${q(`Patient/${d.patientId}`)}}},${entity}`;
  if (d.source) entity += `,{"description":${q(`replica of the records of provider ${d.source.toLowerCase()}`)},${REPLICA_ENTITY}${address(d.source)}}`;
  return (
    `{"action":"R","agent":[{"requestor":true,"who":${address(d.requester)}},${SERVER}${gatekeeper}}],"entity":[${entity}],"id":${q(id)},` +
    `"outcome":"${d.permitted ? '0' : '4'}","outcomeDesc":${q(outcomeDesc(d))},${d.breakGlass === undefined ? '' : `${BREAK_GLASS}${q(d.breakGlass)}}],`}` +
    `"recorded":${q(recorded)},${SOURCE}${gatekeeper}},"subtype":[{"code":${q(d.interaction)},${TYPE}`
  );
}

export { auditLeaf, verifyAuditEntry, type AuditEntry } from '../../sdk/audit.js';

/** The audit_log row of a decision; its leaf is auditLeaf of the event, with the gatekeeper's faster keccak (keccak.ts). */
function auditRow(d: Decision): AuditRow {
  const recorded = new Date().toISOString();
  const event = auditEventJson(d, recorded, randomUUID());
  // PostgreSQL text holds no NUL, and a refused request's patient id can come from its URL: one bad row would fail its whole commit.
  const patientKey = auditPatientKey(d.patientId, d.source)?.replaceAll('\0', '\uFFFD') ?? null;
  return { recorded, patientKey, requester: d.requester.toLowerCase(), event, leaf: keccak256Hex(event) };
}

/**
 * The audit log's writer. Rows are spooled (audit-spool.ts) or group-committed with the nonces
 * (journal.ts): each caller waits until its own row is stored, so no answer leaves the gatekeeper
 * before its audit record exists.
 */
export function createAuditWriter(db: Db): (d: Decision) => Promise<void> {
  const journal = journalOf(db);
  return (d) => journal.appendAudit(auditRow(d));
}

/**
 * Anchors every unanchored audit event (up to `max`) as one Merkle root on chain, then records the
 * root against them. Returns the root and the number of events, or undefined when there was nothing
 * to anchor.
 *
 * Anchors are contiguous on chain (MedLedger.anchorAudit): a batch starts at the provider's `nextSeq`
 * and ends at its last row, so it covers the numbers the database's sequence skipped (a failed insert,
 * a restart) as well; such numbers hold no event.
 */
export async function anchorPending(db: Db, provider: LedgerClient, max = 50_000): Promise<{ root: Hex; count: number } | undefined> {
  await journalOf(db).flush();
  const first = await reconcileAnchors(db, provider);
  const rows = await db.query<{ seq: string; leaf: Hex }>(
    sql`SELECT seq::text AS seq, leaf FROM audit_log WHERE root IS NULL AND seq >= ${String(first)}::bigint ORDER BY audit_log.seq LIMIT ${max}`,
  );
  if (rows.length === 0) return undefined;
  const root = merkleRoot(rows.map((r) => r.leaf));
  const last = rows[rows.length - 1]!.seq;
  await writeLedger(provider, 'anchorAudit', [root, first, BigInt(last) - first + 1n]);
  await db.query(sql`UPDATE audit_log SET root = ${root} WHERE root IS NULL AND seq BETWEEN ${String(first)}::bigint AND ${last}::bigint`);
  return { root, count: rows.length };
}

/**
 * Brings audit_log in line with the provider's anchors on chain, and returns the sequence number its
 * next anchor starts at. Two things can part them:
 * - the chain lost anchors audit_log recorded (rolled back further than the outbox still re-sends):
 *   their rows lose their root, and are anchored again;
 * - the chain holds anchors audit_log did not record: the gatekeeper stopped between an anchor's
 *   transaction and its UPDATE, or the outbox re-sent a lost anchor after a newer batch was built (whose
 *   transaction the contract then refused: AuditSequenceMismatch). Their roots are read back from the
 *   events, once the rows are seen to hash to them.
 */
async function reconcileAnchors(db: Db, provider: LedgerClient): Promise<bigint> {
  if (!provider.account) throw new Error('anchoring needs the provider\'s signing account');
  const address = provider.account.address;
  const { nextSeq } = await auditChainOf(provider, address);
  const next = String(nextSeq);
  await db.query(sql`UPDATE audit_log SET root = NULL WHERE root IS NOT NULL AND seq >= ${next}::bigint`);
  for (;;) {
    const [gap] = await db.query<{ seq: string | null }>(sql`SELECT min(seq)::text AS seq FROM audit_log WHERE root IS NULL AND seq < ${next}::bigint`);
    if (!gap?.seq) return nextSeq;
    // A batch ends at its last row, so the one holding the gap starts right after the last recorded row before it (0 if none).
    const [before] = await db.query<{ start: string }>(sql`SELECT (coalesce(max(seq), -1) + 1)::text AS start FROM audit_log WHERE root IS NOT NULL AND seq < ${gap.seq}::bigint`);
    const anchor = await auditAnchorStartingAt(provider, address, BigInt(before!.start));
    const range = anchor && sql`seq BETWEEN ${String(anchor.firstSeq)}::bigint AND ${String(anchor.firstSeq + anchor.count - 1n)}::bigint`;
    const leaves = range ? await db.query<{ leaf: Hex }>(sql`SELECT leaf FROM audit_log WHERE ${range} ORDER BY audit_log.seq`) : [];
    if (!anchor || !range || leaves.length === 0 || merkleRoot(leaves.map((l) => l.leaf)) !== anchor.root) {
      throw new Error(`audit entries from ${gap.seq} are anchored on chain (its next anchor starts at ${next}) under no root they hash to: this audit log is not the one anchored`);
    }
    await db.query(sql`UPDATE audit_log SET root = ${anchor.root} WHERE ${range}`);
  }
}

/** A patient's audit trail with a Merkle proof for every anchored entry. */
export async function auditTrail(db: Db, patientId: string): Promise<AuditEntry[]> {
  await journalOf(db).flush();
  const rows = await db.query<{ seq: string; event: string | AuditEvent; leaf: Hex; root: Hex | null }>(
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
    // Stored as text (the canonical JSON); a jsonb column of an older database comes back parsed.
    const entry = { seq: r.seq, event: typeof r.event === 'string' ? (JSON.parse(r.event) as AuditEvent) : r.event, leaf: r.leaf };
    if (!r.root) return entry;
    return { ...entry, root: r.root, proof: merkleProof(batches.get(r.root)!, seqs.get(r.root)!.indexOf(r.seq)) };
  });
}
