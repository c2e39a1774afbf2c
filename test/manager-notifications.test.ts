/**
 * The manager's notification hub: one Ethereum client following every event, each subscriber told
 * about exactly what concerns them (the same rules as a single user's client), with the provider
 * named; grant expiries from the clock; off-chain notifications from gatekeepers; break-glass
 * openings at once, to the patient and the provider alone; each user's history (issue 18), served
 * over HTTP only with a proof of holding the address's key.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Address, Hex, LocalAccount } from 'viem';
import type { Notification } from '../src/client/apply.js';
import { createWatcher } from '../src/client/watcher.js';
import { blockClock } from '../src/manager/notification-history.js';
import { createNotificationHub, type NotificationHub } from '../src/manager/notifications.js';
import { buildManager } from '../src/manager/server.js';
import { notificationProofMessage } from '../src/protocol/notifications.js';
import { openDb, type Db } from '../src/records/db.js';
import { addRecordPointer, approveRecovery, cancelRecovery, closeBreakGlass, grantViewer, openBreakGlass, respond, revokeViewer, setGuardians, type LedgerClient } from '../src/sdk/index.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';

let f: Fixture;
let db: Db;
let hub: NotificationHub;
let sync: () => Promise<unknown>;
let clock = Math.floor(Date.now() / 1000);
let provider: LedgerClient;
let patient: LedgerClient;
let other: LedgerClient;
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  patient = await f.newPatient(provider);
  other = await f.newPatient(provider);
  db = await openDb({ dataDir: 'memory://' });
  const watcher = createWatcher({ ledger: f.as((await f.newAccount())), db });
  await watcher.init();
  hub = createNotificationHub(watcher, db, () => clock);
  sync = () => watcher.sync();
});
after(async () => {
  hub.close();
  await db.close();
  await f.close();
});

/** Collects what `address` is told while `action` runs and the hub catches up. */
async function heard(address: Address, action: () => Promise<unknown>): Promise<Notification[]> {
  const got: Notification[] = [];
  const stop = hub.subscribe(address, (n) => got.push(n));
  await action();
  await sync();
  await new Promise((r) => setTimeout(r, 50)); // dispatch runs after the batch commits
  stop();
  return got;
}

test('a patient hears about their own records, named by provider; another patient hears nothing', async () => {
  const me = patient.account!.address;
  const stranger: Notification[] = [];
  const stop = hub.subscribe(other.account!.address, (n) => stranger.push(n));
  const got = await heard(me, () => addRecordPointer(provider, { patient: me, query: 'Observation?category=laboratory', dataHash: hash(1) }));
  stop();
  assert.deepEqual(got.map((n) => n.kind).sort(), ['new-record', 'new-record']); // RelationshipAdded + its first PointerAdded
  assert.ok(got.every((n) => String(n.payload.provider).toLowerCase() === provider.account!.address.toLowerCase()));
  assert.deepEqual(stranger, []);
});

test('viewers hear of grants and revokes; expiry comes from the clock', async () => {
  const viewer = await f.newAccount();
  const me = patient.account!.address;
  const { relationshipId } = await addRecordPointer(provider, { patient: me, query: 'Observation?category=laboratory', dataHash: hash(2) });
  await heard(me, () => respond(patient, { relationshipId, accept: true }));
  const granted = await heard(viewer.address, () =>
    grantViewer(patient, { relationshipId, viewer: viewer.address, scope: 'Observation?category=laboratory', expiresAt: clock + 3600 }),
  );
  assert.deepEqual(granted.map((n) => n.kind), ['grant-received']);

  const expired: Notification[] = [];
  const stopPatient = hub.subscribe(me, (n) => expired.push(n));
  const stopViewer = hub.subscribe(viewer.address, (n) => expired.push(n));
  clock += 3601;
  await new Promise((r) => setTimeout(r, 5_500)); // the expiry check runs every 5 s
  stopPatient();
  stopViewer();
  assert.deepEqual(expired.map((n) => n.kind), ['grant-expired', 'grant-expired']);

  const revoked = await heard(viewer.address, () => revokeViewer(patient, { relationshipId, viewer: viewer.address, scope: 'Observation?category=laboratory' }));
  assert.deepEqual(revoked.map((n) => n.kind), ['grant-revoked']);
});

test('a break-glass opening and its closing reach the patient and the provider at once, and no one else', async () => {
  const er = await f.newProvider();
  const me = patient.account!.address;
  const stranger: Notification[] = [];
  const doctor: Notification[] = [];
  const stopStranger = hub.subscribe(other.account!.address, (n) => stranger.push(n));
  const stopDoctor = hub.subscribe(er.account!.address, (n) => doctor.push(n));
  let opened!: Awaited<ReturnType<typeof openBreakGlass>>;
  const got = await heard(me, async () => {
    opened = await openBreakGlass(er, { patient: me, reason: 'unconscious on arrival' });
  });
  const closed = await heard(me, () => closeBreakGlass(patient, { patient: me, provider: er.account!.address }));
  stopStranger();
  stopDoctor();
  assert.deepEqual(got.map((n) => [n.kind, n.payload]), [
    ['break-glass', { patient: me.toLowerCase(), provider: er.account!.address.toLowerCase(), reasonHash: opened.reasonHash, expiresAt: opened.expiresAt }],
  ]);
  assert.deepEqual(closed.map((n) => [n.kind, n.payload.closed]), [['break-glass', true]]);
  assert.deepEqual(doctor.map((n) => [n.kind, n.payload.closed]), [['break-glass', undefined], ['break-glass', true]]);
  assert.deepEqual(stranger, []);
});

