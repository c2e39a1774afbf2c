/**
 * Consented research studies on chain (issue 16): a sponsor registers a study definition's hash,
 * patients enrol and withdraw (themselves, or by an EIP-712 signature someone else relays), the sponsor
 * opens rounds against the study's privacy budget and records the final model. The contract is
 * StudyRegistry (contracts/StudyRegistry.sol), deployed beside MedLedger; its address is
 * `client.studyRegistry`. ε is a plain number here and micro-ε (1e-6) on chain.
 *
 * @example
 * const { studyId } = await registerStudy(sponsor, definition);
 * await enrollInStudy(patient, studyId);
 * await openStudyRound(sponsor, studyId, 1, 0.25); // total ε spent after round 1
 * const study = await studyOf(anyone, studyId); // study.epsilonSpent === 0.25
 */
import {
  encodeAbiParameters,
  getAbiItem,
  keccak256,
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type LocalAccount,
  type TransactionReceipt,
} from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { studyRegistryAbi } from '../chain/generated/contracts.js';
import { writeContract } from '../chain/write.js';
import {
  fromMicroEpsilon,
  studyExpiresAtSeconds,
  studyHash,
  toMicroEpsilon,
  validateStudy,
  type StudyDefinition,
} from '../protocol/research/study.js';
import { txResult, type TxResult } from './registrar.js';

type Registry = typeof studyRegistryAbi;
type StudyWrite = ContractFunctionName<Registry, 'nonpayable'>;

/** The StudyRegistry of the client's deployment. */
function registryOf(client: Pick<LedgerClient, 'studyRegistry'>): Address {
  if (!client.studyRegistry) throw new Error('this deployment has no StudyRegistry (deployed before it existed: redeploy, or set its address)');
  return client.studyRegistry;
}

/**
 * Sends one StudyRegistry write through writeContract (src/chain/write.ts), as writeLedger does for
 * MedLedger: the estimate surfaces the contract's custom error as a LedgerError (e.g. `BudgetExhausted`, `NotSponsor`).
 */
export async function writeStudyRegistry<F extends StudyWrite>(
  client: LedgerClient,
  functionName: F,
  args: ContractFunctionArgs<Registry, 'nonpayable', F>,
): Promise<TransactionReceipt> {
  if (!client.account) throw new Error('this study action needs a signing account');
  return writeContract(client, registryOf(client), { abi: studyRegistryAbi as Abi, functionName: functionName as string, args: args as readonly unknown[] }, client.account);
}

/** A study's id: keccak256(abi.encode(sponsor, studyHash)), as the contract computes it. */
export function studyIdOf(sponsor: Address, hash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [sponsor, hash]));
}

/**
 * Registers `def` (validated first) with the client's account as sponsor, which must be the
 * definition's sponsor address. The chain gets its hash, expiry, ε budget and minimum sites.
 */
export async function registerStudy(client: LedgerClient, def: StudyDefinition): Promise<TxResult & { studyId: Hex; studyHash: Hex }> {
  const study = validateStudy(def);
  const sponsor = client.account?.address;
  if (!sponsor || sponsor.toLowerCase() !== study.sponsor.address.toLowerCase()) {
    throw new Error(`the study's sponsor is ${study.sponsor.address}; register it from that account`);
  }
  const hash = studyHash(study);
  const args = [hash, studyExpiresAtSeconds(study), toMicroEpsilon(study.privacy.epsilon), study.privacy.minSites] as const;
  const receipt = await writeStudyRegistry(client, 'registerStudy', args);
  return { ...txResult(receipt), studyId: studyIdOf(study.sponsor.address, hash), studyHash: hash };
}

/** A study as the chain holds it; ε in plain numbers. */
export interface OnChainStudy {
  studyId: Hex;
  sponsor: Address;
  studyHash: Hex;
  /** Unix seconds. */
  expiresAt: number;
  epsilonBudget: number;
  epsilonSpent: number;
  /** Rounds opened so far. */
  rounds: number;
  minSites: number;
  /** The last recorded result, if any. */
  result?: { modelHash: Hex; consentSetHash: Hex; round: number; recordedAt: bigint };
}

