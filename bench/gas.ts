/**
 * Gas used by each step of the consent flow, measured from receipts on a fresh embedded chain.
 * Shared by `npm run bench` (which records it) and test/gas.test.ts (which holds the targets).
 *
 * Each measured transaction is the first of its block, in a block with a new timestamp: a write that
 * follows another in the same second can find `updatedAt` already at this second and pay 100 gas
 * for that store instead of 2,900, which is not what a provider updating a pointer pays in practice.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { LedgerClient } from '../src/chain/client.js';
import { writeLedger } from '../src/chain/write.js';
import { hashResultSet } from '../src/records/hash.js';
import { grantViewer, respond, revokeViewer, setStatus, updatePointer, updatePointers, addRelationship, addPointer } from '../src/sdk/index.js';
import { attestPatient, registerPatient } from '../src/sdk/registrar.js';
import { hashIdentity } from '../src/sdk/identity.js';
import { enrollInStudy, enrollWithSignatures, openStudyRound, recordStudyResult, registerStudy, signEnrollment, withdrawFromStudy } from '../src/sdk/studies.js';
import type { StudyDefinition } from '../src/protocol/research/study.js';
import { PEPPER, startFixture } from './harness/chain.js';

/**
 * Targets from issue 14 (issue 3's were 100k / 120k / 60k / 60k / 30k / 40k / 40k). MIT MedRec 2.0,
 * for reference: 1.39M per relationship, 321k per grant.
 */
export const GAS_TARGETS = {
  registerPatient: 100_000,
  addRelationship: 85_000,
  updatePointer: 38_000,
  grantViewer: 51_000,
  revokeViewer: 27_000,
  setStatus: 30_000,
  respond: 40_000,
} as const;

/**
 * Targets the layout does not reach, with why (README, "Contract design and gas"): each is within a
 * few hundred gas of the floor its storage reads, writes and event put under it. Their issue-3 target
 * still holds (ISSUE_3_TARGETS).
 */
export const GAS_TARGETS_OPEN: Partial<Record<keyof typeof GAS_TARGETS, string>> = {
  setStatus: 'two cold reads (relationship, accreditation) + a write + its event + calldata: floor 30,197 before any code runs (measured 30,955)',
};

/** Issue 3's targets, which every operation still meets. */
export const ISSUE_3_TARGETS = { registerPatient: 100_000, addRelationship: 120_000, updatePointer: 60_000, grantViewer: 60_000, revokeViewer: 30_000, setStatus: 40_000, respond: 40_000 } as const;

/** Figures before issue 14 (bench/results.json of 2026-11-26, updatePointer re-measured in a new block): no operation may get worse. */
export const GAS_BEFORE_ISSUE_14 = {
  registerPatient: 77_384,
  addRelationship: 104_012,
  addRelationshipFirst: 104_012,
  addPointer: 59_264,
  updatePointer: 40_110,
  grantViewer: 52_645,
  revokeViewer: 27_945,
  setStatus: 32_159,
  respond: 29_790,
  anchorAudit: 49_160,
} as const;

/**
 * Issue 19: an audit anchor adds no storage slot (MedLedger.anchorAudit). Its floor: the transaction's
 * 21,000 and ~700 of calldata, the accreditation read (2,100), two cold stores to the provider's
 * existing AuditChain record (2 × 5,000: the head, the next sequence number) and a four-topic event
 * with 96 bytes of data (2,643); 49,160 before, when each root took a new slot (22,100).
 */
export const ANCHOR_GAS_TARGET = 40_000;

/**
 * Ceilings for the research-study operations (issue 16, contracts/StudyRegistry.sol): each is its
 * storage floor plus a little. A registration writes three fresh slots (66,300 gas); an enrolment one
 * fresh slot (22,100) whether sent by the patient or relayed with their signature (plus ecrecover);
 * a withdrawal, a round and a result only change slots that already hold something.
 */
export const STUDY_GAS_TARGETS = {
  registerStudy: 100_000,
  enrollInStudy: 50_000,
  /** Per patient in a relayed batch of ten. */
  enrollWithSignature: 40_000,
  withdrawFromStudy: 30_000,
  openStudyRound: 40_000,
  recordStudyResult: 80_000,
} as const;

/**
 * Batched pointer publishing (issue 19, MedLedger.updatePointers): gas per pointer in a batch of
 * POINTER_BATCH pointers, each of another relationship (another patient), measured as
 * (gas(batch of N) − gas(batch of 1)) / (N − 1), the transaction's 21,000 and the call's fixed cost
 * left out. The target is the steady state (the relationship already Updated, as updatePointer's).
 */
