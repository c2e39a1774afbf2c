/**
 * Research studies on chain (issue 16): the study definition's canonical hash and validation, and the
 * StudyRegistry's rules through the SDK — registration, a patient's own enrolment and withdrawal,
 * relayed EIP-712 enrolments (forged, replayed and stale signatures refused), the privacy budget spent
 * round by round by the sponsor only, results, and expiry; a relayed withdrawal for a patient
 * without ether.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { keccak256, stringToHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { canonicalStudyJson, studyHash, validateStudy, type StudyDefinition } from '../src/protocol/research/study.js';
import { LedgerError, type LedgerClient } from '../src/sdk/index.js';
import {
  enrollInStudy,
  enrollmentNonce,
  enrollmentsOf,
  enrollWithSignatures,
  isEnrolled,
  openStudyRound,
  recordStudyResult,
  registerStudy,
  signEnrollment,
  signWithdrawal,
  studiesOf,
  studyIdOf,
  studyMismatch,
  studyOf,
  withdrawFromStudy,
  withdrawWithSignature,
} from '../src/sdk/studies.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { chainNow, travel, travelSkip } from './helpers/time.js';

const h = (s: string): Hex => keccak256(stringToHex(s));

let f: Fixture;
let sponsor: LedgerClient;
before(async () => {
  f = await startFixture();
  sponsor = f.as(await f.newAccount());
});
after(async () => {
  await f?.close();
});

/** A heart study by `client`'s account, expiring `seconds` after the chain's now. */
async function definition(client: LedgerClient, title: string, seconds = 86_400, epsilon = 1): Promise<StudyDefinition> {
  return {
    version: 1,
    title,
    sponsor: { name: 'Cardio Research Ltd', address: client.account!.address },
    purpose: 'Learn which heart work-up results predict heart disease across hospitals.',
    data: { features: ['age', 'sex', 'cp', 'trestbps', 'chol'] },
    inclusion: 'adults with a heart work-up',
    model: { type: 'logistic-regression', rounds: 3, learningRate: 0.5, siteIntercept: true },
    privacy: { epsilon, delta: 1e-5, clip: 1, minSites: 3 },
    expiresAt: new Date((await chainNow(client) + seconds) * 1000).toISOString(),
  };
}

async function refusal(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LedgerError, String(err));
    return err;
  }
  assert.fail('expected the contract to refuse');
}

test('a study hashes its canonical JSON, whatever the key order or address case; validation names the problem', async () => {
  const def = await definition(sponsor, 'canonical');
  const json = canonicalStudyJson(def);
  assert.ok(json.startsWith('{"data":{"features":["age","sex","cp","trestbps","chol"]},"expiresAt":'), json);
  assert.doesNotMatch(json, /\s"|":\s/);
  const reversed = Object.fromEntries(Object.entries(def).reverse());
  const reordered = { ...reversed, sponsor: { address: def.sponsor.address.toLowerCase(), name: def.sponsor.name } } as StudyDefinition;
  assert.notEqual(JSON.stringify(reordered), JSON.stringify(def));
  assert.equal(studyHash(reordered), studyHash(def));
  assert.equal(studyHash(def), keccak256(stringToHex(json)));
  assert.notEqual(studyHash({ ...def, purpose: `${def.purpose} ` }), studyHash(def), 'every word is part of what patients consent to');
  assert.deepEqual(validateStudy(JSON.parse(JSON.stringify(def))), def);

  const invalid: [unknown, RegExp][] = [
    [{ ...def, extra: 1 }, /unknown field extra/],
    [{ ...def, privacy: { ...def.privacy, minSites: 2 } }, /privacy.minSites must be at least 3/],
    [{ ...def, privacy: { ...def.privacy, epsilon: 0 } }, /privacy.epsilon must be greater than 0/],
    [{ ...def, expiresAt: '2027-06-30' }, /expiresAt must be an ISO 8601 date-time/],
    [{ ...def, data: { features: ['age', 'age'] } }, /feature twice/],
    [{ ...def, sponsor: { ...def.sponsor, address: '0x1234' } }, /sponsor.address must be an Ethereum address/],
    [{ ...def, model: { ...def.model, type: 'random-forest' } }, /model.type must be "logistic-regression"/],
    [{ ...def, title: ' ' }, /title must be non-empty text/],
    [null, /the study must be an object/],
  ];
  for (const [value, message] of invalid) assert.throws(() => validateStudy(value), message);
});

