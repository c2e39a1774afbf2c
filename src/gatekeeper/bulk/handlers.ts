/**
 * Bulk Data export routes (FHIR Bulk Data Access 2.0, https://hl7.org/fhir/uv/bulkdata/STU2/export.html):
 *
 * - kick-off `GET Patient/$export` and `GET Group/{id}/$export` with `Prefer: respond-async` →
 *   202 and `Content-Location` of the job's status;
 * - `GET $export-status/{job}` → 202 with `X-Progress` while it runs, then the manifest (200), or an
 *   OperationOutcome when it failed; `DELETE` on it cancels the job (or deletes a finished one's files);
 * - `GET $export-file/{job}/{n}.ndjson` → one NDJSON file.
 *
 * A job, its status and its files are the requester's alone (another requester gets 404), and every
 * file request is authenticated again and checked against the requester's grants as they are now.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SUPPORTED_TYPES } from '../../records/fhir.js';
import { fhirBaseUrl } from '../http/base-url.js';
import { FHIR_BASE, type Answer, type Ctx, type GatekeeperContext } from '../http/context.js';
import { GatekeeperError, typeRefusal } from '../http/outcomes.js';
import { filterFor } from '../http/read.js';
import { groupMembers } from './cohort.js';
import { readExportFile } from './files.js';
import { findFile, findJob, insertJob, listFiles, type ExportJob, type ExportParams } from './jobs.js';
import { parseKickOff } from './kick-off.js';
import { bulkState, cancelExport, startExport } from './runner.js';

const informational = (diagnostics: string) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics }] });

async function kickOff(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx, scope: Pick<ExportParams, 'level' | 'members'>): Promise<Answer> {
  const asked = parseKickOff(req);
  const now = Math.floor(Date.now() / 1000);
  const readable = (t: string) => gk.policies.filter(ctx.requester, t, now).filter !== undefined;
  const candidates = asked.types ?? [...SUPPORTED_TYPES];
  // Refused now when the requester may read none of it; the types left out otherwise are reported
  // in the manifest's error file when `_type` named them.
  if (!candidates.some(readable)) throw typeRefusal(gk.policies.filter(ctx.requester, candidates[0]!, now).policy, candidates[0]!);
  await bulkState(gk);
  const job: Omit<ExportJob, 'status' | 'progress' | 'error'> = {
    id: randomUUID(),
    requester: ctx.address,
    request: `${fhirBaseUrl(req)}${req.url.slice(FHIR_BASE.length)}`,
    params: { ...scope, types: asked.types ?? candidates.filter(readable), typesAsked: asked.types !== undefined, since: asked.since },
    transactionTime: new Date().toISOString(),
  };
  await insertJob(gk.db, job);
  await startExport(gk, { ...job, status: 'in-progress', progress: '' }, ctx.requester);
  return { status: 202, body: informational(`export ${job.id} accepted`), headers: { 'content-location': `${fhirBaseUrl(req)}/$export-status/${job.id}` } };
}

/** GET /fhir/R4/Patient/$export: every patient's compartment, as far as the requester's grants reach. */
export async function exportPatients(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  return kickOff(gk, req, ctx, { level: 'patient' });
}

/** GET /fhir/R4/Group/{id}/$export: the Group's members only (cohort.ts). */
export async function exportGroup(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  parseKickOff(req); // a bad request is refused before the Group is looked up
  const members = await groupMembers(gk, (req.params as { id: string }).id);
  return kickOff(gk, req, ctx, { level: 'group', members });
}

async function requesterJob(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<ExportJob> {
  await bulkState(gk);
  const job = await findJob(gk.db, (req.params as { job: string }).job, ctx.address);
  if (!job) throw new GatekeeperError(404, 'no such export (finished ones are deleted with DELETE; each is its requester\'s alone)');
  return job;
}

/** GET /fhir/R4/$export-status/{job} */
export async function exportStatus(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const job = await requesterJob(gk, req, ctx);
  if (job.status === 'in-progress') return { status: 202, body: undefined, headers: { 'x-progress': job.progress || 'queued', 'retry-after': '1' } };
  if (job.status === 'failed') throw new GatekeeperError(500, `export failed: ${job.error}`);
  const files = await listFiles(gk.db, job.id);
  const url = (n: number) => `${fhirBaseUrl(req)}/$export-file/${job.id}/${n}.ndjson`;
  const manifest = {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: files.filter((f) => f.kind === 'output').map((f) => ({ type: f.type, url: url(f.seq), count: f.count })),
    error: files.filter((f) => f.kind === 'error').map((f) => ({ type: 'OperationOutcome', url: url(f.seq) })),
  };
  return { body: manifest, headers: { 'content-type': 'application/json' } };
}

/** DELETE /fhir/R4/$export-status/{job}: cancels a running export, or deletes a finished one's files. */
export async function deleteExport(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const job = await requesterJob(gk, req, ctx);
  await cancelExport(gk, job.id);
  return { status: 202, body: informational(`export ${job.id} ${job.status === 'in-progress' ? 'cancelled' : 'deleted'}`) };
}

/** GET /fhir/R4/$export-file/{job}/{n}.ndjson */
export async function exportFile(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const job = await requesterJob(gk, req, ctx);
  const seq = /^([1-9]\d{0,8})\.ndjson$/.exec((req.params as { file: string }).file)?.[1];
  const file = job.status === 'completed' && seq ? await findFile(gk.db, job.id, Number(seq)) : undefined;
  if (!file) throw new GatekeeperError(404, 'no such file in this export');
  // The grants that covered the export must still cover its type now: a revoke stops the download.
  if (file.kind === 'output') filterFor(gk, ctx, file.type);
  return { body: readExportFile(gk, job.id, file.seq), headers: { 'content-type': 'application/fhir+ndjson' } };
}