export const POINTER_BATCH_GAS_TARGETS = { updatePointersPerPointer: 15_000 } as const;

/** Pointers in the measured batch. */
export const POINTER_BATCH = 100;

/**
 * The batch figures: `PerPointer` the marginal gas of one more pointer, `Average` the whole
 * transaction ÷ N; `First…` when every relationship's status changes to Updated (a store and a
 * StatusChanged more per pointer), the rest in the steady state.
 */
export type PointerBatchGas = Record<'updatePointersPerPointer' | 'updatePointersAverage' | 'updatePointersFirstPerPointer' | 'updatePointersFirstAverage', number>;

export type GasReport = Record<keyof typeof GAS_BEFORE_ISSUE_14 | keyof typeof STUDY_GAS_TARGETS, number> & PointerBatchGas;

/**
 * Makes the next transaction open a block one second after the latest (anvil's dev methods; on an
 * external node, which has no such method, it waits for the next block instead).
 */
async function nextBlock(client: LedgerClient): Promise<void> {
  const pc = client.publicClient;
  const latest = await pc.getBlock({ blockTag: 'latest' });
  try {
    await pc.request({ method: 'evm_setNextBlockTimestamp' as never, params: [`0x${(latest.timestamp + 1n).toString(16)}`] as never });
  } catch {
    while ((await pc.getBlockNumber({ cacheTime: 0 })) === latest.number) await new Promise((r) => setTimeout(r, client.pollingIntervalMs));
  }
}

/** Runs each operation once in its usual (steady-state) situation and returns gasUsed per operation. */
export async function measureGas(): Promise<GasReport> {
  const f = await startFixture();
  try {
    const provider = await f.newProvider();
    const other = await f.newProvider();
    const patient = f.as(await f.newAccount());
    const viewer = await f.newAccount();
    const fresh = async <T>(op: () => Promise<T>): Promise<T> => {
      await nextBlock(provider);
      return op();
    };
    const identityHash = hashIdentity('urn:bench|1', PEPPER);
    const attestation = await attestPatient(provider, { identityHash, patient: patient.account!.address });
    const register = await fresh(() => registerPatient(patient, { identityHash, attester: provider.account!.address, attestation }));

    const data = (n: number) => hashResultSet([{ resourceType: 'Observation', id: String(n) }]);
    const query = 'Observation?category=laboratory';
    const first = await fresh(() => addRelationship(other, { patient: patient.account!.address, query, dataHash: data(0) }));
    // Steady state: the patient already has a relationship, as almost every patient will.
    const rel = await fresh(() => addRelationship(provider, { patient: patient.account!.address, query, dataHash: data(1) }));
    const id = rel.relationshipId;
    const pointer = await fresh(() => addPointer(provider, { relationshipId: id, query: 'Condition', dataHash: data(2) }));
    // Steady state: the relationship's status is already `updated` by an earlier pointer change.
    const update = await fresh(() => updatePointer(provider, { relationshipId: id, query, dataHash: data(3) }));
    const status = await fresh(() => setStatus(provider, { relationshipId: id, status: 'awaiting-approval' }));
    const accept = await fresh(() => respond(patient, { relationshipId: id, accept: true }));
    const scope = 'Observation?category=laboratory';
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    const grant = await fresh(() => grantViewer(patient, { relationshipId: id, viewer: viewer.address, scope, expiresAt }));
    const revoke = await fresh(() => revokeViewer(patient, { relationshipId: id, viewer: viewer.address, scope }));
    // A gatekeeper's audit anchor (audit.ts anchorPending): its second, as every later one (the first
    // creates the provider's AuditChain record, two slots). Batches are contiguous: 0–100, then 101–200.
    await writeLedger(provider, 'anchorAudit', [data(4), 0n, 101n]);
    const anchor = await fresh(() => writeLedger(provider, 'anchorAudit', [data(5), 101n, 100n]));
    const study = await measureStudyGas(f, fresh);
    const batch = await measurePointerBatchGas(f, provider, fresh);
    const n = (r: { gasUsed: bigint }) => Number(r.gasUsed);
    return {
      registerPatient: n(register),
      addRelationship: n(rel),
      addRelationshipFirst: n(first),
      addPointer: n(pointer),
      updatePointer: n(update),
      grantViewer: n(grant),
      revokeViewer: n(revoke),
      setStatus: n(status),
      respond: n(accept),
      anchorAudit: n(anchor),
      ...study,
      ...batch,
    };
  } finally {
    await f.close();
  }
}

