/**
 * The exports a gatekeeper runs: jobs started here, and jobs a stopped process left in progress
 * (run again from the start when this process first touches bulk export, their requester resolved
 * afresh from the chain — a grant revoked meanwhile is honoured).
 */
import type { Address } from 'viem';
import type { Requester } from '../../consent/policy.js';
import { resolveRequester } from '../auth/requester.js';
import type { GatekeeperContext } from '../http/context.js';
import { runExport, type Run } from './exporter.js';
import { removeExportFiles } from './files.js';
import { BULK_SCHEMA, clearFiles, deleteJob, finishJob, unfinishedJobs, type ExportJob } from './jobs.js';

interface BulkState {
  ready: Promise<void>;
  runs: Map<string, Run & { done: Promise<void> }>;
}

const states = new WeakMap<GatekeeperContext, BulkState>();

function start(gk: GatekeeperContext, state: BulkState, job: ExportJob, requester: Requester): void {
  const run: Run = { cancelled: false };
  // Started on the next turn, so the kick-off is answered first.
  const done = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => runExport(gk, job, requester, run, gk.bulk ?? {}))
    // A cancelled run may have written a file after DELETE removed the job's directory.
    .then(() => (run.cancelled ? removeExportFiles(gk, job.id) : undefined))
    .finally(() => state.runs.delete(job.id));
  state.runs.set(job.id, Object.assign(run, { done }));
}

async function resume(gk: GatekeeperContext, state: BulkState): Promise<void> {
  await gk.db.exec(BULK_SCHEMA);
  for (const job of await unfinishedJobs(gk.db)) {
    try {
      await clearFiles(gk.db, job.id);
      await removeExportFiles(gk, job.id);
      const { requester } = await resolveRequester(gk.store, gk.chain, job.requester as Address);
      start(gk, state, job, requester);
    } catch (err) {
      await finishJob(gk.db, job.id, { error: `could not resume: ${(err as Error).message}` });
    }
  }
}

/** This gatekeeper's bulk state; the first call creates the tables and resumes unfinished jobs. */
export async function bulkState(gk: GatekeeperContext): Promise<BulkState> {
  let state = states.get(gk);
  if (!state) {
    const created: BulkState = { ready: Promise.resolve(), runs: new Map() };
    created.ready = resume(gk, created);
    states.set(gk, (state = created));
  }
  await state.ready;
  return state;
}

export async function startExport(gk: GatekeeperContext, job: ExportJob, requester: Requester): Promise<void> {
  start(gk, await bulkState(gk), job, requester);
}

/** Stops the job if it runs here, and removes it with its files; false when there was no such job. */
export async function cancelExport(gk: GatekeeperContext, jobId: string): Promise<boolean> {
  const state = await bulkState(gk);
  const run = state.runs.get(jobId);
  if (run) run.cancelled = true;
  const existed = await deleteJob(gk.db, jobId);
  await removeExportFiles(gk, jobId);
  return existed;
}

/** Waits for the running exports to end (for a clean shutdown and for tests). */
export async function settleExports(gk: GatekeeperContext): Promise<void> {
  const state = states.get(gk);
  if (state) await Promise.all([...state.runs.values()].map((r) => r.done));
}