/** Study `studyId`, or undefined when none is registered under it. */
export async function studyOf(client: LedgerClient, studyId: Hex, blockNumber?: bigint): Promise<OnChainStudy | undefined> {
  const s = await client.publicClient.readContract({ abi: studyRegistryAbi, address: registryOf(client), functionName: 'studyOf', args: [studyId], blockNumber });
  if (BigInt(s.sponsor) === 0n) return undefined;
  return {
    studyId,
    sponsor: s.sponsor,
    studyHash: s.studyHash,
    expiresAt: s.expiresAt,
    epsilonBudget: fromMicroEpsilon(s.epsilonBudget),
    epsilonSpent: fromMicroEpsilon(s.epsilonSpent),
    rounds: s.rounds,
    minSites: s.minSites,
    ...(s.resultRound > 0
      ? { result: { modelHash: s.modelHash, consentSetHash: s.consentSetHash, round: s.resultRound, recordedAt: s.resultRecordedAt } }
      : {}),
  };
}

/**
 * Why `def` is not the study `study` stands for, or undefined when it is: the hash, sponsor, expiry,
 * ε budget and minimum sites must all match (a sponsor could register a hash with other on-chain
 * terms). What a site checks before it serves a study, beside the clock and the round.
 */
export function studyMismatch(study: OnChainStudy, def: StudyDefinition): string | undefined {
  if (study.studyHash !== studyHash(def)) return 'the study definition does not match the hash registered on chain';
  if (study.sponsor.toLowerCase() !== def.sponsor.address.toLowerCase()) return 'the study was registered by another sponsor';
  if (study.expiresAt !== studyExpiresAtSeconds(def)) return 'the on-chain expiry differs from the definition';
  if (toMicroEpsilon(study.epsilonBudget) !== toMicroEpsilon(def.privacy.epsilon)) return 'the on-chain privacy budget differs from the definition';
  if (study.minSites !== def.privacy.minSites) return 'the on-chain minimum of sites differs from the definition';
  return undefined;
}

/** Enrols the client's account (a patient) in `studyId`. Throws LedgerError UnknownStudy, StudyExpired or AlreadyEnrolled. */
export async function enrollInStudy(patientClient: LedgerClient, studyId: Hex): Promise<TxResult> {
  return txResult(await writeStudyRegistry(patientClient, 'enroll', [studyId]));
}

/** Withdraws the client's account from `studyId` (possible at any time). Throws LedgerError NotEnrolled. */
export async function withdrawFromStudy(patientClient: LedgerClient, studyId: Hex): Promise<TxResult> {
  return txResult(await writeStudyRegistry(patientClient, 'withdraw', [studyId]));
}

/** Whether `patient` is enrolled in `studyId` now (or at `blockNumber`). */
export async function isEnrolled(client: LedgerClient, studyId: Hex, patient: Address, blockNumber?: bigint): Promise<boolean> {
  return client.publicClient.readContract({ abi: studyRegistryAbi, address: registryOf(client), functionName: 'isEnrolled', args: [studyId, patient], blockNumber });
}

/** The nonce `patient`'s next enrolment signature for `studyId` must carry (0 for a first enrolment). */
export async function enrollmentNonce(client: LedgerClient, studyId: Hex, patient: Address): Promise<number> {
  return client.publicClient.readContract({ abi: studyRegistryAbi, address: registryOf(client), functionName: 'enrollmentNonce', args: [studyId, patient] });
}

/** A patient's enrolment signature, for anyone to relay with enrollWithSignatures. */
export interface SignedEnrollment {
  patient: Address;
  nonce: number;
  /** Unix seconds after which the signature is void; 0 = none (the study's expiry still bounds it). */
  deadline: number;
  signature: Hex;
}

