/**
 * The audit spool (src/gatekeeper/audit-spool.ts): a row acknowledged to its request is in audit_log
 * after a kill -9 and a restart, exactly once, in the order spooled; a line cut short by the crash is
 * dropped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AUDIT_SCHEMA } from '../src/gatekeeper/audit/audit.js';
import { openJournal } from '../src/gatekeeper/audit/journal.js';
import { openDb } from '../src/records/db.js';
import { sql } from '../src/records/sql.js';
import { tempDir } from '../bench/harness/chain.js';
import { REPO } from './helpers/cli.js';

/** The spool's segment files in `dataDir`. */
const segments = (dataDir: string) => readdirSync(dataDir).filter((f) => f.startsWith('medledger-audit.spool.'));

/** Opens the directory as a gatekeeper would (replaying the spool), moves everything, and returns audit_log. */
async function reopen(dataDir: string) {
  const db = await openDb({ dataDir });
  await db.exec(AUDIT_SCHEMA);
  const journal = await openJournal(db, { spoolDir: dataDir });
  await journal.flush();
  const rows = await db.query<{ seq: string; patient_id: string; event: string; leaf: string }>(sql`SELECT seq::text AS seq, patient_id, event, leaf FROM audit_log ORDER BY audit_log.seq`);
  return { db, journal, rows };
}

test('every acknowledged row survives kill -9, once and in order; a torn last line is dropped', async () => {
  const dataDir = tempDir('medledger-spool-');
  const acked = new Set<number>();
  for (const [first, stopAt] of [[0, 300], [1e6, 1500]] as const) {
    // Killed while rows are being spooled and (past 256 rows) moved into audit_log.
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/helpers/spool-child.ts'), dataDir, String(first)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    const before = acked.size;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        const lines = (buffered + chunk.toString()).split('\n');
        buffered = lines.pop()!;
        for (const l of lines) if (l.startsWith('ack ')) acked.add(Number(l.slice(4)));
        if (acked.size - before >= stopAt) child.kill('SIGKILL');
      });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
  }
  // A write cut short by the crash: never acknowledged, never moved.
  const left = segments(dataDir);
  assert.ok(left.length > 0, 'the kill left rows in the spool');
  appendFileSync(join(dataDir, left.at(-1)!), '999999\t2020-01-01T00:00:00.000Z\tp1\t0xabc\tleaf\t{"torn":');
  const { db, journal, rows } = await reopen(dataDir);
  try {
    const seen = rows.map((r) => (JSON.parse(r.event) as { n: number }).n);
    assert.equal(new Set(seen).size, seen.length, 'no row twice');
    const stored = new Set(seen);
    for (const n of acked) assert.ok(stored.has(n), `acknowledged row ${n} is in audit_log`);
    const seqs = rows.map((r) => Number(r.seq));
    // In the order spooled: the first child's rows, then the second's; the text as it was.
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
    assert.deepEqual(JSON.parse(rows[0]!.event), { n: 0, text: 'tab\there "quoted" \\ back' });
    assert.deepEqual(segments(dataDir), [], 'all of it moved');
    // Appends go on after the replay, above every seq replayed.
    await journal.appendAudit({ recorded: new Date().toISOString(), patientKey: null, requester: '0xdef', event: '{"after":true}', leaf: 'l' });
    await journal.flush();
    const [last] = await db.query<{ seq: string; event: string }>(sql`SELECT seq::text AS seq, event FROM audit_log ORDER BY audit_log.seq DESC LIMIT 1`);
    assert.equal(last!.event, '{"after":true}');
    assert.ok(Number(last!.seq) > seqs[seqs.length - 1]!);
  } finally {
    await journal.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a hostile patient key or event (NUL, tab, newline, backslash) is stored and moved, not stuck', async () => {
  const dataDir = tempDir('medledger-spool-hostile-');
  const db = await openDb({ dataDir });
  await db.exec(AUDIT_SCHEMA);
  const journal = await openJournal(db, { spoolDir: dataDir });
  try {
    const event = JSON.stringify({ reason: 'a\u0000b\tc\nd\\e\ud800' });
    await Promise.all([
      journal.appendAudit({ recorded: new Date().toISOString(), patientKey: 'x\u0000y\tz\n\\', requester: '0xabc', event, leaf: 'l1' }),
      journal.appendAudit({ recorded: new Date().toISOString(), patientKey: null, requester: '0xabc', event: '{}', leaf: 'l2' }),
    ]);
    await journal.flush();
    const rows = await db.query<{ patient_id: string | null; event: string }>(sql`SELECT patient_id, event FROM audit_log ORDER BY audit_log.seq`);
    assert.deepEqual(rows, [
      { patient_id: 'x\uFFFDy\tz\n\\', event },
      { patient_id: null, event: '{}' },
    ]);
  } finally {
    await journal.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
