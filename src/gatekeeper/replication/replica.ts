/**
 * Backup among providers (issue 5): with the patient's consent, provider B keeps a copy of what
 * provider A holds for that patient, verified against the pointer hashes A put on chain, and serves
 * it (replica-routes.ts) under the same consent rules when A is down.
 *
 * Consent is on chain and needs no new contract call: the patient grants B, as a viewer, the pointer
 * queries of their relationship with A (`grantViewer`). B copies exactly the pointers it is granted;
 * revoking a grant stops both the copy (the next sync drops it) and serving it (checked on every read).
 *
 * Each source provider's copy lives in its own store: a schema `replica_<address>` in B's own
 * database (PGlite or PostgreSQL alike), so B's own tables, and the hashes of B's own pointers, never
 * see a replicated row.
 */
import { isGone, isNotFound, OperationOutcomeError } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { isWithin } from '../../protocol/pointer-query.js';
import type { Db } from '../../records/db.js';
import { patientIdOfResource } from '../../records/extract.js';
import { canonicalResultSet, hashResultSet, type ResourceLike } from '../../records/hash.js';
import { raw, sql } from '../../records/sql.js';
import { RecordStore } from '../../records/store.js';
import { gatekeeperClient, GatekeeperRequestError } from '../../sdk/gatekeeper.js';
import { getPointer } from '../../sdk/relationships.js';
import { readSummary, type RelationshipState } from '../../sdk/summary.js';
import { ADDRESS_SYSTEM } from '../../protocol/identifiers.js';
import { GatekeeperError } from '../http/outcomes.js';
import { isReplicationConsent, type ReplicatedPointer, type ReplicationResult } from '../../protocol/replication-consent.js';
export type { ReplicatedPointer, ReplicationResult };

/** What B knows about each replicated patient, kept in the replica's own database. */
export const REPLICA_SCHEMA = `
CREATE TABLE IF NOT EXISTS replica_patients (
  patient text PRIMARY KEY,
  patient_id text,
  source_url text NOT NULL,
  consent text,
  synced_at timestamptz NOT NULL,
  block text NOT NULL
);
CREATE TABLE IF NOT EXISTS replica_pointers (
  patient text NOT NULL,
  query text NOT NULL,
  data_hash text NOT NULL,
  PRIMARY KEY (patient, query)
);
`;

/** One source provider's copy at this gatekeeper. */
export interface Replica {
  source: Address;
  db: Db;
  store: RecordStore;
}

export interface ReplicaSet {
  /** The copy of `source`'s records; undefined when there is none and `create` is not set. */
  open(source: Address, options?: { create?: boolean }): Promise<Replica | undefined>;
  /** Forgets the opened stores (their schemas live in the provider's Db, closed by its owner). */
  close(): Promise<void>;
}

/** The schema that holds `source`'s replica in this provider's database (hex only: a safe identifier). */
export const replicaSchema = (source: Address): string => `replica_${source.toLowerCase().slice(2)}`;

/**
 * `db` with every statement run in `schema`: each query (or transaction) is a transaction that first
 * sets `SET LOCAL search_path`, so the same unqualified table names (RecordStore's `resources`, …)
 * reach the replica's tables, on PGlite (one connection) and on a PostgreSQL pool alike, and nothing
 * leaks into the provider's own statements around it.
 */
export function scopedDb(db: Db, schema: string): Db {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`not a safe schema name: ${schema}`);
  const inSchema = <T>(fn: (tx: Db) => Promise<T>) =>
    db.transaction(async (tx) => {
      await tx.query(raw(`SET LOCAL search_path TO ${schema}`));
      return fn(tx);
    });
  return {
    kind: db.kind,
    query: (fragment) => inSchema((tx) => tx.query(fragment)),
    transaction: inSchema,
    // Inside a transaction a statement goes alone (PGlite's extended protocol): split the trusted
    // schema text at the semicolons that end its lines.
    exec: (text) =>
      inSchema(async (tx) => {
        for (const statement of text.split(/;\s*$/m).map((t) => t.trim()).filter(Boolean)) await tx.query(raw(statement));
      }),
    close: async () => undefined, // the provider's own Db is closed by its owner
  };
}

/**
 * The replica stores in the provider's own database `db`: one schema per source provider, created by
 * the first sync and opened on first use.
 */