test('a sponsor registers a study: its id, terms and registration are on chain, once', async (t) => {
  // Deployed beside MedLedger and recorded in deployment.json; a deployment from before it says so plainly.
  assert.equal(f.runtime.record.studyRegistry, sponsor.studyRegistry);
  assert.notEqual(await sponsor.publicClient.getCode({ address: sponsor.studyRegistry! }), undefined);
  const { studyRegistry: _, ...older } = sponsor;
  await assert.rejects(studyOf(older, h('any')), /this deployment has no StudyRegistry/);
  const def = await definition(sponsor, 'register', 86_400, 2.5);
  const registered = await registerStudy(sponsor, def);
  t.diagnostic(`gas registerStudy ${registered.gasUsed}`);
  assert.equal(registered.studyHash, studyHash(def));
  assert.equal(registered.studyId, studyIdOf(def.sponsor.address, studyHash(def)));
  const study = await studyOf(f.governor, registered.studyId);
  assert.deepEqual(study, {
    studyId: registered.studyId,
    sponsor: def.sponsor.address,
    studyHash: studyHash(def),
    expiresAt: Math.floor(Date.parse(def.expiresAt) / 1000),
    epsilonBudget: 2.5,
    epsilonSpent: 0,
    rounds: 0,
    minSites: 3,
  });
  assert.equal(studyMismatch(study!, def), undefined);
  assert.match(studyMismatch(study!, { ...def, purpose: 'something else' })!, /does not match the hash/);
  assert.equal(await studyOf(f.governor, h('no such study')), undefined);

  assert.equal((await refusal(registerStudy(sponsor, def))).errorName, 'StudyExists');
  // The same definition registered by someone else would be their study, under another id; the SDK refuses
  // to register a definition naming another sponsor.
  const other = f.as(await f.newAccount());
  await assert.rejects(registerStudy(other, def), /register it from that account/);
  const expired = await definition(sponsor, 'already over', -60);
  assert.equal((await refusal(registerStudy(sponsor, expired))).errorName, 'InvalidStudy');

  const listed = await studiesOf(other, { sponsor: def.sponsor.address });
  const entry = listed.find((s) => s.studyId === registered.studyId);
  assert.deepEqual(entry && { ...entry, blockNumber: 0n, transactionHash: '0x' }, {
    studyId: registered.studyId, sponsor: def.sponsor.address, studyHash: studyHash(def), expiresAt: study!.expiresAt, epsilonBudget: 2.5, minSites: 3, blockNumber: 0n, transactionHash: '0x',
  });
  assert.equal(registered.blockNumber, entry!.blockNumber);
});

test('a patient enrols and withdraws themselves; the enrolled set follows', async (t) => {
  const { studyId } = await registerStudy(sponsor, await definition(sponsor, 'enrol'));
  const alice = f.as(await f.newAccount());
  const bob = f.as(await f.newAccount());
  const me = alice.account!.address;
  assert.equal(await isEnrolled(sponsor, studyId, me), false);

  const enrolled = await enrollInStudy(alice, studyId);
  await enrollInStudy(bob, studyId);
  assert.equal(await isEnrolled(sponsor, studyId, me), true);
  assert.equal((await refusal(enrollInStudy(alice, studyId))).errorName, 'AlreadyEnrolled');
  assert.deepEqual((await enrollmentsOf(sponsor, studyId)).map((e) => e.patient).sort(), [me, bob.account!.address].sort());

  const withdrawn = await withdrawFromStudy(alice, studyId);
  t.diagnostic(`gas enroll ${enrolled.gasUsed}, withdraw ${withdrawn.gasUsed}`);
  assert.equal(await isEnrolled(sponsor, studyId, me), false);
  assert.equal(await isEnrolled(sponsor, studyId, me, enrolled.blockNumber), true, 'history stays readable');
  assert.equal((await refusal(withdrawFromStudy(alice, studyId))).errorName, 'NotEnrolled');
  assert.deepEqual((await enrollmentsOf(sponsor, studyId)).map((e) => e.patient), [bob.account!.address]);

  await enrollInStudy(alice, studyId);
  assert.equal(await enrollmentNonce(sponsor, studyId, me), 3);
  assert.deepEqual((await enrollmentsOf(sponsor, studyId)).map((e) => e.patient), [bob.account!.address, me], 'by enrolment order');
  assert.equal((await refusal(enrollInStudy(alice, h('unknown')))).errorName, 'UnknownStudy');
});

