/**
 * The journal (nonces and audit rows, group-committed): many requests share one statement, yet each
 * nonce is stored before its request is decided and each audit row before its answer, so replays are
 * refused after a restart and every read is in the audit log, cached or not.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJournal, journalOf } from '../src/gatekeeper/audit/journal.js';
import { NONCE_SCHEMA } from '../src/gatekeeper/auth/nonces.js';
import { AUDIT_SCHEMA } from '../src/gatekeeper/audit/audit.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import { signRequest } from '../src/protocol/request-signature.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import type { Db } from '../src/records/db.js';
import { sql, type Sql } from '../src/records/sql.js';
import { findRelationship, grantViewer, type LedgerClient } from '../src/sdk/index.js';
import { openTestDb, testDatabase } from './helpers/db.js';
import { PEPPER, startFixture, tempDir, type Fixture } from '../bench/harness/chain.js';
import { clientFor } from './helpers/gatekeeper.js';
import { labResult as lab } from '../bench/harness/linked-patients.js';

let f: Fixture;
let provider: LedgerClient;
let patient: LedgerClient;
let reader: LocalAccount;
let target: { dataDir: string } | { url: string };
let gk: RunningGatekeeper;
let observationId: string;
/** A bare database with the journal's tables (no gatekeeper). */
let raw: Db;