export const ENROLLMENT_TYPES = {
  Enrollment: [
    { name: 'studyId', type: 'bytes32' },
    { name: 'patient', type: 'address' },
    { name: 'nonce', type: 'uint32' },
    { name: 'deadline', type: 'uint40' },
  ],
} as const;

/** The EIP-712 data a patient signs to enrol in `studyId` (https://eips.ethereum.org/EIPS/eip-712). */
export function enrollmentTypedData(
  deployment: { chainId: number; studyRegistry?: Address },
  studyId: Hex,
  e: { patient: Address; nonce: number; deadline: number },
) {
  return {
    domain: { name: 'MedLedger Studies', version: '1', chainId: deployment.chainId, verifyingContract: registryOf(deployment) },
    types: ENROLLMENT_TYPES,
    primaryType: 'Enrollment',
    message: { studyId, patient: e.patient, nonce: e.nonce, deadline: e.deadline },
  } as const;
}

/**
 * The patient (`patientAccount`) signs their enrolment in `studyId` on `deployment` (a LedgerClient
 * will do). `nonce` must be enrollmentNonce(studyId, patient) (0 unless they enrolled before); the
 * signature enrols once and is void after a withdrawal.
 */
export async function signEnrollment(
  patientAccount: LocalAccount,
  studyId: Hex,
  deployment: { chainId: number; studyRegistry?: Address },
  { nonce = 0, deadline = 0 }: { nonce?: number; deadline?: number } = {},
): Promise<SignedEnrollment> {
  const e = { patient: patientAccount.address, nonce, deadline };
  return { ...e, signature: await patientAccount.signTypedData(enrollmentTypedData(deployment, studyId, e)) };
}

/**
 * Relays patients' signed enrolments in one transaction (the client's account pays the gas). The
 * batch reverts as a whole: LedgerError InvalidEnrollmentSignature(index), StaleEnrollment(index),
 * EnrollmentDeadlinePassed(index), AlreadyEnrolled(patient), UnknownStudy or StudyExpired.
 */
export async function enrollWithSignatures(client: LedgerClient, studyId: Hex, signed: readonly SignedEnrollment[]): Promise<TxResult> {
  const enrollments = signed.map((e) => ({ patient: e.patient, nonce: e.nonce, deadline: e.deadline, signature: e.signature }));
  return txResult(await writeStudyRegistry(client, 'enrollWithSignatures', [studyId, enrollments]));
}

export const WITHDRAWAL_TYPES = {
  Withdrawal: [
    { name: 'studyId', type: 'bytes32' },
    { name: 'patient', type: 'address' },
    { name: 'nonce', type: 'uint32' },
  ],
} as const;

/** A patient's signed withdrawal, for anyone to relay with withdrawWithSignature. */
export interface SignedWithdrawal {
  patient: Address;
  signature: Hex;
}

/**
 * The patient signs their withdrawal from `studyId`. `nonce` must be enrollmentNonce(studyId, patient)
 * now (odd: they are enrolled); the signature ends this enrolment only.
 */
export async function signWithdrawal(
  patientAccount: LocalAccount,
  studyId: Hex,
  deployment: { chainId: number; studyRegistry?: Address },
  { nonce }: { nonce: number },
): Promise<SignedWithdrawal> {
  const signature = await patientAccount.signTypedData({
    domain: { name: 'MedLedger Studies', version: '1', chainId: deployment.chainId, verifyingContract: registryOf(deployment) },
    types: WITHDRAWAL_TYPES,
    primaryType: 'Withdrawal',
    message: { studyId, patient: patientAccount.address, nonce },
  });
  return { patient: patientAccount.address, signature };
}

/** Relays a patient's signed withdrawal (the client's account pays). Throws LedgerError NotEnrolled or InvalidWithdrawalSignature. */
export async function withdrawWithSignature(client: LedgerClient, studyId: Hex, signed: SignedWithdrawal): Promise<TxResult> {
  return txResult(await writeStudyRegistry(client, 'withdrawWithSignature', [studyId, signed.patient, signed.signature]));
}