test('relayed enrolments: the patients\' own signatures, once each; forged, foreign, replayed and late ones refused', async (t) => {
  const { studyId } = await registerStudy(sponsor, await definition(sponsor, 'relayed'));
  const { studyId: otherStudy } = await registerStudy(sponsor, await definition(sponsor, 'another study'));
  // Patients with no ether: the sponsor pays.
  const patients = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
  const signed = await Promise.all(patients.map((p) => signEnrollment(p, studyId, sponsor)));
  const relayed = await enrollWithSignatures(sponsor, studyId, signed.slice(0, 2));
  t.diagnostic(`gas enrollWithSignatures, 2 patients: ${relayed.gasUsed}`);
  for (const p of patients.slice(0, 2)) assert.equal(await isEnrolled(sponsor, studyId, p.address), true);

  // Replays: at once (already enrolled), and after a withdrawal (the nonce moved on).
  assert.deepEqual((await refusal(enrollWithSignatures(sponsor, studyId, [signed[0]!]))).errorName, 'AlreadyEnrolled');
  const first = f.as(patients[0]!);
  await f.runtime.fund(patients[0]!.address);
  await withdrawFromStudy(first, studyId);
  const stale = await refusal(enrollWithSignatures(sponsor, studyId, [signed[0]!]));
  assert.deepEqual([stale.errorName, stale.errorArgs], ['StaleEnrollment', [0n]]);
  const stalePretendingFresh = await refusal(enrollWithSignatures(sponsor, studyId, [{ ...signed[0]!, nonce: 2 }]));
  assert.deepEqual([stalePretendingFresh.errorName, stalePretendingFresh.errorArgs], ['InvalidEnrollmentSignature', [0n]]);
  assert.equal(await isEnrolled(sponsor, studyId, patients[0]!.address), false, 'a withdrawal is not undone by a replay');

  // Forged: someone else's key signing for the third patient; a signature for another study; the batch is all or nothing.
  const mallory = privateKeyToAccount(generatePrivateKey());
  const forged = { ...(await signEnrollment(mallory, studyId, sponsor)), patient: patients[2]!.address };
  const foreign = await signEnrollment(patients[2]!, otherStudy, sponsor);
  for (const bad of [forged, { ...foreign }]) {
    const e = await refusal(enrollWithSignatures(sponsor, studyId, [bad]));
    assert.deepEqual([e.errorName, e.errorArgs], ['InvalidEnrollmentSignature', [0n]]);
  }
  const fresh = await signEnrollment(patients[0]!, studyId, sponsor, { nonce: await enrollmentNonce(sponsor, studyId, patients[0]!.address) });
  const mixed = await refusal(enrollWithSignatures(sponsor, studyId, [fresh, forged]));
  assert.deepEqual([mixed.errorName, mixed.errorArgs], ['InvalidEnrollmentSignature', [1n]]);
  assert.equal(await isEnrolled(sponsor, studyId, patients[0]!.address), false, 'the batch reverted as a whole');

  // Past its deadline; then the patient's fresh signature (nonce 2) and the third patient's own one go through.
  const late = await signEnrollment(patients[2]!, studyId, sponsor, { deadline: (await chainNow(sponsor)) - 1 });
  assert.equal((await refusal(enrollWithSignatures(sponsor, studyId, [late]))).errorName, 'EnrollmentDeadlinePassed');
  await enrollWithSignatures(sponsor, studyId, [fresh, signed[2]!]);
  assert.deepEqual((await enrollmentsOf(sponsor, studyId)).map((e) => e.patient).sort(), patients.map((p) => p.address).sort());
});

test('a patient without ether withdraws by a relayed signature, which ends that enrolment only', async (t) => {
  const { studyId } = await registerStudy(sponsor, await definition(sponsor, 'relayed withdrawal'));
  const patient = privateKeyToAccount(generatePrivateKey());
  const relayer = f.as(await f.newAccount());
  await enrollWithSignatures(sponsor, studyId, [await signEnrollment(patient, studyId, sponsor)]);
  const leave = await signWithdrawal(patient, studyId, sponsor, { nonce: 1 });
  const mallory = privateKeyToAccount(generatePrivateKey());
  const forged = { ...(await signWithdrawal(mallory, studyId, sponsor, { nonce: 1 })), patient: patient.address };
  const refused = await refusal(withdrawWithSignature(relayer, studyId, forged));
  assert.deepEqual([refused.errorName, refused.errorArgs], ['InvalidWithdrawalSignature', [patient.address]]);

  const withdrawn = await withdrawWithSignature(relayer, studyId, leave);
  t.diagnostic(`gas withdrawWithSignature ${withdrawn.gasUsed}`);
  assert.equal(await isEnrolled(sponsor, studyId, patient.address), false);
  assert.equal((await refusal(withdrawWithSignature(relayer, studyId, leave))).errorName, 'NotEnrolled');
  // Enrolled again (nonce 2): the old withdrawal does not end the new enrolment.
  await enrollWithSignatures(sponsor, studyId, [await signEnrollment(patient, studyId, sponsor, { nonce: 2 })]);
  assert.equal((await refusal(withdrawWithSignature(relayer, studyId, leave))).errorName, 'InvalidWithdrawalSignature');
  assert.equal(await isEnrolled(sponsor, studyId, patient.address), true);
});

