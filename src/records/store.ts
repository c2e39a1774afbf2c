/**
 * The provider's records store: FHIR create / read / vread / update / delete / history / search
 * (https://hl7.org/fhir/R4/http.html) over one Db, plus the reads the gatekeeper needs: a patient's
 * everything, the patient linked to an identifier, and the full result set of an on-chain pointer query.
 *
 * `resources` holds the current version with its search columns; `resource_history` every version.
 * Both are written in one transaction, so a failed write stores nothing.
 */
import { randomUUID } from 'node:crypto';
import { OperationOutcomeError, badRequest, conflict, gone, multipleMatches, notFound, preconditionFailed, type WithId } from '@medplum/core';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { parsePointerQuery } from '../protocol/pointer-query.js';
import type { Db } from './db.js';
import { extractColumns, type SearchColumns } from './extract.js';
import { ID_PATTERN, SUPPORTED_TYPES, isSupportedType, loadDefinitions, validate, type SupportedType } from './fhir.js';
import { SCHEMA } from './schema.js';
import { parseSearch, pointerFilter } from './search.js';
import { and, raw, sql, type Sql } from './sql.js';

export interface SearchResult<T extends Resource = Resource> {
  resources: T[];
  /** Every match, not just this page (with any filter applied). */
  total: number;
}

export interface FilterOptions {
  /** A WHERE fragment over the resources columns (the consent filter), ANDed into the query. */
  filter?: Sql;
}

/** Rows per multi-row INSERT: 13 placeholders a row stays well under PostgreSQL's 65,535. */
const BATCH_ROWS = 500;

export class RecordStore {
  private writes = 0;
  private constructor(private readonly db: Db) {}

  /** Counts writes through this store: a cache keyed by it is dropped by any create, update or delete. */
  get generation(): number {
    return this.writes;
  }

  /** Creates the tables if needed and loads the FHIR definitions. */
  static async open(db: Db): Promise<RecordStore> {
    await db.exec(SCHEMA);
    loadDefinitions();
    return new RecordStore(db);
  }

  /**
   * Runs `fn` with a store whose every read and write is one database transaction: all of it is
   * stored, or (when `fn` throws) none of it. For FHIR transaction Bundles
   * (https://hl7.org/fhir/R4/http.html#trules).
   */
  async transaction<T>(fn: (store: RecordStore) => Promise<T>): Promise<T> {
    try {
      return await writing(() => this.db.transaction((tx) => fn(new RecordStore(tx))));
    } finally {
      this.writes++; // even a rolled-back transaction may have been read half-way by a cache
    }
  }

  /** https://hl7.org/fhir/R4/http.html#create — validates, assigns an id (uuid) if absent and version 1. */
  async create<T extends Resource>(resource: T): Promise<WithId<T>> {
    const [saved] = await this.createMany([resource]);
    return saved!;
  }

