/**
 * A study round is released once per site, restarts included (issue 16 §5): the site records in its
 * own database that a round started before computing its update, so a gatekeeper restarted mid-round
 * (its secure-aggregation keys lost with its memory) refuses to start that round again and release a
 * second, freshly noised update for one round's on-chain privacy spend. Runs on PGlite and on
 * PostgreSQL (npm test's second pass).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256, stringToHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { openDb } from '../src/records/db.js';
import { StudyRounds, type RoundState } from '../src/gatekeeper/research/rounds.js';
import { roundSession, sortedSites } from '../src/protocol/research/round-session.js';
import { SecAggSite } from '../src/protocol/research/secagg/index.js';
import { testBackend, testDatabase } from './helpers/db.js';

const studyId = keccak256(stringToHex('a study'));
const sites = sortedSites([0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()).address));

function roundState(round: number): RoundState {
  const session = roundSession(studyId, round, sites, 3);
  const site = new SecAggSite(session, sites[0]!);
  return { session, site, update: [1, 2, 3], consentSetHash: studyId, advert: { ...site.advertise(), signature: '0x' } };
}

test('a round starts once per site, and a restarted gatekeeper refuses to start it again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-rounds-'));
  const target = testBackend === 'pglite' ? { dataDir: dir } : await testDatabase();
  let db = await openDb(target);
  try {
    let starts = 0;
    const start = (round: number) => async () => (starts++, roundState(round));
    const before = new StudyRounds(db);
    const first = await before.begin(studyId, 1, sites, start(1));
    assert.equal(await before.begin(studyId, 1, sites, start(1)), first, 'a retry gets the same round, not a new update');
    assert.equal(starts, 1);

    // The restart: memory gone, the database kept.
    await db.close();
    db = await openDb(target);
    const after = new StudyRounds(db);
    await assert.rejects(after.begin(studyId, 1, sites, start(1)), (err: Error & { status?: number }) => err.status === 409 && /already started here before this gatekeeper restarted/.test(err.message));
    assert.equal(starts, 1, 'no second update was computed');
    assert.throws(() => after.started(studyId, 1), /has not started here/);

    // The next round is new here; a start that fails released nothing, so its round may be tried again.
    await assert.rejects(after.begin(studyId, 2, sites, async () => Promise.reject(new Error('the store is down'))), /the store is down/);
    await after.begin(studyId, 2, sites, start(2));
    assert.equal(starts, 2);
    assert.equal(after.started(studyId, 2).session.sessionId, roundSession(studyId, 2, sites, 3).sessionId);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