test('guardians hear that they were named; the patient hears the first approval of a move at once', async () => {
  const me = patient.account!.address;
  const [g1, g2] = [f.as(await f.newAccount()), f.as(await f.newAccount())];
  const stranger: Notification[] = [];
  const stop = hub.subscribe(other.account!.address, (n) => stranger.push(n));
  const named = await heard(g1.account!.address, () => setGuardians(patient, { patient: me, guardians: [g1.account!.address, g2.account!.address], threshold: 2 }));
  assert.deepEqual(named.map((n) => [n.kind, n.payload]), [['guardian-named', { patient: me.toLowerCase(), threshold: 2 }]]);
  const candidate = (await f.newAccount()).address;
  const approved = await heard(me, () => approveRecovery(g1, { patient: me, newController: candidate }));
  assert.deepEqual(approved.map((n) => [n.kind, n.payload]), [['recovery-approved', { guardian: g1.account!.address.toLowerCase(), candidate: candidate.toLowerCase(), approvals: 1 }]]);
  await cancelRecovery(patient, { patient: me });
  stop();
  assert.deepEqual(stranger, []);
});

test('off-chain notifications reach only their addressee', () => {
  const a: Notification[] = [];
  const b: Notification[] = [];
  const stopA = hub.subscribe(patient.account!.address, (n) => a.push(n));
  const stopB = hub.subscribe(other.account!.address, (n) => b.push(n));
  hub.publish(patient.account!.address.toUpperCase().replace('0X', '0x'), { kind: 'grant-used', blockNumber: '0', payload: { viewer: '0x01' } });
  stopA();
  stopB();
  assert.equal(a.length, 1);
  assert.equal(b.length, 0);
});

test('the history: what was sent live comes back after a reload, same ids, newest first, with times; off-chain ones kept', async () => {
  const me = patient.account!.address;
  const live = await heard(me, () => addRecordPointer(provider, { patient: me, query: 'Observation?category=vital-signs', dataHash: hash(9) }));
  hub.publish(me, { kind: 'grant-used', blockNumber: '0', payload: { viewer: other.account!.address, provider: provider.account!.address, request: 'GET /fhir/R4/Observation' } });
  await new Promise((r) => setTimeout(r, 50)); // the off-chain one is kept after it is sent
  const past = await hub.history(me, { blockTimes: blockClock(f.runtime.deployment.rpcUrl) });
  const used = past.filter((n) => n.kind === 'grant-used' && n.payload.request === 'GET /fhir/R4/Observation');
  assert.equal(used.length, 1, 'kept once');
  assert.match(used[0]!.id!, /^off:/);
  assert.ok(past.some((n) => n.kind === 'grant-expired' && n.id?.startsWith('off:')), 'the clock\'s expiry from an earlier test is kept too');
  for (const n of live) {
    const again = past.find((p) => p.id === n.id);
    assert.ok(again, `${n.kind} ${n.id} is in the history`);
    assert.equal(again.kind, n.kind);
    assert.ok(Math.abs(Date.parse(again.at!) - Date.now()) < 600_000, `${again.at} is the block's time`);
  }
  assert.ok(past.some((n) => n.kind === 'break-glass'), 'from the earlier tests too');
  assert.ok(past.every((n, i) => i === 0 || Date.parse(past[i - 1]!.at!) >= Date.parse(n.at!)));
  assert.ok(!(await hub.history(other.account!.address)).some((n) => n.kind === 'grant-used' || n.kind === 'break-glass'), 'another patient\'s history has none of it');
});

test('the history over HTTP only to the holder of the key: none, stale or another key\'s proof is refused', async () => {
  const app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: f.runtime.deployment.rpcUrl, providers: [], users: [],
    keystoreOf: () => undefined, webRoot: '.', demo: false, hub,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const me = patient.account!;
    const proof = async (signer: LocalAccount, time = Math.floor(Date.now() / 1000)) => `${time}:${await signer.signMessage({ message: notificationProofMessage(me.address, time) })}`;
    const get = (headers: Record<string, string> = {}) => fetch(`${url}/api/notifications/${me.address}/history`, { headers });
    assert.equal((await get()).status, 401);
    assert.equal((await get({ 'x-notification-proof': await proof(me, Math.floor(Date.now() / 1000) - 3600) })).status, 401);
    assert.equal((await get({ 'x-notification-proof': await proof(other.account!) })).status, 403);
    assert.equal((await fetch(`${url}/api/notifications/${me.address}?proof=${await proof(other.account!)}`)).status, 403, 'nor the live stream');
    const ok = await get({ 'x-notification-proof': await proof(me) });
    assert.equal(ok.status, 200);
    const { notifications } = (await ok.json()) as { notifications: Notification[] };
    assert.ok(notifications.some((n) => n.kind === 'new-record' && n.at));
  } finally {
    await app.close();
  }
});