  /**
   * Creates many resources with multi-row INSERTs in one transaction (all or nothing). `validate:
   * false` is for trusted bulk fills (benchmarks, migrations) only: search columns are still extracted.
   */
  async createMany<T extends Resource>(resources: readonly T[], options: { validate?: boolean } = {}): Promise<WithId<T>[]> {
    const now = new Date().toISOString();
    const rows = resources.map((r) => prepare({ ...r, id: r.id ?? randomUUID() }, 1, now, options.validate ?? true));
    const keys = new Set<string>();
    for (const { resource } of rows) {
      const key = `${resource.resourceType}/${resource.id}`;
      if (keys.has(key)) throw new OperationOutcomeError(conflict(`${key} is given twice`));
      keys.add(key);
    }
    await writing(() =>
      this.db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += BATCH_ROWS) {
          const batch = rows.slice(i, i + BATCH_ROWS);
          // An id seen before, even deleted, is taken: its history continues only through update.
          const [taken] = await tx.query<{ resource_type: string; id: string }>(sql`SELECT resource_type, id FROM resource_history
            WHERE (resource_type, id) IN (SELECT * FROM unnest(${batch.map((r) => r.resource.resourceType)}::text[], ${batch.map((r) => r.resource.id!)}::text[]))
            LIMIT 1`);
          if (taken) throw new OperationOutcomeError(conflict(`${taken.resource_type}/${taken.id} already exists`));
          await writeRows(tx, batch, 'insert');
        }
      }),
    );
    this.writes++;
    return rows.map((r) => r.resource as WithId<T>);
  }

  /**
   * https://hl7.org/fhir/R4/http.html#update — a new version; `ifMatch` (versionId or W/"n") → 412 on
   * mismatch. An id never seen is created with the client's id (update as create, http.html#upsert)
   * unless `mustExist`; `created` tells which happened.
   */
  async update<T extends Resource>(resource: T, options: { ifMatch?: string; mustExist?: boolean } = {}): Promise<WithId<T>> {
    return (await this.upsert(resource, options)).resource;
  }

  /** update(), also saying whether the resource was created (201) rather than updated (200). */
  async upsert<T extends Resource>(resource: T, options: { ifMatch?: string; mustExist?: boolean } = {}): Promise<{ resource: WithId<T>; created: boolean }> {
    const type = checkType(resource.resourceType);
    if (!ID_PATTERN.test(resource.id ?? '')) throw new OperationOutcomeError(badRequest('Update needs a valid resource id', 'id'));
    const saved = await writing(() =>
      this.db.transaction(async (tx) => {
        const last = await lastVersion(tx, type, resource.id!, !options.mustExist);
        const expected = options.ifMatch?.replace(/^W\/"(.*)"$/, '$1');
        if (expected !== undefined && expected !== String(last.version)) throw new OperationOutcomeError(preconditionFailed);
        // Updating a deleted resource brings it back as a new version (http.html#delete).
        const row = prepare(resource, last.version + 1, new Date().toISOString(), true);
        await writeRows(tx, [row], 'upsert');
        return { resource: row.resource as WithId<T>, created: last.version === 0 };
      }),
    );
    this.writes++;
    return saved;
  }

  /**
   * Many updates (as creates when the id is new) in one transaction with multi-row writes: what a
   * transaction Bundle's PUT entries need. Each item's `ifMatch` as for update; `validate: false` when
   * the caller has validated already. Two writers of one id at once: one of them gets a 409.
   */
  async upsertMany(items: readonly { resource: Resource; ifMatch?: string }[], options: { validate?: boolean } = {}): Promise<{ resource: Resource; created: boolean }[]> {
    if (items.length === 0) return [];
    for (const { resource } of items) {
      checkType(resource.resourceType);
      if (!ID_PATTERN.test(resource.id ?? '')) throw new OperationOutcomeError(badRequest('Update needs a valid resource id', 'id'));
    }
    const saved = await writing(() =>
      this.db.transaction(async (tx) => {
        const last = await tx.query<{ resource_type: string; id: string; version_id: number }>(sql`SELECT resource_type, id, max(version_id)::int AS version_id
          FROM resource_history WHERE (resource_type, id) IN (SELECT * FROM unnest(${items.map((i) => i.resource.resourceType)}::text[], ${items.map((i) => i.resource.id!)}::text[]))
          GROUP BY resource_type, id`);
        const versions = new Map(last.map((r) => [`${r.resource_type}/${r.id}`, r.version_id]));
        const now = new Date().toISOString();
        const rows = items.map(({ resource, ifMatch }) => {
          const version = versions.get(`${resource.resourceType}/${resource.id}`) ?? 0;
          const expected = ifMatch?.replace(/^W\/"(.*)"$/, '$1');
          if (expected !== undefined && expected !== String(version)) throw new OperationOutcomeError(preconditionFailed);
          return { row: prepare(resource, version + 1, now, options.validate ?? true), created: version === 0 };
        });
        for (let i = 0; i < rows.length; i += BATCH_ROWS) await writeRows(tx, rows.slice(i, i + BATCH_ROWS).map((r) => r.row), 'upsert');
        return rows.map((r) => ({ resource: r.row.resource, created: r.created }));
      }),
    );
    this.writes++;
    return saved;
  }

  /**
   * https://hl7.org/fhir/R4/http.html#delete — records a deleted version; 404 if unknown, deleting
   * twice is a no-op. Returns the version it deleted (undefined when it was deleted already), so the
   * pointers that covered it can be updated. `ifMatch` as for update.
   */
  async delete(type: string, id: string, options: { ifMatch?: string } = {}): Promise<Resource | undefined> {
    checkType(type);
    const deleted = await writing(() =>
      this.db.transaction(async (tx) => {
        const last = await lastVersion(tx, type, id);
        const expected = options.ifMatch?.replace(/^W\/"(.*)"$/, '$1');
        if (expected !== undefined && (last.deleted || expected !== String(last.version))) throw new OperationOutcomeError(preconditionFailed);
        if (last.deleted) return undefined;
        const [row] = await tx.query<{ content: Resource }>(sql`DELETE FROM resources WHERE resource_type = ${type} AND id = ${id} RETURNING content`);
        await tx.query(sql`INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted)
          VALUES (${type}, ${id}, ${last.version + 1}, ${new Date().toISOString()}, true)`);
        return row?.content;
      }),
    );
    this.writes++;
    return deleted;
  }

  /**
   * https://hl7.org/fhir/R4/http.html#history (type level): the latest `count` versions of every
   * resource of `type`, newest first; a deletion is `{ deleted }` with no resource.
   */
  async historyType(type: string, count: number): Promise<HistoryEntry[]> {
    checkType(type);
    const rows = await this.db.query<{ id: string; version_id: number; last_updated: Date; content: Resource | null; deleted: boolean }>(sql`
      SELECT id, version_id, last_updated, content, deleted FROM resource_history WHERE resource_type = ${type}
      ORDER BY last_updated DESC, id, version_id DESC LIMIT ${count}`);
    return rows.map((r) => ({ type, id: r.id, versionId: String(r.version_id), lastUpdated: new Date(r.last_updated).toISOString(), resource: r.content ?? undefined, deleted: r.deleted }));
  }

  /** https://hl7.org/fhir/R4/http.html#read — 404 unknown, 410 deleted. */
  async read<T extends Resource = Resource>(type: string, id: string): Promise<T> {
    checkType(type);
    const [row] = await this.db.query<{ content: T }>(sql`SELECT content FROM resources WHERE resource_type = ${type} AND id = ${id}`);
    if (row) return row.content;
    throw new OperationOutcomeError((await lastHistoryRow(this.db, type, id))?.deleted ? gone : notFound);
  }

  /** https://hl7.org/fhir/R4/http.html#vread — 410 for the version that records a deletion. */
  async vread<T extends Resource = Resource>(type: string, id: string, versionId: string): Promise<T> {
    checkType(type);
    if (!/^[1-9]\d{0,8}$/.test(versionId)) throw new OperationOutcomeError(notFound);
    const [row] = await this.db.query<{ content: T | null; deleted: boolean }>(sql`SELECT content, deleted FROM resource_history
      WHERE resource_type = ${type} AND id = ${id} AND version_id = ${Number(versionId)}`);
    if (!row) throw new OperationOutcomeError(notFound);
    if (row.deleted || !row.content) throw new OperationOutcomeError(gone);
    return row.content;
  }

  /** https://hl7.org/fhir/R4/http.html#history — every stored version, newest first (deletions carry no resource and are left out). */
  async history<T extends Resource = Resource>(type: string, id: string): Promise<T[]> {
    checkType(type);
    const rows = await this.db.query<{ content: T | null }>(sql`SELECT content FROM resource_history
      WHERE resource_type = ${type} AND id = ${id} ORDER BY version_id DESC`);
    if (rows.length === 0) throw new OperationOutcomeError(notFound);
    return rows.flatMap((r) => (r.content ? [r.content] : []));
  }

  /** A FHIR search (search.ts) with `filter` ANDed in, so the total and the pages respect it. */
  async search<T extends Resource = Resource>(type: string, query: string | URLSearchParams, options: FilterOptions = {}): Promise<SearchResult<T>> {
    const s = parseSearch(type, query);
    const where = options.filter ? and([s.where, options.filter]) : s.where;
    const countAll = async () =>
      (await this.db.query<{ total: number }>(sql`SELECT count(*)::int AS total FROM resources WHERE ${where}`))[0]!.total;
    if (s.count === 0) return { resources: [], total: await countAll() };
    const rows = await this.db.query<{ content: T; total: number }>(sql`
      SELECT content, (count(*) OVER ())::int AS total FROM resources WHERE ${where}
      ORDER BY ${s.orderBy} LIMIT ${s.count} OFFSET ${s.offset}`);
    // Past the last page the window has no row to report the total on.
    const total = rows[0]?.total ?? (s.offset > 0 ? await countAll() : 0);
    return { resources: rows.map((r) => r.content), total };
  }

  /** https://hl7.org/fhir/R4/patient-operation-everything.html — the Patient first, then everything that is theirs. */
  async everything(patientId: string, options: FilterOptions = {}): Promise<Resource[]> {
    await this.read('Patient', patientId);
    // Naming every type lets PostgreSQL 15 use the (resource_type, patient_id) index without a skip scan.
    const where = and([sql`resource_type = ANY(${[...SUPPORTED_TYPES]}::text[])`, sql`patient_id = ${patientId}`, ...(options.filter ? [options.filter] : [])]);
    const rows = await this.db.query<{ content: Resource }>(sql`SELECT content FROM resources WHERE ${where}
      ORDER BY resource_type <> 'Patient', resource_type, id`);
    return rows.map((r) => r.content);
  }

  /** Every current resource of `type` carrying any of the identifier `tokens` (`system|value` or `value`): many conditional lookups in one query. */
  async withIdentifiers<T extends Resource = Resource>(type: string, tokens: readonly string[]): Promise<T[]> {
    checkType(type);
    const rows = await this.db.query<{ content: T }>(sql`SELECT content FROM resources WHERE resource_type = ${type} AND identifiers && ${[...tokens]}::text[]`);
    return rows.map((r) => r.content);
  }

  /** The Patient with identifier `system|value`; 412 when several have it. */
  async findPatientByIdentifier(system: string, value: string): Promise<Patient | undefined> {
    const rows = await this.db.query<{ content: Patient }>(sql`SELECT content FROM resources
      WHERE resource_type = 'Patient' AND identifiers @> ARRAY[${`${system}|${value}`}::text] LIMIT 2`);
    if (rows.length > 1) throw new OperationOutcomeError(multipleMatches);
    return rows[0]?.content;
  }

  /**
   * Every resource (no paging) of `patientId` that an on-chain pointer query such as
   * `Observation?category=laboratory` names: the set whose hashResultSet the pointer carries.
   */
  async resultSet(pointerQuery: string, patientId: string): Promise<Resource[]> {
    let query;
    try {
      query = parsePointerQuery(pointerQuery);
    } catch (err) {
      throw new OperationOutcomeError(badRequest((err as Error).message), err);
    }
    const rows = await this.db.query<{ content: Resource }>(sql`SELECT content FROM resources WHERE ${pointerFilter(query, patientId)} ORDER BY id`);
    return rows.map((r) => r.content);
  }

  /** How many current (not deleted) resources the store holds, of one type or all. */
  async countResources(type?: string): Promise<number> {
    const where = type === undefined ? raw('TRUE') : sql`resource_type = ${type}`;
    return (await this.db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM resources WHERE ${where}`))[0]!.n;
  }
}

/** One version in a history: the resource, or a deletion. */
export interface HistoryEntry {
  type: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  resource?: Resource;
  deleted: boolean;
}

interface Row<T extends Resource = Resource> {
  resource: T;
  columns: SearchColumns;
}

/** The stored form: a copy with id and meta set, validated, and its search columns. */
function prepare<T extends Resource>(resource: T, version: number, now: string, check: boolean): Row<T> {
  const stored = structuredClone(resource);
  stored.meta = { ...stored.meta, versionId: String(version), lastUpdated: now };
  if (check) validate(stored);
  else if (!ID_PATTERN.test(stored.id ?? '')) throw new OperationOutcomeError(badRequest('Invalid id', 'id'));
  return { resource: stored, columns: extractColumns(stored) };
}

/** Writes the current rows (new, or replacing the current version) and their history rows. */
async function writeRows(db: Db, rows: readonly Row[], mode: 'insert' | 'upsert'): Promise<void> {
  const current = rows.map(({ resource: r, columns: c }) => [
    r.resourceType, r.id, Number(r.meta!.versionId), r.meta!.lastUpdated, JSON.stringify(r), c.patientId,
    c.codes, c.categories, c.security, c.identifiers, c.status, c.dateStart, c.dateEnd,
  ]);
  await db.query(sql`INSERT INTO resources (resource_type, id, version_id, last_updated, content, patient_id,
      codes, categories, security, identifiers, status, date_start, date_end)
    VALUES ${values(current, ['text', 'text', 'int', 'timestamptz', 'jsonb', 'text', 'text[]', 'text[]', 'text[]', 'text[]', 'text', 'timestamptz', 'timestamptz'])}
    ${mode === 'insert' ? raw('') : raw(`ON CONFLICT (resource_type, id) DO UPDATE SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
      content = EXCLUDED.content, patient_id = EXCLUDED.patient_id, codes = EXCLUDED.codes, categories = EXCLUDED.categories,
      security = EXCLUDED.security, identifiers = EXCLUDED.identifiers, status = EXCLUDED.status,
      date_start = EXCLUDED.date_start, date_end = EXCLUDED.date_end`)}`);
  const history = current.map((row) => row.slice(0, 5));
  await db.query(sql`INSERT INTO resource_history (resource_type, id, version_id, last_updated, content)
    VALUES ${values(history, ['text', 'text', 'int', 'timestamptz', 'jsonb'])}`);
}

/** `($1::t1, $2::t2, …), (…)` built directly: folding thousands of fragments with sql`` would be quadratic. */
function values(rows: readonly unknown[][], types: readonly string[]): Sql {
  const strings: string[] = [];
  const flat: unknown[] = [];
  let text = '';
  rows.forEach((row, i) => {
    row.forEach((value, j) => {
      strings.push(`${text}${i > 0 && j === 0 ? ', ' : ''}${j === 0 ? '(' : ', '}`);
      text = `::${types[j]}${j === row.length - 1 ? ')' : ''}`;
      flat.push(value);
    });
  });
  strings.push(text);
  return { strings, values: flat };
}

/** Maps a duplicate key (two writers creating the same id or version at once) to 409. */
async function writing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: unknown }).code === '23505') throw new OperationOutcomeError(conflict('Concurrent write; retry'), err);
    throw err;
  }
}

function checkType(type: string): SupportedType {
  if (!isSupportedType(type)) throw new OperationOutcomeError(badRequest(`Unsupported resource type ${JSON.stringify(type)}`));
  return type;
}

/** The last version (the current row locked for the transaction) and whether it is a deletion; 404 when it never existed (version 0 with `orNew`). */
async function lastVersion(db: Db, type: string, id: string, orNew = false): Promise<{ version: number; deleted: boolean }> {
  const [row] = await db.query<{ version_id: number }>(
    sql`SELECT version_id FROM resources WHERE resource_type = ${type} AND id = ${id} FOR UPDATE`,
  );
  if (row) return { version: row.version_id, deleted: false };
  const last = await lastHistoryRow(db, type, id);
  if (!last) {
    if (orNew) return { version: 0, deleted: false };
    throw new OperationOutcomeError(notFound);
  }
  return { version: last.version_id, deleted: true };
}

async function lastHistoryRow(db: Db, type: string, id: string): Promise<{ version_id: number; deleted: boolean } | undefined> {
  const [last] = await db.query<{ version_id: number; deleted: boolean }>(sql`SELECT version_id, deleted FROM resource_history
    WHERE resource_type = ${type} AND id = ${id} ORDER BY version_id DESC LIMIT 1`);
  return last;
}
