/**
 * Delegates and guardian recovery (issue 8, item 2): every rule of PatientControl as the contract
 * enforces it, each refusal by its custom error; a single malicious guardian; cancelling in the
 * waiting period; and after a recovery, relationships, grants, delegates and the audit trail kept —
 * the new key responds, grants and reads through a gatekeeper, the old key can do none of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Condition, Observation } from '@medplum/fhirtypes';
import { keccak256, parseEventLogs, stringToHex, zeroAddress, type Address, type Hex } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { writeLedger } from '../src/chain/write.js';
import { linkPatient } from '../src/gatekeeper/publish/publish.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import {
  accreditProvider,
  actsFor,
  addRelationship,
  approveRecovery,
  cancelRecovery,
  checkAccess,
  controllerOf,
  delegatesOf,
  delegationOf,
  delegationsTo,
  finalizeRecovery,
  findRelationship,
  getAccount,
  grantViewer,
  hashIdentity,
  patientOfKey,
  patientsGuardedBy,
  readSummary,
  recoveryOf,
  registerPatient,
  attestPatient,
  removeDelegate,
  respond,
  revokeViewer,
  setBreakGlassAllowed,
  setDelegate,
  setGuardians,
  DEFAULT_RECOVERY_DELAY,
  type LedgerClient,
} from '../src/sdk/index.js';
import type { AuditEntry } from '../src/sdk/audit.js';
import { GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';
import { chainNow, travel, travelSkip } from './helpers/time.js';

let f: Fixture;
let provider: LedgerClient;

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
});
after(() => f.close());

const addr = (c: LedgerClient): Address => c.account!.address;
const LAB = 'Observation?category=laboratory';
const data = (label: string): Hex => keccak256(stringToHex(`data:${label}`));

async function refused(promise: Promise<unknown>, errorName: string, errorArgs?: readonly unknown[]): Promise<void> {
  await assert.rejects(promise, errorArgs ? { errorName, errorArgs } : { errorName });
}

const stranger = async () => f.as(await f.newAccount());

/** A patient of `provider` with one relationship (pointer LAB). */
async function patientWithRelationship(identity?: string) {
  const patient = await f.newPatient(provider, identity);
  const { relationshipId } = await addRelationship(provider, { patient: addr(patient), query: LAB, dataHash: data(addr(patient)) });
  return { patient, id: relationshipId };
}

/** A patient with 2-of-3 guardians and a fresh key to recover to. */
async function guardedPatient(recoveryDelay = 0) {
  const { patient, id } = await patientWithRelationship();
  const guardians = [await stranger(), await stranger(), await stranger()];
  await setGuardians(patient, { patient: addr(patient), guardians: guardians.map(addr), threshold: 2, recoveryDelay });
  const newKey = await stranger();
  return { patient, id, guardians, newKey, self: addr(patient) };
}

// ------------------------------------------------------------------ delegates