/**
 * updatePointers on POINTER_BATCH + 1 relationships of `provider`, one per new patient, one pointer
 * each: a batch of 1 and a batch of N while every status changes from New to Updated, then again in
 * the steady state (each a fresh block).
 */
export async function measurePointerBatchGas(
  f: Awaited<ReturnType<typeof startFixture>>,
  provider: LedgerClient,
  fresh: <T>(op: () => Promise<T>) => Promise<T>,
): Promise<PointerBatchGas> {
  const query = 'Observation?category=laboratory';
  const data = (round: number, n: number) => hashResultSet([{ resourceType: 'Observation', id: `batch-${round}-${n}` }]);
  const patients = await Promise.all(Array.from({ length: POINTER_BATCH + 1 }, () => f.newPatient(provider)));
  const ids: bigint[] = [];
  for (const [n, p] of patients.entries()) ids.push((await addRelationship(provider, { patient: p.account!.address, query, dataHash: data(0, n) })).relationshipId);
  const round = async (r: number) => {
    const single = await fresh(() => updatePointers(provider, [{ relationshipId: ids[POINTER_BATCH]!, query, dataHash: data(r, POINTER_BATCH) }]));
    const updates = ids.slice(0, POINTER_BATCH).map((relationshipId, n) => ({ relationshipId, query, dataHash: data(r, n) }));
    const whole = await fresh(() => updatePointers(provider, updates));
    const [one, all] = [Number(single[0]!.gasUsed), Number(whole[0]!.gasUsed)];
    return { perPointer: Math.round((all - one) / (POINTER_BATCH - 1)), average: Math.round(all / POINTER_BATCH) };
  };
  const first = await round(1);
  const steady = await round(2);
  return {
    updatePointersPerPointer: steady.perPointer,
    updatePointersAverage: steady.average,
    updatePointersFirstPerPointer: first.perPointer,
    updatePointersFirstAverage: first.average,
  };
}

/**
 * The research-study operations, each in its usual situation: a study registered, a patient enrolling
 * and withdrawing on their own, ten patients enrolled by one relayed batch (per patient), a round after
 * the first (the spend already non-zero), a first result.
 */
async function measureStudyGas(
  f: Awaited<ReturnType<typeof startFixture>>,
  fresh: <T>(op: () => Promise<T>) => Promise<T>,
): Promise<Record<keyof typeof STUDY_GAS_TARGETS, number>> {
  const sponsor = f.as(await f.newAccount());
  const patient = f.as(await f.newAccount());
  const now = Number((await sponsor.publicClient.getBlock({ blockTag: 'latest' })).timestamp);
  const def: StudyDefinition = {
    version: 1,
    title: 'Gas benchmark study',
    sponsor: { name: 'Bench', address: sponsor.account!.address },
    purpose: 'measure gas',
    data: { features: ['age', 'sex', 'cp', 'trestbps', 'chol'] },
    inclusion: 'everyone',
    model: { type: 'logistic-regression', rounds: 10, learningRate: 0.5, siteIntercept: true },
    privacy: { epsilon: 1, delta: 1e-5, clip: 1, minSites: 3 },
    expiresAt: new Date((now + 86_400) * 1000).toISOString(),
  };
  const register = await fresh(() => registerStudy(sponsor, def));
  const { studyId } = register;
  const enroll = await fresh(() => enrollInStudy(patient, studyId));
  const withdraw = await fresh(() => withdrawFromStudy(patient, studyId));
  const signers = Array.from({ length: 10 }, () => privateKeyToAccount(generatePrivateKey()));
  const signed = await Promise.all(signers.map((s) => signEnrollment(s, studyId, sponsor)));
  const relayed = await fresh(() => enrollWithSignatures(sponsor, studyId, signed));
  await openStudyRound(sponsor, studyId, 1, 0.1);
  const round = await fresh(() => openStudyRound(sponsor, studyId, 2, 0.2));
  const result = await fresh(() => recordStudyResult(sponsor, studyId, hashResultSet([]), hashResultSet([{ resourceType: 'Patient', id: 'x' }])));
  const n = (r: { gasUsed: bigint }) => Number(r.gasUsed);
  return {
    registerStudy: n(register),
    enrollInStudy: n(enroll),
    enrollWithSignature: Math.round(n(relayed) / signers.length),
    withdrawFromStudy: n(withdraw),
    openStudyRound: n(round),
    recordStudyResult: n(result),
  };
}