/**
 * Opens round `round` (the last plus one) of `studyId`, raising the study's total privacy spend to
 * `epsilonSpent` (cumulative, as the accountant states it after this round, e.g. E's
 * epsilonSpentAfter(plan, round)). Sponsor only. Throws LedgerError NotSponsor, StudyExpired,
 * WrongRound, SpendNotIncreasing or BudgetExhausted.
 */
export async function openStudyRound(client: LedgerClient, studyId: Hex, round: number, epsilonSpent: number): Promise<TxResult> {
  return txResult(await writeStudyRegistry(client, 'openRound', [studyId, round, toMicroEpsilon(epsilonSpent)]));
}

/** Records the study's model and the consent set it was trained on. Sponsor only; needs a round opened since the last result. */
export async function recordStudyResult(client: LedgerClient, studyId: Hex, modelHash: Hex, consentSetHash: Hex): Promise<TxResult> {
  return txResult(await writeStudyRegistry(client, 'recordResult', [studyId, modelHash, consentSetHash]));
}

/** A registration, as its event has it. */
export interface RegisteredStudy {
  studyId: Hex;
  sponsor: Address;
  studyHash: Hex;
  expiresAt: number;
  epsilonBudget: number;
  minSites: number;
  blockNumber: bigint;
  transactionHash: Hex;
}

const studyRegistered = getAbiItem({ abi: studyRegistryAbi, name: 'StudyRegistered' });
const studyEnrolled = getAbiItem({ abi: studyRegistryAbi, name: 'StudyEnrolled' });
const studyWithdrawn = getAbiItem({ abi: studyRegistryAbi, name: 'StudyWithdrawn' });

/** Every study registered on this deployment (optionally by one sponsor), oldest first, from the events. */
export async function studiesOf(client: LedgerClient, filter: { sponsor?: Address; toBlock?: bigint } = {}): Promise<RegisteredStudy[]> {
  const logs = await client.publicClient.getLogs({
    address: registryOf(client),
    event: studyRegistered,
    args: { sponsor: filter.sponsor },
    fromBlock: client.deployBlock,
    toBlock: filter.toBlock ?? 'latest',
  });
  return logs.map((l) => ({
    studyId: l.args.studyId!,
    sponsor: l.args.sponsor!,
    studyHash: l.args.studyHash!,
    expiresAt: l.args.expiresAt!,
    epsilonBudget: fromMicroEpsilon(l.args.epsilonBudget!),
    minSites: l.args.minSites!,
    blockNumber: l.blockNumber,
    transactionHash: l.transactionHash,
  }));
}

/** A patient enrolled now, with the block of their (latest) enrolment. */
export interface StudyEnrollment {
  patient: Address;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** The patients enrolled in `studyId` now (as of `toBlock`), from the enrol and withdraw events, by enrolment order. */
export async function enrollmentsOf(client: LedgerClient, studyId: Hex, toBlock?: bigint): Promise<StudyEnrollment[]> {
  const range = { address: registryOf(client), args: { studyId }, fromBlock: client.deployBlock, toBlock: toBlock ?? 'latest' } as const;
  const [enrolls, withdrawals] = await Promise.all([
    client.publicClient.getLogs({ ...range, event: studyEnrolled }),
    client.publicClient.getLogs({ ...range, event: studyWithdrawn }),
  ]);
  const logs = [...enrolls, ...withdrawals];
  const ordered = [...logs].sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : a.blockNumber < b.blockNumber ? -1 : 1));
  const enrolled = new Map<string, StudyEnrollment>();
  for (const l of ordered) {
    // Filtered by the indexed study id on the node; checked again so a node ignoring topics cannot mislead.
    if (l.args.studyId !== studyId) continue;
    const patient = l.args.patient!;
    if (l.eventName === 'StudyEnrolled') enrolled.set(patient, { patient, blockNumber: l.blockNumber, transactionHash: l.transactionHash });
    else enrolled.delete(patient);
  }
  return [...enrolled.values()];
}