describe('delegates', () => {
  test("only the patient's key names them, with known permissions and a future expiry", async () => {
    const { patient } = await patientWithRelationship();
    const self = addr(patient);
    const carer = await stranger();
    const now = await chainNow(patient);
    for (const caller of [provider, carer, await stranger()]) {
      await refused(setDelegate(caller, { patient: self, delegate: addr(carer), permissions: ['read'], expiresAt: 0 }), 'NotController', [self, addr(caller)]);
    }
    for (const bad of [zeroAddress, self]) {
      await refused(setDelegate(patient, { patient: self, delegate: bad, permissions: ['read'], expiresAt: 0 }), 'InvalidDelegate', [bad]);
    }
    for (const bits of [8, 0xff]) {
      await refused(writeLedger(patient, 'setDelegate', [self, addr(carer), bits, 0n]), 'InvalidPermissions', [bits]);
    }
    await refused(setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['read'], expiresAt: now - 1 }), 'ExpiryInPast', [BigInt(now - 1)]);
    // Someone who is not a registered patient has nobody to delegate for.
    const nobody = await stranger();
    await refused(setDelegate(nobody, { patient: addr(nobody), delegate: addr(carer), permissions: ['read'], expiresAt: 0 }), 'NotRegisteredPatient', [addr(nobody)]);
    await assert.rejects(setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['write' as never], expiresAt: 0 }), /unknown delegate permission/);

    const r = await setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['respond', 'read'], expiresAt: now + 3600 });
    const receipt = await patient.publicClient.getTransactionReceipt({ hash: r.transactionHash });
    const [event] = parseEventLogs({ abi: medLedgerAbi, logs: receipt.logs, eventName: 'DelegateSet' });
    assert.deepEqual(event!.args, { patient: self, delegate: addr(carer), permissions: 5, expiresAt: BigInt(now + 3600) });
    assert.deepEqual(await delegationOf(patient, { patient: self, delegate: addr(carer) }), { patient: self, delegate: addr(carer), permissions: ['respond', 'read'], expiresAt: now + 3600 });
    assert.deepEqual((await delegatesOf(patient, self)).map((d) => d.delegate), [addr(carer)]);
    assert.deepEqual((await delegationsTo(carer, addr(carer))).map((d) => d.patient), [self]);
    assert.equal(await actsFor(patient, { patient: self, account: addr(carer), permission: 'respond' }), true);
    assert.equal(await actsFor(patient, { patient: self, account: addr(carer), permission: 'grant' }), false);
    assert.equal(await actsFor(patient, { patient: self, account: self, permission: 'grant' }), true, 'the key may do everything');

    await removeDelegate(patient, { patient: self, delegate: addr(carer) });
    assert.deepEqual(await delegatesOf(patient, self), []);
    assert.equal(await actsFor(patient, { patient: self, account: addr(carer), permission: 'respond' }), false);
  });

  test('respond: only with the respond permission, only while the delegation lasts', async () => {
    const { patient, id } = await patientWithRelationship();
    const self = addr(patient);
    const parent = await stranger();
    const granter = await stranger();
    await setDelegate(patient, { patient: self, delegate: addr(granter), permissions: ['grant', 'read'], expiresAt: 0 });
    await refused(respond(granter, { relationshipId: id, accept: true }), 'NotRelationshipPatient', [id, addr(granter)]);
    await refused(respond(parent, { relationshipId: id, accept: true }), 'NotRelationshipPatient', [id, addr(parent)]);

    await setDelegate(patient, { patient: self, delegate: addr(parent), permissions: ['respond'], expiresAt: 0 });
    await respond(parent, { relationshipId: id, accept: false });
    await respond(parent, { relationshipId: id, accept: true });
    assert.equal((await readSummary(parent, self)).relationships[0]!.status, 'accepted');

    await removeDelegate(patient, { patient: self, delegate: addr(parent) });
    await refused(respond(parent, { relationshipId: id, accept: false }), 'NotRelationshipPatient', [id, addr(parent)]);
  });

  test('respond: an expired delegation does nothing', { skip: travelSkip }, async () => {
    const { patient, id } = await patientWithRelationship();
    const carer = await stranger();
    await setDelegate(patient, { patient: addr(patient), delegate: addr(carer), permissions: ['respond', 'grant'], expiresAt: (await chainNow(patient)) + 600 });
    await respond(carer, { relationshipId: id, accept: true });
    await travel(patient, 601);
    await refused(respond(carer, { relationshipId: id, accept: false }), 'NotRelationshipPatient', [id, addr(carer)]);
    assert.equal(await actsFor(patient, { patient: addr(patient), account: addr(carer), permission: 'respond' }), false);
  });

  test("grant: grants and revokes, never beyond the delegation's own expiry, never to themselves", async () => {
    const { patient, id } = await patientWithRelationship();
    const self = addr(patient);
    const carer = await stranger();
    const responder = await stranger();
    const viewer = await stranger();
    const now = await chainNow(patient);
    const until = now + 7 * 86_400;
    await setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['grant'], expiresAt: until });
    await setDelegate(patient, { patient: self, delegate: addr(responder), permissions: ['respond'], expiresAt: 0 });
    const scope = { relationshipId: id, viewer: addr(viewer), scope: LAB };

    await refused(grantViewer(responder, { ...scope, expiresAt: now + 60 }), 'NotRelationshipPatient', [id, addr(responder)]);
    await refused(grantViewer(carer, { ...scope, expiresAt: 0 }), 'BeyondDelegation', [0n, BigInt(until)]);
    await refused(grantViewer(carer, { ...scope, expiresAt: until + 1 }), 'BeyondDelegation', [BigInt(until + 1), BigInt(until)]);
    await refused(grantViewer(carer, { ...scope, viewer: addr(carer), expiresAt: until }), 'InvalidViewer', [addr(carer)]);

    await grantViewer(carer, { ...scope, expiresAt: until });
    assert.equal(await checkAccess(viewer, scope), until);
    await refused(revokeViewer(responder, scope), 'NotRelationshipPatient', [id, addr(responder)]);
    await revokeViewer(carer, scope);
    await refused(checkAccess(viewer, scope), 'NotGranted');

    // A delegation without expiry may grant without expiry.
    await setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['grant'], expiresAt: 0 });
    await grantViewer(carer, { ...scope, expiresAt: 0 });
    assert.equal(await checkAccess(viewer, scope), 0);
  });

  test('a delegate cannot name delegates or guardians, recover, or change break-glass', async () => {
    const { patient } = await patientWithRelationship();
    const self = addr(patient);
    const carer = await stranger();
    await setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['respond', 'grant', 'read'], expiresAt: 0 });
    const other = await stranger();
    await refused(setDelegate(carer, { patient: self, delegate: addr(other), permissions: ['read'], expiresAt: 0 }), 'NotController', [self, addr(carer)]);
    await refused(removeDelegate(carer, { patient: self, delegate: addr(carer) }), 'NotController', [self, addr(carer)]);
    await refused(setGuardians(carer, { patient: self, guardians: [addr(carer)], threshold: 1 }), 'NotController', [self, addr(carer)]);
    await refused(cancelRecovery(carer, { patient: self }), 'NotController', [self, addr(carer)]);
    await refused(setBreakGlassAllowed(carer, { patient: self, allowed: false }), 'NotController', [self, addr(carer)]);
  });
});

