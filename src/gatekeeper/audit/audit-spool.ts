/**
 * The audit log's spool, for a gatekeeper with a data directory (PGlite): each decision's audit row is
 * appended to a file in that directory before the answer is sent, and moved into audit_log in large
 * batches in the background. An in-process PGlite spends most of a small INSERT on the statement and
 * its commit, and under load a group commit gathers only as many rows as there are requests in flight;
 * one write() per event-loop turn costs a fraction of that, and a COPY of a few hundred rows from the
 * file a fraction of the INSERTs it replaces.
 *
 * Durability is PGlite's own: it runs with fsync off, so a commit is a write() to the OS, which a
 * kill -9 of the gatekeeper does not undo; the spool's write() is the same.
 *
 * The spool is a series of segment files of about MOVE_ROWS rows, each row a line in COPY text format
 * with its audit_log `seq` assigned here, in the order written. A full segment is moved by one COPY
 * (one transaction) that the database reads from the file itself, then deleted, so audit_log always
 * holds a prefix of what was spooled: at start a segment whose first row is in audit_log was moved
 * already and is deleted, the others are moved, and a line cut short by a crash is dropped first (its
 * request was never answered).
 */
import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../records/db.js';
import { raw, sql } from '../../records/sql.js';

/** One audit_log row (audit.ts builds them). */
export interface AuditRow {
  recorded: string;
  patientKey: string | null;
  requester: string;
  /** The AuditEvent as canonical JSON: the text its leaf hashes. */
  event: string;
  leaf: string;
}

export interface AuditSpool {
  /** Resolves once the row is in the spool. */
  append(row: AuditRow): Promise<void>;
  /** Moves every row spooled so far into audit_log. */
  flush(): Promise<void>;
  /** Flushes (what it cannot move waits for the next start), then closes the spool. */
  close(): Promise<void>;
}

/** Rows per segment, so per COPY: the more, the cheaper a row, and the longer the event loop waits on it. */
const MOVE_ROWS = 256;
/** A segment with fewer rows is moved once it is this old (a quiet gatekeeper's anchor still sees them soon). */
const MOVE_AFTER_MS = 200;
/** After a failed move, the next try waits this long. */
const RETRY_MS = 1000;
const PREFIX = 'medledger-audit.spool.';

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\uFFFD' };
/** A COPY text field. PostgreSQL text holds no NUL: one (only ever from a hostile URL) becomes U+FFFD. */
const field = (s: string | null) => (s === null ? '\\N' : /[\\\t\n\r\0]/.test(s) ? s.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c]!) : s);

/** The seq of the line at `at` of a segment. */
const seqAt = (bytes: Buffer, at: number) => Number(bytes.toString('latin1', at, bytes.indexOf(0x09, at)));

/** Where segment `slot` lies, and the COPY that moves it into audit_log. */
interface Segments {
  file(slot: number): string;
  copy(slot: number): Promise<unknown>;
}

async function segmentsOf(db: Db, dataDir: string): Promise<Segments> {
  // Where PGlite sees its data directory (its own file system mounts it).
  const [mount] = await db.query<{ dir: string }>(sql`SELECT current_setting('data_directory') AS dir`);
  return {
    file: (slot) => join(dataDir, `${PREFIX}${slot}`),
    copy: (slot) => db.query(raw(`COPY audit_log (seq, recorded, patient_id, requester, leaf, event) FROM '${mount!.dir}/${PREFIX}${slot}'`)),
  };
}

/**
 * Moves what an earlier run left in the spool: a segment whose first row is in audit_log already is
 * deleted, the others are moved oldest first, cut at their last whole line. Returns the last seq.
 */
async function moveLeftovers(db: Db, dataDir: string, { file, copy }: Segments): Promise<number> {
  const [stored] = await db.query<{ max: string }>(sql`SELECT coalesce(max(seq), 0)::text AS max FROM audit_log`);
  let seq = Number(stored!.max);
  const found = readdirSync(dataDir)
    .filter((f) => f.startsWith(PREFIX))
    .map((f) => {
      const bytes = readFileSync(join(dataDir, f));
      const end = bytes.lastIndexOf(0x0a) + 1; // past it, a line cut short by a crash
      return { slot: Number(f.slice(PREFIX.length)), bytes, end, first: end ? seqAt(bytes, 0) : 0 };
    })
    .sort((a, b) => a.first - b.first);
  for (const { slot, bytes, end, first } of found) {
    if (end && first > seq) {
      if (end < bytes.length) truncateSync(file(slot), end);
      await copy(slot);
      seq = seqAt(bytes, bytes.lastIndexOf(0x0a, end - 2) + 1);
    }
    unlinkSync(file(slot));
  }
  return seq;
}

