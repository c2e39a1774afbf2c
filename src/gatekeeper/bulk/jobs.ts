/**
 * Bulk export jobs kept in the provider's database, so a job and its files outlive the process that
 * ran it (https://hl7.org/fhir/uv/bulkdata/STU2/export.html). `bulk_exports` holds the request and
 * where it stands; `bulk_export_files` what each NDJSON file it produced holds (the files themselves
 * are on disk, files.ts), removed with the job when the client cancels or deletes it.
 */
import type { Address } from 'viem';
import type { Db } from '../../records/db.js';
import { sql } from '../../records/sql.js';

export const BULK_SCHEMA = `
CREATE TABLE IF NOT EXISTS bulk_exports (
  id text PRIMARY KEY,
  requester text NOT NULL,
  request text NOT NULL,
  params jsonb NOT NULL,
  status text NOT NULL,
  progress text NOT NULL DEFAULT '',
  transaction_time timestamptz NOT NULL,
  error text
);
CREATE TABLE IF NOT EXISTS bulk_export_files (
  job_id text NOT NULL REFERENCES bulk_exports (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  kind text NOT NULL,
  resource_type text NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (job_id, seq)
);
`;

/** What a kick-off asked for, once checked (kick-off.ts). */
export interface ExportParams {
  /** Patient/$export: every patient the requester may see; group: the Group's members only. */
  level: 'patient' | 'group';
  /** The Group's members (local Patient ids), fixed at kick-off. */
  members?: string[];
  /** Resource types to export, in order. */
  types: string[];
  /** Whether `types` came from `_type` (an ungranted one is then reported, not silently skipped). */
  typesAsked: boolean;
  /** `_since`: only resources updated after this instant. */
  since?: string;
}

export type JobStatus = 'in-progress' | 'completed' | 'failed';

export interface ExportJob {
  id: string;
  requester: Address;
  /** The kick-off URL, absolute (the manifest's `request`). */
  request: string;
  params: ExportParams;
  status: JobStatus;
  progress: string;
  transactionTime: string;
  error?: string;
}

export interface ExportFile {
  seq: number;
  /** `output` (resources) or `error` (OperationOutcomes). */
  kind: 'output' | 'error';
  type: string;
  count: number;
}

interface JobRow {
  id: string;
  requester: string;
  request: string;
  params: ExportParams;
  status: JobStatus;
  progress: string;
  transaction_time: Date | string;
  error: string | null;
}

const toJob = (r: JobRow): ExportJob => ({
  id: r.id,
  requester: r.requester as Address,
  request: r.request,
  params: r.params,
  status: r.status,
  progress: r.progress,
  transactionTime: new Date(r.transaction_time).toISOString(),
  error: r.error ?? undefined,
});

export async function insertJob(db: Db, job: Omit<ExportJob, 'status' | 'progress' | 'error'>): Promise<void> {
  await db.query(sql`INSERT INTO bulk_exports (id, requester, request, params, status, transaction_time)
    VALUES (${job.id}, ${job.requester.toLowerCase()}, ${job.request}, ${JSON.stringify(job.params)}::jsonb, 'in-progress', ${job.transactionTime}::timestamptz)`);
}

/** The job `id` of `requester`; undefined when there is none (or it is someone else's). */
export async function findJob(db: Db, id: string, requester: Address): Promise<ExportJob | undefined> {
  const [row] = await db.query<JobRow>(sql`SELECT * FROM bulk_exports WHERE id = ${id} AND requester = ${requester.toLowerCase()}`);
  return row && toJob(row);
}

/** Jobs left in progress (by a process that stopped): to run again. */
export async function unfinishedJobs(db: Db): Promise<ExportJob[]> {
  return (await db.query<JobRow>(sql`SELECT * FROM bulk_exports WHERE status = 'in-progress'`)).map(toJob);
}

export async function setProgress(db: Db, id: string, progress: string): Promise<void> {
  await db.query(sql`UPDATE bulk_exports SET progress = ${progress} WHERE id = ${id}`);
}

export async function finishJob(db: Db, id: string, outcome: { error?: string }): Promise<void> {
  const status: JobStatus = outcome.error === undefined ? 'completed' : 'failed';
  await db.query(sql`UPDATE bulk_exports SET status = ${status}, progress = '', error = ${outcome.error ?? null} WHERE id = ${id}`);
}

/** Removes the job and its files; false when it did not exist. */
export async function deleteJob(db: Db, id: string): Promise<boolean> {
  const rows = await db.query<{ id: string }>(sql`DELETE FROM bulk_exports WHERE id = ${id} RETURNING id`);
  return rows.length > 0;
}

/** Drops what an interrupted run wrote, before running the job again. */
export async function clearFiles(db: Db, id: string): Promise<void> {
  await db.query(sql`DELETE FROM bulk_export_files WHERE job_id = ${id}`);
}

export async function addFile(db: Db, jobId: string, file: ExportFile): Promise<void> {
  await db.query(sql`INSERT INTO bulk_export_files (job_id, seq, kind, resource_type, count)
    VALUES (${jobId}, ${file.seq}, ${file.kind}, ${file.type}, ${file.count})`);
}

export async function listFiles(db: Db, jobId: string): Promise<ExportFile[]> {
  const rows = await db.query<{ seq: number; kind: 'output' | 'error'; resource_type: string; count: number }>(
    sql`SELECT seq, kind, resource_type, count FROM bulk_export_files WHERE job_id = ${jobId} ORDER BY seq`,
  );
  return rows.map((r) => ({ seq: r.seq, kind: r.kind, type: r.resource_type, count: r.count }));
}

export async function findFile(db: Db, jobId: string, seq: number): Promise<ExportFile | undefined> {
  const [r] = await db.query<{ seq: number; kind: 'output' | 'error'; resource_type: string; count: number }>(
    sql`SELECT seq, kind, resource_type, count FROM bulk_export_files WHERE job_id = ${jobId} AND seq = ${seq}`,
  );
  return r && { seq: r.seq, kind: r.kind, type: r.resource_type, count: r.count };
}