test('rounds spend the privacy budget in order, only by the sponsor, never past it; results follow rounds', async (t) => {
  const def = await definition(sponsor, 'budget', 86_400, 1);
  const { studyId } = await registerStudy(sponsor, def);
  const stranger = f.as(await f.newAccount());
  const e = async (p: Promise<unknown>) => {
    const err = await refusal(p);
    return [err.errorName, err.errorArgs];
  };
  assert.deepEqual(await e(openStudyRound(stranger, studyId, 1, 0.4)), ['NotSponsor', [stranger.account!.address]]);
  assert.deepEqual(await e(openStudyRound(sponsor, studyId, 2, 0.4)), ['WrongRound', [1]]);
  assert.deepEqual(await e(openStudyRound(sponsor, studyId, 1, 0)), ['SpendNotIncreasing', [0n]]);
  assert.deepEqual(await e(recordStudyResult(sponsor, studyId, h('model'), h('consent'))), ['InvalidResult', []], 'no round, no result');

  const first = await openStudyRound(sponsor, studyId, 1, 0.4);
  const second = await openStudyRound(sponsor, studyId, 2, 0.7);
  t.diagnostic(`gas openRound first ${first.gasUsed}, next ${second.gasUsed}`);
  assert.deepEqual(await e(openStudyRound(sponsor, studyId, 3, 0.7)), ['SpendNotIncreasing', [700_000n]]);
  assert.deepEqual(await e(openStudyRound(sponsor, studyId, 3, 1.000001)), ['BudgetExhausted', [300_000n]]);
  assert.deepEqual(await e(openStudyRound(sponsor, studyId, 2, 0.8)), ['WrongRound', [3]]);
  await openStudyRound(sponsor, studyId, 3, 1);
  assert.deepEqual(await e(openStudyRound(sponsor, studyId, 4, 1.000001)), ['BudgetExhausted', [0n]], 'the budget is spent');
  assert.deepEqual(await e(openStudyRound(sponsor, h('unknown'), 1, 0.1)), ['UnknownStudy', [h('unknown')]]);

  assert.deepEqual(await e(recordStudyResult(stranger, studyId, h('model'), h('consent'))), ['NotSponsor', [stranger.account!.address]]);
  assert.deepEqual(await e(recordStudyResult(sponsor, studyId, `0x${'0'.repeat(64)}`, h('consent'))), ['InvalidResult', []]);
  const result = await recordStudyResult(sponsor, studyId, h('model'), h('consent'));
  t.diagnostic(`gas recordResult ${result.gasUsed}`);
  const study = await studyOf(stranger, studyId);
  assert.equal(study!.epsilonSpent, 1);
  assert.equal(study!.rounds, 3);
  assert.deepEqual(study!.result, { modelHash: h('model'), consentSetHash: h('consent'), round: 3, recordedAt: result.blockNumber });
  assert.deepEqual(await e(recordStudyResult(sponsor, studyId, h('model 2'), h('consent'))), ['InvalidResult', []], 'a second result needs a new round');
});

test('after the expiry nobody enrols and no round opens, but a patient can still withdraw', { skip: travelSkip }, async () => {
  const { studyId } = await registerStudy(sponsor, await definition(sponsor, 'short', 120));
  const alice = f.as(await f.newAccount());
  await enrollInStudy(alice, studyId);
  const bob = privateKeyToAccount(generatePrivateKey());
  const bobSigned = await signEnrollment(bob, studyId, sponsor);
  const carol = f.as(await f.newAccount());
  await travel(sponsor, 180);
  assert.equal((await refusal(enrollInStudy(carol, studyId))).errorName, 'StudyExpired');
  assert.equal((await refusal(enrollWithSignatures(sponsor, studyId, [bobSigned]))).errorName, 'StudyExpired');
  assert.equal((await refusal(openStudyRound(sponsor, studyId, 1, 0.1))).errorName, 'StudyExpired');
  await withdrawFromStudy(alice, studyId);
  assert.equal(await isEnrolled(sponsor, studyId, alice.account!.address), false);
});