/** Opens the spool in `dataDir`, the directory of PGlite database `db`, moving what an earlier run left in it. */
export async function openAuditSpool(db: Db, dataDir: string): Promise<AuditSpool> {
  if (db.kind !== 'pglite') throw new Error('an audit spool needs PGlite, which reads it from its own data directory');
  const { file, copy } = await segmentsOf(db, dataDir);
  let seq = await moveLeftovers(db, dataDir, { file, copy });

  let queue: { line: string; resolve(): void; reject(err: unknown): void }[] = [];
  /** Full segments (their slots), oldest first, not yet in audit_log. */
  const sealed: number[] = [];
  // Segment files are named by slot, the lowest free one: PGlite's file system keeps a node for every
  // name it has opened, so names are reused rather than new ones made for ever.
  const freeSlot = () => {
    let slot = 0;
    while (sealed.includes(slot)) slot++;
    return slot;
  };
  /** The segment being written: its slot, file (opened at its first row), rows and bytes. */
  let active = { slot: 0, fd: undefined as number | undefined, rows: 0, bytes: 0 };
  let moving: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  /** One write() for every row appended during this event-loop turn. */
  function write() {
    const batch = queue;
    if (!batch.length) return;
    queue = [];
    const bytes = Buffer.from(batch.map((a) => a.line).join(''));
    try {
      active.fd ??= openSync(file(active.slot), 'w');
      for (let at = 0; at < bytes.length; ) at += writeSync(active.fd, bytes, at);
    } catch (err) {
      // Whatever part was written goes, so that the segment holds whole lines only.
      try {
        if (active.fd !== undefined) ftruncateSync(active.fd, active.bytes);
      } catch {
        // a line cut short is dropped at the next start
      }
      for (const a of batch) a.reject(err);
      return;
    }
    active.rows += batch.length;
    active.bytes += bytes.length;
    for (const a of batch) a.resolve();
    if (active.rows >= MOVE_ROWS) {
      clearTimeout(timer);
      timer = undefined;
      seal();
      void move().catch(() => undefined);
    } else timer ??= setTimeout(() => void flush().catch(() => undefined), MOVE_AFTER_MS).unref();
  }

  /** Closes the segment being written, to be moved; the next row starts another. */
  function seal() {
    if (active.fd === undefined) return;
    closeSync(active.fd);
    sealed.push(active.slot);
    active = { slot: freeSlot(), fd: undefined, rows: 0, bytes: 0 };
  }

  /** Moves the sealed segments, oldest first; one move at a time. */
  function move(): Promise<void> {
    if (moving || !sealed.length) return moving ?? Promise.resolve();
    moving = (async () => {
      try {
        while (sealed.length) {
          await copy(sealed[0]!);
          unlinkSync(file(sealed[0]!));
          sealed.shift();
        }
      } catch (err) {
        if (!closed) timer ??= setTimeout(() => void flush().catch(() => undefined), RETRY_MS).unref();
        throw err;
      } finally {
        moving = undefined;
      }
    })();
    return moving;
  }

  async function flush() {
    clearTimeout(timer);
    timer = undefined;
    seal();
    await moving?.catch(() => undefined); // a move in progress may have started before the last seal
    await move();
  }

  return {
    append(row) {
      if (closed) return Promise.reject(new Error('the audit spool is closed'));
      const line = `${++seq}\t${row.recorded}\t${field(row.patientKey)}\t${field(row.requester)}\t${row.leaf}\t${field(row.event)}\n`;
      return new Promise((resolve, reject) => {
        if (queue.push({ line, resolve, reject }) === 1) setImmediate(write);
      });
    },
    flush,
    close() {
      closing ??= (async () => {
        write();
        closed = true;
        await flush().finally(() => clearTimeout(timer));
      })();
      return closing;
    },
  };
}