// ------------------------------------------------------------------ guardians and recovery

describe('guardians', () => {
  test('setGuardians: the key names a majority threshold of distinct guardians and a bounded waiting period', async () => {
    const { patient } = await patientWithRelationship();
    const self = addr(patient);
    const [a, b, c] = [await stranger(), await stranger(), await stranger()];
    const three = [addr(a), addr(b), addr(c)];
    await refused(setGuardians(a, { patient: self, guardians: three, threshold: 2 }), 'NotController', [self, addr(a)]);
    for (const [guardians, threshold] of [[three, 1], [three.slice(0, 2), 1], [three.slice(0, 2), 3], [three, 0], [[], 1]] as const) {
      await refused(setGuardians(patient, { patient: self, guardians, threshold }), 'InvalidThreshold', [threshold, BigInt(guardians.length)]);
    }
    const seventeen = Array.from({ length: 17 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as Address);
    await refused(setGuardians(patient, { patient: self, guardians: seventeen, threshold: 9 }), 'InvalidThreshold', [9, 17n]);
    for (const bad of [zeroAddress, self]) {
      await refused(setGuardians(patient, { patient: self, guardians: [addr(a), bad, addr(c)], threshold: 2 }), 'InvalidGuardian', [bad]);
    }
    await refused(setGuardians(patient, { patient: self, guardians: [addr(a), addr(b), addr(a)], threshold: 2 }), 'InvalidGuardian', [addr(a)]);
    for (const delay of [3600, 31 * 86_400]) {
      await refused(setGuardians(patient, { patient: self, guardians: three, threshold: 2, recoveryDelay: delay }), 'InvalidRecoveryDelay', [delay]);
    }

    await setGuardians(patient, { patient: self, guardians: three, threshold: 2 });
    let state = await recoveryOf(patient, self);
    assert.deepEqual({ guardians: state.guardians, threshold: state.threshold, recoveryDelay: state.recoveryDelay, controller: state.controller }, {
      guardians: three,
      threshold: 2,
      recoveryDelay: DEFAULT_RECOVERY_DELAY,
      controller: self,
    });
    assert.deepEqual(await patientsGuardedBy(a, addr(a)), [self]);

    // Replacing them: the old ones stop being guardians. 1 of 1 is a majority.
    await setGuardians(patient, { patient: self, guardians: [addr(c)], threshold: 1, recoveryDelay: 86_400 });
    assert.deepEqual(await patientsGuardedBy(a, addr(a)), []);
    await refused(approveRecovery(a, { patient: self, newController: addr(a) }), 'NotGuardian', [self, addr(a)]);
    state = await recoveryOf(patient, self);
    assert.deepEqual([state.guardians, state.threshold, state.recoveryDelay], [[addr(c)], 1, 86_400]);
    await setGuardians(patient, { patient: self, guardians: [], threshold: 0 });
    assert.deepEqual((await recoveryOf(patient, self)).guardians, []);
    await refused(approveRecovery(c, { patient: self, newController: addr(a) }), 'NotGuardian', [self, addr(c)]);
  });

  test('a single malicious guardian can neither move the identity nor undo the others', { skip: travelSkip }, async () => {
    const { patient, guardians, newKey, self } = await guardedPatient();
    const [honest1, honest2, malicious] = guardians as [LedgerClient, LedgerClient, LedgerClient];
    const stolen = await stranger();

    // Alone, the malicious guardian gets one approval: nothing is scheduled, nothing can be finalised.
    await approveRecovery(malicious, { patient: self, newController: addr(stolen) });
    await refused(approveRecovery(malicious, { patient: self, newController: addr(stolen) }), 'AlreadyApproved', [addr(stolen)]);
    assert.equal((await recoveryOf(patient, self)).scheduled, undefined);
    await refused(finalizeRecovery(malicious, { patient: self }), 'NoRecoveryScheduled', [self]);
    await travel(patient, 30 * 86_400);
    await refused(finalizeRecovery(stolen, { patient: self }), 'NoRecoveryScheduled', [self]);
    assert.equal(await controllerOf(patient, self), self);

    // Nor can it approve a key that is already someone (a registered patient or provider, or itself a guardian's patient).
    const otherPatient = await f.newPatient(provider);
    await refused(approveRecovery(malicious, { patient: self, newController: addr(otherPatient) }), 'InvalidController', [addr(otherPatient)]);
    await refused(approveRecovery(malicious, { patient: self, newController: addr(provider) }), 'InvalidController', [addr(provider)]);
    await refused(approveRecovery(malicious, { patient: self, newController: zeroAddress }), 'InvalidController', [zeroAddress]);
    // Strangers are not guardians.
    await refused(approveRecovery(stolen, { patient: self, newController: addr(stolen) }), 'NotGuardian', [self, addr(stolen)]);

    // The honest two reach the threshold; the malicious one switching its own vote changes nothing for them.
    await approveRecovery(honest1, { patient: self, newController: addr(newKey) });
    await approveRecovery(malicious, { patient: self, newController: addr(await stranger()) });
    const r = await approveRecovery(honest2, { patient: self, newController: addr(newKey) });
    const receipt = await patient.publicClient.getTransactionReceipt({ hash: r.transactionHash });
    const [scheduled] = parseEventLogs({ abi: medLedgerAbi, logs: receipt.logs, eventName: 'RecoveryScheduled' });
    assert.equal(scheduled!.args.candidate, addr(newKey));
    await approveRecovery(malicious, { patient: self, newController: addr(stolen) });
    const state = await recoveryOf(patient, self);
    assert.equal(state.scheduled?.candidate, addr(newKey));
    assert.deepEqual(
      state.candidates.map((c) => [c.candidate, c.approvals]).sort(),
      [[addr(newKey), 2], [addr(stolen), 1]].sort(),
    );

    // The waiting period holds even for the honest majority.
    await refused(finalizeRecovery(newKey, { patient: self }), 'RecoveryNotReady', [Number(scheduled!.args.readyAt)]);
    await travel(patient, DEFAULT_RECOVERY_DELAY);
    await finalizeRecovery(malicious, { patient: self }); // anyone may finalise; it goes to the scheduled key
    assert.equal(await controllerOf(patient, self), addr(newKey));
  });

  test('a guardian who withdraws their approval unschedules the recovery', async () => {
    const { patient, guardians, newKey, self } = await guardedPatient();
    const [g1, g2] = guardians as [LedgerClient, LedgerClient, LedgerClient];
    await approveRecovery(g1, { patient: self, newController: addr(newKey) });
    await approveRecovery(g2, { patient: self, newController: addr(newKey) });
    assert.equal((await recoveryOf(patient, self)).scheduled?.candidate, addr(newKey));
    const elsewhere = await stranger();
    await approveRecovery(g2, { patient: self, newController: addr(elsewhere) });
    assert.equal((await recoveryOf(patient, self)).scheduled, undefined);
    await refused(finalizeRecovery(newKey, { patient: self }), 'NoRecoveryScheduled', [self]);
  });

  test('the current key cancels during the waiting period; approvals start over', { skip: travelSkip }, async () => {
    const { patient, guardians, newKey, self } = await guardedPatient(86_400);
    const [g1, g2, g3] = guardians as [LedgerClient, LedgerClient, LedgerClient];
    await approveRecovery(g1, { patient: self, newController: addr(newKey) });
    await approveRecovery(g2, { patient: self, newController: addr(newKey) });
    await travel(patient, 3600);
    // Guardians and the candidate cannot cancel; the patient's key can.
    for (const caller of [g1, g3, newKey]) await refused(cancelRecovery(caller, { patient: self }), 'NotController', [self, addr(caller)]);
    const r = await cancelRecovery(patient, { patient: self });
    const receipt = await patient.publicClient.getTransactionReceipt({ hash: r.transactionHash });
    const [cancelled] = parseEventLogs({ abi: medLedgerAbi, logs: receipt.logs, eventName: 'RecoveryCancelled' });
    assert.deepEqual(cancelled!.args, { patient: self, by: self, candidate: addr(newKey) });
    await travel(patient, 86_400);
    await refused(finalizeRecovery(newKey, { patient: self }), 'NoRecoveryScheduled', [self]);
    const state = await recoveryOf(patient, self);
    assert.equal(state.scheduled, undefined);
    assert.deepEqual(state.candidates, [], 'every approval of the cancelled round is void');

    // The guardians can try again (one approval is not enough after the cancel).
    await approveRecovery(g3, { patient: self, newController: addr(newKey) });
    assert.equal((await recoveryOf(patient, self)).scheduled, undefined);
    await approveRecovery(g1, { patient: self, newController: addr(newKey) });
    assert.equal((await recoveryOf(patient, self)).scheduled?.candidate, addr(newKey));
  });
});

// ------------------------------------------------------------------ after a recovery

describe('after a recovery', { skip: travelSkip }, () => {
  let gk: RunningGatekeeper;
  let patient: LedgerClient;
  let self: Address;
  let newKey: LedgerClient;
  let guardians: LedgerClient[];
  let carer: LedgerClient;
  let viewer: LedgerClient;
  let id: bigint;
  let patientId: string;
  const identity = `urn:test:recovery|${process.pid}`;

  const lab: () => Observation = () => ({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2025-01-01',
    valueQuantity: { value: 90, unit: 'mg/dL' },
  });
  const hiv: () => Condition = () => ({
    resourceType: 'Condition',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '86406008' }] },
    subject: { reference: `Patient/${patientId}` },
  });

  before(async () => {
    gk = await startTestGatekeeper(provider);
    patient = await f.newPatient(provider, identity);
    self = addr(patient);
    patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Recovered' }] })).id!;
    await linkPatient(gk.store, provider, patientId, identity, PEPPER);
    const own = clientFor(gk, provider, provider.account!);
    await own.post('/fhir/R4/Observation', lab());
    await own.post('/fhir/R4/Condition', hiv());
    id = (await findRelationship(provider, { patient: self, provider: addr(provider) }))!;
    carer = await stranger();
    viewer = await stranger();
    newKey = await stranger();
    guardians = [await stranger(), await stranger(), await stranger()];
    await respond(patient, { relationshipId: id, accept: true });
    await grantViewer(patient, { relationshipId: id, viewer: addr(viewer), scope: LAB, expiresAt: 0 });
    await setDelegate(patient, { patient: self, delegate: addr(carer), permissions: ['respond', 'read'], expiresAt: 0 });
    await setGuardians(patient, { patient: self, guardians: guardians.map(addr), threshold: 2 });
  });
  after(() => gk?.close());

  test('before: a read delegate reads the records except sensitive ones; the patient reads everything', async () => {
    const asCarer = clientFor(gk, provider, carer.account!);
    assert.equal((await asCarer.get<Bundle>('/fhir/R4/Observation')).body.total, 1);
    assert.equal((await asCarer.get<Bundle>('/fhir/R4/Condition')).body.total, 0, 'the HIV-labelled condition stays hidden from a delegate');
    await assert.rejects(asCarer.get(`/fhir/R4/Patient/${patientId}/$everything`), (e: GatekeeperRequestError) => e.status === 403);
    assert.equal((await clientFor(gk, provider, patient.account!).get<Bundle>('/fhir/R4/Condition')).body.total, 1);
    // A delegate without the read permission reads nothing.
    const responder = await stranger();
    await setDelegate(patient, { patient: self, delegate: addr(responder), permissions: ['respond'], expiresAt: 0 });
    await assert.rejects(clientFor(gk, provider, responder.account!).get('/fhir/R4/Observation'), (e: GatekeeperRequestError) => e.status === 403);
  });

  test('the move keeps relationships, grants, delegates and the audit trail; the new key acts, the old key cannot', async () => {
    const summaryBefore = await readSummary(patient, self);
    await approveRecovery(guardians[0]!, { patient: self, newController: addr(newKey) });
    await approveRecovery(guardians[2]!, { patient: self, newController: addr(newKey) });
    await travel(patient, DEFAULT_RECOVERY_DELAY);
    const r = await finalizeRecovery(newKey, { patient: self });
    const receipt = await patient.publicClient.getTransactionReceipt({ hash: r.transactionHash });
    const [moved] = parseEventLogs({ abi: medLedgerAbi, logs: receipt.logs, eventName: 'ControllerChanged' });
    assert.deepEqual(moved!.args, { patient: self, previous: self, controller: addr(newKey) });

    // Identity and keys.
    assert.equal(await controllerOf(patient, self), addr(newKey));
    assert.equal(await patientOfKey(patient, addr(newKey)), self);
    assert.equal(await patientOfKey(patient, self), undefined);
    assert.equal((await getAccount(patient, addr(newKey))).role, 'controller');
    assert.equal((await getAccount(patient, self)).role, 'patient', 'the identity stays a registered patient');

    // Everything the identity had is still there, read by either key.
    const { blockNumber: _b1, ...before } = summaryBefore;
    const { blockNumber: _b2, ...now } = await readSummary(newKey, self);
    assert.deepEqual(now, before);
    assert.equal(await checkAccess(viewer, { relationshipId: id, viewer: addr(viewer), scope: LAB }), 0, 'grants made by the old key still hold');
    assert.equal(await actsFor(patient, { patient: self, account: addr(carer), permission: 'respond' }), true, 'delegates stay');

    // The old key can do nothing for the patient any more.
    const other = await stranger();
    await refused(respond(patient, { relationshipId: id, accept: false }), 'NotRelationshipPatient', [id, self]);
    await refused(grantViewer(patient, { relationshipId: id, viewer: addr(other), scope: LAB, expiresAt: 0 }), 'NotRelationshipPatient', [id, self]);
    await refused(revokeViewer(patient, { relationshipId: id, viewer: addr(viewer), scope: LAB }), 'NotRelationshipPatient', [id, self]);
    await refused(setDelegate(patient, { patient: self, delegate: addr(other), permissions: ['read'], expiresAt: 0 }), 'NotController', [self, self]);
    await refused(setGuardians(patient, { patient: self, guardians: [addr(other)], threshold: 1 }), 'NotController', [self, self]);
    await refused(cancelRecovery(patient, { patient: self }), 'NotController', [self, self]);
    await refused(setBreakGlassAllowed(patient, { patient: self, allowed: false }), 'NotController', [self, self]);

    // The new key does what the patient does.
    await respond(newKey, { relationshipId: id, accept: true });
    await grantViewer(newKey, { relationshipId: id, viewer: addr(other), scope: LAB, expiresAt: 0 });
    assert.equal(await checkAccess(other, { relationshipId: id, viewer: addr(other), scope: LAB }), 0);
    await revokeViewer(newKey, { relationshipId: id, viewer: addr(other), scope: LAB });
    await setDelegate(newKey, { patient: self, delegate: addr(other), permissions: ['respond'], expiresAt: 0 });

    // A relationship opened after the move asks for the new key too.
    const second = await f.newProvider();
    const { relationshipId: later } = await addRelationship(second, { patient: self, query: 'Condition', dataHash: data('later') });
    await refused(respond(patient, { relationshipId: later, accept: true }), 'NotRelationshipPatient', [later, self]);
    await respond(newKey, { relationshipId: later, accept: true });

    // The new key cannot become anything else, and nobody can take it over.
    const attestation = await attestPatient(provider, { identityHash: hashIdentity('urn:test:other|x', PEPPER), patient: addr(newKey) });
    await refused(registerPatient(newKey, { identityHash: hashIdentity('urn:test:other|x', PEPPER), attester: addr(provider), attestation }), 'AlreadyRegistered', [addr(newKey)]);
    await refused(accreditProvider(f.governor, { provider: addr(newKey), identityHash: hashIdentity('org|x', PEPPER) }), 'AlreadyRegistered', [addr(newKey)]);
    const thirdPatient = await f.newPatient(provider);
    await setGuardians(thirdPatient, { patient: addr(thirdPatient), guardians: [addr(guardians[0]!)], threshold: 1, recoveryDelay: 86_400 });
    await refused(approveRecovery(guardians[0]!, { patient: addr(thirdPatient), newController: addr(newKey) }), 'InvalidController', [addr(newKey)]);
  });

  test('at the gatekeeper the new key is the patient and sees the whole audit trail; the old key is nobody', async () => {
    const asNew = clientFor(gk, provider, newKey.account!);
    assert.equal((await asNew.get<Bundle>(`/fhir/R4/Patient/${patientId}/$everything`)).body.total, 3);
    const trail = (await asNew.get<{ entries: AuditEntry[] }>('/audit')).body.entries;
    const readers = new Set(trail.map((e) => e.event.agent?.[0]?.who?.identifier?.value));
    for (const who of [carer, patient]) assert.ok(readers.has(addr(who).toLowerCase()), `the trail from before the move includes ${addr(who)}`);

    const asOld = clientFor(gk, provider, patient.account!);
    for (const path of [`/fhir/R4/Patient/${patientId}/$everything`, '/fhir/R4/Observation', '/audit']) {
      await assert.rejects(asOld.get(path), (e: GatekeeperRequestError) => e.status === 403, path);
    }
    // The delegate keeps reading (delegations belong to the identity).
    assert.equal((await clientFor(gk, provider, carer.account!).get<Bundle>('/fhir/R4/Observation')).body.total, 1);
  });

  test('a second recovery retires the first new key', async () => {
    const newer = await stranger();
    await approveRecovery(guardians[1]!, { patient: self, newController: addr(newer) });
    await approveRecovery(guardians[2]!, { patient: self, newController: addr(newer) });
    await travel(patient, DEFAULT_RECOVERY_DELAY);
    await finalizeRecovery(newer, { patient: self });
    assert.equal(await controllerOf(patient, self), addr(newer));
    assert.equal(await patientOfKey(patient, addr(newKey)), undefined);
    assert.equal((await getAccount(patient, addr(newKey))).role, 'none');
    await refused(respond(newKey, { relationshipId: id, accept: true }), 'NotRelationshipPatient', [id, addr(newKey)]);
    await respond(newer, { relationshipId: id, accept: true });
    await assert.rejects(clientFor(gk, provider, newKey.account!).get('/fhir/R4/Observation'), (e: GatekeeperRequestError) => e.status === 403);
    assert.equal((await clientFor(gk, provider, newer.account!).get<Bundle>('/fhir/R4/Observation')).body.total, 1);
  });
});
