/**
 * Runs one bulk export: for each resource type, every resource the requester's grants let through
 * (the same consent filter as every search, http/read.ts filterFor), within the job's scope (the
 * Group's members, or any patient's compartment), updated after `_since` and by the transaction time,
 * written as NDJSON files (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#file-request).
 *
 * Resources are read a batch of patients at a time, straight as JSON text (no parse and re-serialise):
 * the (resource_type, patient_id) index finds them, where paging the whole type in id order made
 * PostgreSQL fetch and sort every granted row again for each page. The patients are those the
 * requester's grants name (all of them for the provider), within the Group when there is one; the
 * consent filter is still ANDed into every query, so the list only narrows what is read. Each patient
 * whose resources went into the files gets one AuditEvent, as a search would give them.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { Requester } from '../../consent/policy.js';
import { and, sql, type Sql } from '../../records/sql.js';
import type { GatekeeperContext } from '../http/context.js';
import { typeRefusal } from '../http/outcomes.js';
import { writeExportFile } from './files.js';
import type { BulkOptions } from './options.js';
import { addFile, finishJob, setProgress, type ExportFile, type ExportJob } from './jobs.js';


/** A running job: `cancelled` is set by DELETE, and the run stops at its next page. */
export interface Run {
  cancelled: boolean;
}

/** The rows of the job's scope that are neither type- nor patient-specific. */
function scopeWhere(job: ExportJob): Sql[] {
  const { params, transactionTime } = job;
  const parts: Sql[] = [sql`last_updated <= ${transactionTime}::timestamptz`];
  if (params.since) parts.push(sql`last_updated > ${params.since}::timestamptz`);
  return parts;
}

/** The patients whose compartments the job may reach, sorted: the requester's grantors (or everyone, for the provider), within the Group. */
async function patientsInScope(gk: GatekeeperContext, job: ExportJob, requester: Requester): Promise<string[]> {
  let ids: string[];
  if (requester.role === 'patient') ids = [requester.patientId];
  else if (requester.role === 'viewer') ids = [...requester.grants, ...(requester.delegations ?? []), ...(requester.emergencies ?? [])].map((g) => g.patientId);
  else ids = (await gk.db.query<{ patient_id: string }>(sql`SELECT DISTINCT patient_id FROM resources WHERE patient_id IS NOT NULL`)).map((r) => r.patient_id);
  const members = job.params.level === 'group' ? new Set(job.params.members) : undefined;
  return [...new Set(ids)].filter((id) => !members || members.has(id)).sort();
}

/** Collects NDJSON lines of one type and stores them a file at a time. */
class FileWriter {
  private lines: string[] = [];
  seq = 0;
  constructor(
    private readonly gk: GatekeeperContext,
    private readonly jobId: string,
    private readonly fileLines: number,
  ) {}

  /** Adds a line; true when the file is full and should be flushed. */
  push(line: string): boolean {
    this.lines.push(line);
    return this.lines.length >= this.fileLines;
  }

  async flush(type: string, kind: ExportFile['kind']): Promise<void> {
    if (this.lines.length === 0) return;
    const file: ExportFile = { seq: ++this.seq, kind, type, count: this.lines.length };
    await writeExportFile(this.gk, this.jobId, file.seq, `${this.lines.join('\n')}\n`);
    await addFile(this.gk.db, this.jobId, file);
    this.lines = [];
  }
}

/** Why a type asked for with `_type` is not exported: one OperationOutcome line for the error file. */
function refusalLine(requester: Requester, gk: GatekeeperContext, type: string): string {
  const { policy } = gk.policies.filter(requester, type, Math.floor(Date.now() / 1000));
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: typeRefusal(policy, type).message }] };
  return JSON.stringify(outcome);
}

/**
 * Exports `job` for `requester`; stops quietly once `run.cancelled` (the job row is gone by then).
 * Returns the patients whose resources it wrote, or undefined when cancelled.
 */
async function exportAll(gk: GatekeeperContext, job: ExportJob, requester: Requester, run: Run, options: BulkOptions): Promise<Set<string> | undefined> {
  const batch = options.patientsPerQuery ?? 50;
  const files = new FileWriter(gk, job.id, options.fileLines ?? 50_000);
  const errors: string[] = [];
  const patients = new Set<string>();
  const scope = scopeWhere(job);
  const inScope = await patientsInScope(gk, job, requester);
  let exported = 0;
  for (const [i, type] of job.params.types.entries()) {
    // Compiled per type, so a grant that expires mid-export stops the types after it.
    const { filter } = gk.policies.filter(requester, type, Math.floor(Date.now() / 1000));
    if (!filter) {
      if (job.params.typesAsked) errors.push(refusalLine(requester, gk, type));
      continue;
    }
    await setProgress(gk.db, job.id, `${type}: type ${i + 1} of ${job.params.types.length}, ${exported} resources so far`);
    const where = and([sql`resource_type = ${type}`, filter, ...scope]);
    for (let from = 0; from < inScope.length; from += batch) {
      await options.pace?.(job.id);
      if (run.cancelled) return undefined;
      const ids = inScope.slice(from, from + batch);
      const rows = await gk.db.query<{ patient_id: string; json: string }>(
        sql`SELECT patient_id, content::text AS json FROM resources WHERE ${where} AND patient_id = ANY(${ids}::text[]) ORDER BY patient_id, id`,
      );
      for (const r of rows) {
        if (files.push(r.json)) await files.flush(type, 'output');
        patients.add(r.patient_id);
      }
      exported += rows.length;
    }
    await files.flush(type, 'output');
  }
  if (run.cancelled) return undefined;
  for (const line of errors) if (files.push(line)) await files.flush('OperationOutcome', 'error');
  await files.flush('OperationOutcome', 'error');
  return patients;
}

/** Runs `job` to its end: files, one AuditEvent per patient exported, then completed (or failed). */
export async function runExport(gk: GatekeeperContext, job: ExportJob, requester: Requester, run: Run, options: BulkOptions): Promise<void> {
  let patients: Set<string> | undefined;
  try {
    patients = await exportAll(gk, job, requester, run, options);
    if (!patients) return;
    const path = new URL(job.request).pathname + new URL(job.request).search;
    for (const patientId of patients) {
      await gk.audit({ requester: job.requester, interaction: 'operation', method: 'GET', path, patientId, permitted: true, status: 200 });
    }
    if (!run.cancelled) await finishJob(gk.db, job.id, {});
  } catch (err) {
    // A cancelled job's row is gone: its writes fail, and nobody is left to tell.
    if (!run.cancelled) await finishJob(gk.db, job.id, { error: (err as Error).message }).catch(() => undefined);
  }
}
