/**
 * Where a gatekeeper keeps its exports' NDJSON files: `{directory}/{job id}/{n}.ndjson`, on disk beside
 * the PGlite data directory (or under the system's temporary directory for a PostgreSQL or in-memory
 * store). Written once, read whole and streamed to the client: in the database, each file would go
 * through the WAL and TOAST, which cost more than the export itself.
 */
import { createReadStream, mkdtempSync, type ReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatekeeperContext } from '../http/context.js';

const directories = new WeakMap<GatekeeperContext, string>();

/** This gatekeeper's export directory: `bulk.directory`, or a fresh temporary one. */
function exportDirectory(gk: GatekeeperContext): string {
  let dir = gk.bulk?.directory ?? directories.get(gk);
  if (!dir) directories.set(gk, (dir = mkdtempSync(join(tmpdir(), 'medledger-bulk-'))));
  return dir;
}

const filePath = (gk: GatekeeperContext, jobId: string, seq: number) => join(exportDirectory(gk), jobId, `${seq}.ndjson`);

export async function writeExportFile(gk: GatekeeperContext, jobId: string, seq: number, body: string): Promise<void> {
  await mkdir(join(exportDirectory(gk), jobId), { recursive: true });
  await writeFile(filePath(gk, jobId, seq), body);
}

export function readExportFile(gk: GatekeeperContext, jobId: string, seq: number): ReadStream {
  return createReadStream(filePath(gk, jobId, seq));
}

/** Removes a job's files (cancelled, deleted, or to be written again). */
export async function removeExportFiles(gk: GatekeeperContext, jobId: string): Promise<void> {
  await rm(join(exportDirectory(gk), jobId), { recursive: true, force: true });
}
