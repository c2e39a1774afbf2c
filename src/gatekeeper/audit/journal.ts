/**
 * What must be durable before the gatekeeper answers: the nonce of each signed request (replay
 * protection across restarts, nonces.ts) and the audit row of each decision (audit.ts). Both go
 * through one group commit per database: whatever arrives while a write is in progress, or in the
 * same event-loop turn (a couple of milliseconds under load), is written by the next single
 * statement, so a busy gatekeeper pays one commit for many requests while every caller still waits
 * for its own row.
 *
 * Write-ahead order: a request's nonce is committed before the request is decided (a nonce refused by
 * the database — used before a restart, or by another gatekeeper on the same database — is a replay),
 * and its audit row is committed before the answer is sent. A nonce and an audit row of different
 * requests share a commit whenever they meet in the queue.
 *
 * Nonces seen by this process are also kept in memory until they expire, so a replay is refused
 * without a database round trip, and two copies of one request in the same batch cannot both pass.
 *
 * With a spool (audit-spool.ts: a gatekeeper with a PGlite data directory) audit rows go there instead,
 * and reach audit_log in the background: whatever reads audit_log flushes the journal first.
 */
import type { Db } from '../../records/db.js';
import { join, sql } from '../../records/sql.js';
import { openAuditSpool, type AuditRow, type AuditSpool } from './audit-spool.js';

export interface Journal {
  /** Records a signed request's nonce durably; false when it was used before (a replay). */
  claimNonce(address: string, nonce: string, expiry: number): Promise<boolean>;
  /** Appends one audit_log row (built by audit.ts) durably. */
  appendAudit(row: AuditRow): Promise<void>;
  /** Moves every spooled audit row into audit_log (call before reading it). */
  flush(): Promise<void>;
  /** Flushes and closes the spool (the database stays open). */
  close(): Promise<void>;
}

/** Rows of each kind per statement: a few parameters a row keeps it far below PostgreSQL's 65,535. */
const BATCH_ROWS = 500;
/** A commit of at least this many rows means load: the next one gathers for `lingerMs`. */
const CROWD = 4;
/** How often (seconds) the in-memory nonces are swept of expired ones. */
const SWEEP_SECONDS = 10;

interface Pending<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}
type NonceClaim = Pending<boolean> & { address: string; nonce: string; expiry: number };
type AuditAppend = Pending<void> & { row: AuditRow };

const journals = new WeakMap<Db, Journal>();

/** The journal of `db` (one per database, so every route of a gatekeeper shares its commits). */
export function journalOf(db: Db): Journal {
  let journal = journals.get(db);
  if (!journal) journals.set(db, (journal = createJournal(db)));
  return journal;
}

/** Opens `db`'s journal, its audit rows spooled in `spoolDir` (PGlite's data directory; audit-spool.ts) when given. */
export async function openJournal(db: Db, options: { spoolDir?: string } = {}): Promise<Journal> {
  const journal = createJournal(db, { spool: options.spoolDir ? await openAuditSpool(db, options.spoolDir) : undefined });
  journals.set(db, journal);
  return journal;
}

export function createJournal(db: Db, options: { lingerMs?: number; spool?: AuditSpool } = {}): Journal {
  const lingerMs = options.lingerMs ?? 2;
  const spool = options.spool;
  let nonces: NonceClaim[] = [];
  let audits: AuditAppend[] = [];
  let busy = false;
  /** Rows waiting when the last commit began: a measure of load. */
  let lastBatch = 0;
  /** `address:nonce` → expiry (unix seconds) of every nonce claimed by this process and not yet expired. */
  const recent = new Map<string, number>();
  let sweepAt = 0;

  function start() {
    if (busy) return;
    busy = true;
    // Wait one event-loop turn, so that requests whose I/O is already in join this commit. Under load
    // (the last commit was a crowd) wait a little longer: commits, not rows, are what cost (an
    // in-process PGlite spends most of a small INSERT on the statement), and a waiting request costs
    // nothing while the others are served.
    if (lastBatch >= CROWD) setTimeout(() => void drain(), lingerMs);
    else setImmediate(() => void drain());
  }

  async function drain() {
    while (nonces.length || audits.length) {
      lastBatch = nonces.length + audits.length;
      const claims = nonces.slice(0, BATCH_ROWS);
      const appends = audits.slice(0, BATCH_ROWS);
      nonces = nonces.slice(claims.length);
      audits = audits.slice(appends.length);
      try {
        const fresh = await write(claims, appends);
        for (const c of claims) c.resolve(fresh.has(`${c.address}:${c.nonce}`));
        for (const a of appends) a.resolve();
      } catch (err) {
        for (const p of [...claims, ...appends]) p.reject(err);
      }
    }
    busy = false;
  }

  /** One statement (so one commit); returns the `address:nonce` keys that were new. */
  async function write(claims: NonceClaim[], appends: AuditAppend[]): Promise<Set<string>> {
    const claimed = join(claims.map((c) => sql`(${c.address}, ${c.nonce}, to_timestamp(${c.expiry}))`), ', ');
    const logged = join(appends.map(({ row: r }) => sql`(${r.recorded}, ${r.patientKey}, ${r.requester}, ${r.event}, ${r.leaf})`), ', ');
    const insertNonces = sql`INSERT INTO gatekeeper_nonces (address, nonce, expires_at) VALUES ${claimed} ON CONFLICT DO NOTHING RETURNING address, nonce`;
    const insertAudits = sql`INSERT INTO audit_log (recorded, patient_id, requester, event, leaf) VALUES ${logged}`;
    let rows: { address: string; nonce: string }[] = [];
    if (claims.length && appends.length) rows = await db.query(sql`WITH claimed AS (${insertNonces}), logged AS (${insertAudits}) SELECT address, nonce FROM claimed`);
    else if (claims.length) rows = await db.query(insertNonces);
    else await db.query(insertAudits);
    return new Set(rows.map((r) => `${r.address}:${r.nonce}`));
  }

  function sweep(now: number) {
    if (now < sweepAt) return;
    sweepAt = now + SWEEP_SECONDS;
    for (const [key, expiry] of recent) if (expiry < now) recent.delete(key);
  }

  return {
    async claimNonce(address, nonce, expiry) {
      sweep(Math.floor(Date.now() / 1000));
      const claim = { address: address.toLowerCase(), nonce: nonce.toLowerCase(), expiry };
      const key = `${claim.address}:${claim.nonce}`;
      if (recent.has(key)) return false;
      recent.set(key, expiry);
      try {
        return await new Promise<boolean>((resolve, reject) => {
          nonces.push({ ...claim, resolve, reject });
          start();
        });
      } catch (err) {
        recent.delete(key); // never stored: the same request may be tried again
        throw err;
      }
    },
    appendAudit(row) {
      if (spool) return spool.append(row);
      return new Promise<void>((resolve, reject) => {
        audits.push({ row, resolve, reject });
        start();
      });
    },
    flush: async () => spool?.flush(),
    close: async () => spool?.close(),
  };
}