before(async () => {
  const opening = openTestDb().then(async (db) => {
    await db.exec(NONCE_SCHEMA + AUDIT_SCHEMA);
    raw = db;
  });
  f = await startFixture();
  provider = await f.newProvider();
  patient = await f.newPatient(provider, 'urn:test|journal-patient');
  reader = await f.newAccount();
  // A data directory (or a schema) that outlives one gatekeeper: restarts open it again.
  const database = await testDatabase();
  target = 'dataDir' in database ? { dataDir: tempDir('medledger-gk-journal-') } : database;
  gk = await startGatekeeper({ ledger: provider, database: target });
  const patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Journal' }] })).id!;
  await linkPatient(gk.store, provider, patientId, 'urn:test|journal-patient', PEPPER);
  observationId = (await clientFor(gk, provider, provider.account!).post<Observation>('/fhir/R4/Observation', lab(patientId, 90))).body.id!;
  const rel = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
  await grantViewer(patient, { relationshipId: rel, viewer: reader.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
  await opening;
});
after(async () => {
  await raw?.close();
  await gk?.close();
  await f?.close();
});

/** Counts the statements `db` runs. */
function counted(db: Db): { db: Db; statements: () => number } {
  let n = 0;
  return {
    db: {
      ...db,
      query: <T>(fragment: Sql) => {
        n++;
        return db.query<T>(fragment);
      },
    },
    statements: () => n,
  };
}

const auditRows = async (db: Db) => Number((await db.query<{ n: string }>(sql`SELECT count(*)::text AS n FROM audit_log`))[0]!.n);

/** Audit rows stored durably: in audit_log, or still in the gatekeeper's spool (audit-spool.ts), by seq. */
async function storedAuditRows(gk: RunningGatekeeper): Promise<number> {
  // The file first: a line moved meanwhile is in audit_log by the time it is queried.
  const dir = 'dataDir' in target ? target.dataDir : undefined;
  const files = dir ? readdirSync(dir).filter((f) => f.startsWith('medledger-audit.spool.')) : [];
  const spool = files.flatMap((f) => readFileSync(join(dir!, f), 'utf8').split('\n').slice(0, -1));
  const stored = await gk.db.query<{ seq: string }>(sql`SELECT seq::text AS seq FROM audit_log`);
  return new Set([...spool.map((line) => line.split('\t')[0]), ...stored.map((r) => r.seq)]).size;
}

test('concurrent nonces and audit rows share statements; each claim learns whether it was new', async () => {
  const { db, statements } = counted(raw);
  const journal = createJournal(db);
  const nonce = (i: number) => `0x${i.toString(16).padStart(64, '0')}`;
  const expiry = Math.floor(Date.now() / 1000) + 60;
  const row = (i: number) => ({ recorded: new Date().toISOString(), patientKey: 'p1', requester: '0xabc', event: JSON.stringify({ i }), leaf: `leaf${i}` });
  const claims = Array.from({ length: 40 }, (_, i) => journal.claimNonce('0xAbC', nonce(i), expiry));
  const audits = Array.from({ length: 40 }, (_, i) => journal.appendAudit(row(i)));
  assert.deepEqual(await Promise.all(claims), Array(40).fill(true));
  await Promise.all(audits);
  assert.ok(statements() <= 2, `80 rows in ${statements()} statements`);
  assert.equal(await auditRows(raw), 40);
  // The same nonces again, from a journal that never saw them (as after a restart): all refused by
  // the database; a copy within one batch is refused too.
  const fresh = createJournal(raw);
  const again = await Promise.all([...Array.from({ length: 40 }, (_, i) => fresh.claimNonce('0xabc', nonce(i), expiry)), fresh.claimNonce('0xabc', nonce(99), expiry), fresh.claimNonce('0xabc', nonce(99), expiry)]);
  assert.deepEqual(again, [...Array(40).fill(false), true, false]);
});

test('a failed write rejects its callers, and their nonces can be claimed again', async () => {
  const journal = createJournal(raw);
  const expiry = Math.floor(Date.now() / 1000) + 60;
  const nonce = `0x${'11'.repeat(32)}`;
  // An audit row that does not fit the table fails the whole statement, nonce included.
  const bad = journal.appendAudit({ recorded: 'not a time', patientKey: null, requester: '0xabc', event: '{}', leaf: 'leaf' });
  const claim = journal.claimNonce('0xabc', nonce, expiry);
  await assert.rejects(bad);
  await assert.rejects(claim);
  assert.equal(await journal.claimNonce('0xabc', nonce, expiry), true);
  assert.equal(await journal.claimNonce('0xabc', nonce, expiry), false);
});

test('copies of one signed request sent at once: exactly one is answered', async () => {
  const path = `/fhir/R4/Observation/${observationId}`;
  const headers = await signRequest(reader, { method: 'GET', path, gatekeeper: provider.account!.address, chainId: provider.chainId });
  const statuses = await Promise.all(Array.from({ length: 6 }, () => fetch(`${gk.url}${path}`, { headers }).then((r) => r.status)));
  assert.deepEqual([...statuses].sort(), [200, 401, 401, 401, 401, 401]);
});

test('every read is audited, cached or not, signed or token', async () => {
  const client = clientFor(gk, provider, reader);
  const path = `/fhir/R4/Observation/${observationId}`;
  await client.getWithToken(path); // warm every cache
  const before = await storedAuditRows(gk);
  const reads = await Promise.all([
    ...Array.from({ length: 20 }, () => client.getWithToken<Observation>(path)),
    ...Array.from({ length: 5 }, () => client.get<Observation>(path)),
    ...Array.from({ length: 5 }, () => client.getWithToken<Bundle>('/fhir/R4/Observation?category=laboratory')),
  ]);
  for (const r of reads) assert.equal(r.status, 200);
  // The answers came after their rows were stored: counted right away, nothing pending.
  assert.equal((await storedAuditRows(gk)) - before, 30);
  await journalOf(gk.db).flush();
  assert.equal((await auditRows(gk.db)) - before, 30);
  const [last] = await gk.db.query<{ requester: string; permitted: string }>(sql`SELECT requester, event::jsonb->>'outcome' AS permitted FROM audit_log ORDER BY seq DESC LIMIT 1`);
  assert.deepEqual(last, { requester: reader.address.toLowerCase(), permitted: '0' });
});

test('nonces accepted under load survive a restart: every one of them is refused afterwards', async () => {
  const path = `/fhir/R4/Observation/${observationId}`;
  const fields = { method: 'GET', path, gatekeeper: provider.account!.address, chainId: provider.chainId };
  const signed = await Promise.all(Array.from({ length: 12 }, () => signRequest(reader, fields)));
  const send = (url: string, headers: Record<string, string>) => fetch(`${url}${path}`, { headers }).then((r) => r.status);
  assert.deepEqual(await Promise.all(signed.map((h) => send(gk.url, h))), Array(12).fill(200));
  await gk.close();
  gk = await startGatekeeper({ ledger: provider, database: target });
  assert.deepEqual(await Promise.all(signed.map((h) => send(gk.url, h))), Array(12).fill(401));
});