export function openReplicas(db: Db): ReplicaSet {
  const opened = new Map<string, Promise<Replica>>();

  async function openStore(source: Address): Promise<Replica> {
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${replicaSchema(source)}`);
    const scoped = scopedDb(db, replicaSchema(source));
    await scoped.exec(REPLICA_SCHEMA);
    return { source, db: scoped, store: await RecordStore.open(scoped) };
  }

  return {
    async open(source, options = {}) {
      if (!isAddress(source)) return undefined;
      const key = source.toLowerCase();
      let replica = opened.get(key);
      if (!replica) {
        // Only a sync creates a replica: a read naming an unknown provider must not create a schema.
        const exists = async () => (await db.query(sql`SELECT 1 FROM information_schema.schemata WHERE schema_name = ${replicaSchema(source)}`)).length > 0;
        if (!options.create && !(await exists())) return undefined;
        replica = openStore(getAddress(source));
        opened.set(key, replica);
        replica.catch(() => opened.delete(key));
      }
      return replica;
    },
    async close() {
      opened.clear();
    },
  };
}

/** A patient of a replica: their chain address and the source's local Patient id. */
export interface ReplicaPatient {
  patient: Address;
  /** Undefined while every copied pointer is empty (no resource has named the patient yet). */
  patientId?: string;
  sourceUrl: string;
  /** The patient's signed consent to a full copy (replication-consent.ts), if given. */
  consent?: Hex;
}

/** The replicated patients of one source, by lower-case chain address. */
export async function replicaPatients(replica: Replica): Promise<Map<string, ReplicaPatient>> {
  const rows = await replica.db.query<{ patient: Address; patient_id: string | null; source_url: string; consent: Hex | null }>(sql`SELECT patient, patient_id, source_url, consent FROM replica_patients`);
  return new Map(rows.map((r) => [r.patient, { patient: r.patient, patientId: r.patient_id ?? undefined, sourceUrl: r.source_url, consent: r.consent ?? undefined }]));
}

/** Why a sync did not happen. `status` is the HTTP answer when a gatekeeper route ran the sync. */
export class ReplicationError extends GatekeeperError {
  constructor(
    status: number,
    message: string,
    /** The pointers whose copy was refused, with the hash the chain has and the one the data has. */
    readonly refused: { query: string; chainHash: Hex; dataHash?: Hex; reason: string }[] = [],
  ) {
    super(status, message);
    this.name = 'ReplicationError';
  }
}

/** Whether a grant's `scope` covers pointer `query`; a malformed scope (the contract cannot check it) covers nothing. */
export function scopeCovers(scope: string, query: string): boolean {
  try {
    return isWithin(query, scope);
  } catch {
    return false;
  }
}

/** The live grants that let `replica` copy each pointer (a grant on a query covers the narrower ones). */
export function consentedPointers(relationship: RelationshipState, replica: Address, now = Math.floor(Date.now() / 1000)) {
  const grants = relationship.grants.filter((g) => g.viewer.toLowerCase() === replica.toLowerCase() && (g.expiresAt === 0 || g.expiresAt > now));
  const covered = (query: string) => grants.some((g) => scopeCovers(g.scope, query));
  return {
    consented: relationship.pointers.filter((p) => covered(p.query)),
    skipped: relationship.pointers.filter((p) => !covered(p.query)).map((p) => p.query),
  };
}

/** The path of the source's export of one pointer (replica-routes.ts serves it), with the patient's consent to a full copy if any. */
export const exportPath = (patient: Address, query: string, consent?: Hex) =>
  `/replica/export/Patient/${patient.toLowerCase()}?query=${encodeURIComponent(query)}${consent ? `&consent=${consent}` : ''}`;

/**
 * Brings this provider's copy of `source`'s records for `patient` up to date: reads the relationship's
 * pointers and the patient's grants from the chain, fetches each consented pointer's result set from
 * the source's gatekeeper (signed as this provider), refuses the whole sync if any set does not hash
 * to its on-chain pointer, then writes the difference into the replica store. Idempotent. When the
 * patient consents to nothing (never did, or revoked), the copy is deleted and the sync refused.
 * `consent` (else the one stored by an earlier sync) is the patient's signature that lets the source
 * include sensitive-labelled records; without it a pointer holding any fails verification.
 *
 * @example
 * const r = await replicateFrom({ replicas: gk.replicas, ledger: providerB, sourceUrl: 'http://a:8081', source: providerA, patient });
 */
export async function replicateFrom(params: { replicas: ReplicaSet; ledger: LedgerClient; sourceUrl: string; source: Address; patient: Address; consent?: Hex }): Promise<ReplicationResult> {
  const { replicas, ledger, sourceUrl } = params;
  if (!ledger.account) throw new Error('replication needs the replicating provider account');
  if (!isAddress(params.source) || !isAddress(params.patient)) throw new ReplicationError(400, 'source and patient must be addresses');
  const me = ledger.account.address;
  const source = getAddress(params.source);
  const patient = getAddress(params.patient);
  if (source === getAddress(me)) throw new ReplicationError(400, 'a provider does not replicate its own records');

  const summary = await readSummary(ledger, patient);
  const relationship = summary.relationships.find((r) => r.provider.toLowerCase() === source.toLowerCase());
  if (!relationship) throw new ReplicationError(404, `patient ${patient} has no relationship with provider ${source}`);
  if (relationship.status === 'rejected') throw new ReplicationError(403, `patient ${patient} rejected their relationship with provider ${source}`);
  const { consented, skipped } = consentedPointers(relationship, me);
  if (consented.length === 0) {
    await forgetPatient(await replicas.open(source), patient);
    throw new ReplicationError(
      403,
      `no consent: patient ${patient} has not granted ${me} any pointer of their relationship with ${source}` +
        (relationship.pointers.length ? ` (grant it ${relationship.pointers.map((p) => `"${p.query}"`).join(', ')})` : ' (the relationship has no pointers)'),
    );
  }

  const existing = await replicas.open(source);
  const consent = params.consent ?? (existing ? (await replicaPatients(existing)).get(patient.toLowerCase())?.consent : undefined);
  if (consent && !(await isReplicationConsent(consent, { patient, source, replica: me, chainId: ledger.chainId, contract: ledger.contract }))) {
    throw new ReplicationError(400, `the replication consent is not ${patient}'s signature for copying ${source}'s records to ${me}`);
  }

  // Fetch and verify everything before writing anything: a copy is all of one block's pointers or none.
  const client = gatekeeperClient({ url: sourceUrl.replace(/\/+$/, ''), gatekeeper: source, chainId: ledger.chainId, account: ledger.account });
  const fetched = await Promise.all(consented.map(async (p) => ({ pointer: p, resources: await fetchPointer(client, exportPath(patient, p.query, consent), p.query) })));
  const refused: ReplicationError['refused'] = [];
  const pointers: ReplicatedPointer[] = [];
  for (const { pointer, resources } of fetched) {
    const dataHash = hashResultSet(resources as ResourceLike[]);
    let chainHash = pointer.dataHash;
    // The source may have published a newer hash since the summary was read: trust only the chain.
    if (dataHash !== chainHash) chainHash = (await getPointer(ledger, { relationshipId: BigInt(relationship.id), query: pointer.query })) ?? chainHash;
    if (dataHash === chainHash) pointers.push({ query: pointer.query, dataHash });
    else refused.push({ query: pointer.query, chainHash, dataHash, reason: `the data from ${source} hashes to ${dataHash}, the chain says ${chainHash}` });
  }
  if (refused.length) {
    throw new ReplicationError(
      502,
      `refused the copy from ${source}: ${refused.map((r) => `pointer "${r.query}": ${r.reason}`).join('; ')}` +
        (consent
          ? ' (records changed behind the source gatekeeper)'
          : " (records changed behind the source gatekeeper, or sensitive-labelled ones were withheld: a full copy needs the patient's signed replication consent)"),
      refused,
    );
  }
  const all = new Map<string, Resource>();
  for (const { resources } of fetched) for (const r of resources) all.set(`${r.resourceType}/${r.id}`, r);
  const patientIds = new Set([...all.values()].map((r) => patientIdOfResource(r)));
  if (patientIds.size > 1 || patientIds.has(undefined)) throw new ReplicationError(502, `the data from ${source} names more than one patient`);

  const replica = (await replicas.open(source, { create: true }))!;
  return exclusively(replica, async () => {
    const previous = (await replicaPatients(replica)).get(patient.toLowerCase());
    const patientId = [...patientIds][0] ?? previous?.patientId;
    const counts = await writeCopy(replica, patientId, [...all.values()]);
    await replica.db.transaction(async (tx) => {
      await tx.query(sql`INSERT INTO replica_patients (patient, patient_id, source_url, consent, synced_at, block)
        VALUES (${patient.toLowerCase()}, ${patientId ?? null}, ${sourceUrl}, ${consent ?? null}, now(), ${summary.blockNumber})
        ON CONFLICT (patient) DO UPDATE SET patient_id = EXCLUDED.patient_id, source_url = EXCLUDED.source_url, consent = EXCLUDED.consent,
          synced_at = EXCLUDED.synced_at, block = EXCLUDED.block`);
      await tx.query(sql`DELETE FROM replica_pointers WHERE patient = ${patient.toLowerCase()}`);
      for (const p of pointers) await tx.query(sql`INSERT INTO replica_pointers (patient, query, data_hash) VALUES (${patient.toLowerCase()}, ${p.query}, ${p.dataHash})`);
    });
    // The stored copy must hash as the chain says, store-assigned meta and all.
    for (const p of pointers) {
      const stored = patientId ? hashResultSet((await replica.store.resultSet(p.query, patientId)) as ResourceLike[]) : hashResultSet([]);
      if (stored !== p.dataHash) throw new ReplicationError(500, `the stored copy of pointer "${p.query}" hashes to ${stored}, not ${p.dataHash}`);
    }
    return { source, patient, patientId, block: summary.blockNumber, pointers, skipped, ...counts };
  });
}

const writers = new WeakMap<Replica, Promise<unknown>>();

/** Runs the writes of one sync at a time per replica: two syncs diffing the same rows would collide. */
function exclusively<T>(replica: Replica, fn: () => Promise<T>): Promise<T> {
  const next = (writers.get(replica) ?? Promise.resolve()).catch(() => undefined).then(fn);
  writers.set(replica, next);
  return next;
}

/** Every resource of one pointer, from the source gatekeeper's export. */
async function fetchPointer(client: ReturnType<typeof gatekeeperClient>, path: string, query: string): Promise<Resource[]> {
  try {
    const { body } = await client.get<Bundle>(path);
    return (body.entry ?? []).map((e) => e.resource!).filter(Boolean);
  } catch (err) {
    if (err instanceof GatekeeperRequestError) throw new ReplicationError(err.status === 403 || err.status === 410 ? 403 : 502, `the source refused pointer "${query}": ${err.message}`);
    throw new ReplicationError(502, `the source gatekeeper is unreachable: ${(err as Error).message}`);
  }
}

/** Marks a copy with where it came from (meta.source is left out of the data hash for this). */
const asCopy = (r: Resource, source: Address): Resource => ({ ...r, meta: { ...r.meta, source: `${ADDRESS_SYSTEM}:${source.toLowerCase()}` } });

/** Makes the replica hold exactly `resources` for the patient: creates, updates, deletes the rest. */
async function writeCopy(replica: Replica, patientId: string | undefined, resources: Resource[]): Promise<{ created: number; updated: number; deleted: number }> {
  const { store, db, source } = replica;
  const held = patientId ? await db.query<{ resource_type: string; id: string }>(sql`SELECT resource_type, id FROM resources WHERE patient_id = ${patientId}`) : [];
  const wanted = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  const fresh: Resource[] = [];
  let updated = 0;
  for (const r of resources) {
    const current = await readOrMissing(store, r.resourceType, r.id!);
    if (current === 'never') fresh.push(asCopy(r, source));
    else if (current === 'deleted' || canonicalResultSet([current as ResourceLike]) !== canonicalResultSet([r as ResourceLike])) {
      await store.update(asCopy(r, source)); // an update also brings a deleted id back
      updated++;
    }
  }
  if (fresh.length) await store.createMany(fresh);
  const gone = held.filter((h) => !wanted.has(`${h.resource_type}/${h.id}`));
  if (gone.length) {
    // Erased, not marked deleted: the source keeps the history; a copy the patient no longer
    // consents to, or that the source dropped, must not linger in resource_history.
    const types = gone.map((h) => h.resource_type);
    const ids = gone.map((h) => h.id);
    await db.transaction(async (tx) => {
      for (const table of ['resources', 'resource_history']) {
        await tx.query(sql`DELETE FROM ${raw(table)} WHERE (resource_type, id) IN (SELECT * FROM unnest(${types}::text[], ${ids}::text[]))`);
      }
    });
  }
  return { created: fresh.length, updated, deleted: gone.length };
}

async function readOrMissing(store: RecordStore, type: string, id: string): Promise<Resource | 'never' | 'deleted'> {
  try {
    return await store.read(type, id);
  } catch (err) {
    if (err instanceof OperationOutcomeError && isNotFound(err.outcome)) return 'never';
    if (err instanceof OperationOutcomeError && isGone(err.outcome)) return 'deleted';
    throw err;
  }
}

/** Deletes a patient's copy (their consent is gone): resources, then what B knew about them. */
async function forgetPatient(replica: Replica | undefined, patient: Address): Promise<void> {
  if (!replica) return;
  await exclusively(replica, async () => {
    const known = (await replicaPatients(replica)).get(patient.toLowerCase());
    if (!known) return;
    await writeCopy(replica, known.patientId, []);
    await replica.db.query(sql`DELETE FROM replica_pointers WHERE patient = ${patient.toLowerCase()}`);
    await replica.db.query(sql`DELETE FROM replica_patients WHERE patient = ${patient.toLowerCase()}`);
  });
}
