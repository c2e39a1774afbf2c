/**
 * Guardian recovery: a patient's registered address is their identity for good; the key that signs
 * for it (the controller) can be moved to a new key by `threshold` of the patient's guardians after a
 * waiting period, during which the current key can cancel. Relationships, grants, delegates and audit
 * trails all name the identity, so they all stay. Pure viem, so the EHR Manager runs it in the browser.
 *
 * @example
 * await setGuardians(patient, { patient: me, guardians: [mum, dad, gp], threshold: 2 });
 * // key lost; the patient makes a new key and tells two guardians its address:
 * await approveRecovery(mum, { patient: me, newController: newKey });
 * await approveRecovery(gp, { patient: me, newController: newKey });
 * // two days later:
 * await finalizeRecovery(newKeyClient, { patient: me });
 */
import { getAbiItem, zeroAddress, type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { writeLedger } from '../chain/write.js';
import { ROLES, txResult, type TxResult } from './registrar.js';
import { relationshipIdsOf } from './summary.js';

/** MedLedger PatientControl: waiting period when none is set, and its bounds (seconds); most guardians. */
export const DEFAULT_RECOVERY_DELAY = 2 * 86_400;
export const MIN_RECOVERY_DELAY = 86_400;
export const MAX_RECOVERY_DELAY = 30 * 86_400;
export const MAX_GUARDIANS = 16;

export interface RecoveryState {
  patient: Address;
  /** The key that signs for the patient now. */
  controller: Address;
  guardians: Address[];
  threshold: number;
  /** Seconds between reaching the threshold and finalising. */
  recoveryDelay: number;
  breakGlassAllowed: boolean;
  /** The candidate that reached the threshold, and when it can be finalised (unix seconds). */
  scheduled?: { candidate: Address; readyAt: number };
  /** Candidates with approvals in the current round. */
  candidates: { candidate: Address; approvals: number }[];
}

const read = (client: LedgerClient, blockNumber?: bigint) => ({ abi: medLedgerAbi, address: client.contract, blockNumber }) as const;

/** The key that signs for `patient` now (the patient's own address until a recovery). */
export async function controllerOf(client: LedgerClient, patient: Address, blockNumber?: bigint): Promise<Address> {
  return client.publicClient.readContract({ ...read(client, blockNumber), functionName: 'controllerOf', args: [patient] });
}

/**
 * The patient identity `key` signs for: itself for a patient whose key never moved, the recovered
 * patient for a controller key, else undefined (a patient address whose key moved signs for nobody).
 */
export async function patientOfKey(client: LedgerClient, key: Address, blockNumber?: bigint): Promise<Address | undefined> {
  const pc = client.publicClient;
  const account = await pc.readContract({ ...read(client, blockNumber), functionName: 'accountOf', args: [key] });
  const role = ROLES[account.role];
  if (role === 'patient') return account.keyMoved ? undefined : key;
  if (role !== 'controller') return undefined;
  return pc.readContract({ ...read(client, blockNumber), functionName: 'patientOfController', args: [key] });
}

/**
 * Names `patient`'s guardians: `threshold` of them (more than half) can move the identity to a new
 * key after `recoveryDelay` seconds (default 2 days, 1 to 30 days). Replaces earlier guardians and
 * voids pending approvals; `guardians: []` with threshold 0 removes them. The patient's key only.
 */
export async function setGuardians(
  client: LedgerClient,
  { patient, guardians, threshold, recoveryDelay = 0 }: { patient: Address; guardians: readonly Address[]; threshold: number; recoveryDelay?: number },
): Promise<TxResult> {
  return txResult(await writeLedger(client, 'setGuardians', [patient, guardians, threshold, recoveryDelay]));
}

/**
 * As a guardian of `patient`, approves moving the identity to `newController` (the first approval
 * proposes it; approving another key replaces the caller's earlier approval).
 */
export async function approveRecovery(client: LedgerClient, { patient, newController }: { patient: Address; newController: Address }): Promise<TxResult> {
  return txResult(await writeLedger(client, 'approveRecovery', [patient, newController]));
}

/** Cancels `patient`'s pending recovery and every approval of it. The patient's current key only. */
export async function cancelRecovery(client: LedgerClient, { patient }: { patient: Address }): Promise<TxResult> {
  return txResult(await writeLedger(client, 'cancelRecovery', [patient]));
}

/**
 * Moves `patient` to the scheduled key once the waiting period is over. Anyone may send it. At the
 * patient's first recovery the contract needs every relationship id of the patient (it marks each as
 * asking for the new key, and checks the list is complete): they are read from the chain here.
 */
export async function finalizeRecovery(client: LedgerClient, { patient }: { patient: Address }): Promise<TxResult> {
  const account = await client.publicClient.readContract({ abi: medLedgerAbi, address: client.contract, functionName: 'accountOf', args: [patient] });
  // Ascending, as the contract requires (that is how it knows no id is named twice).
  const ids = account.keyMoved ? [] : (await relationshipIdsOf(client, patient)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return txResult(await writeLedger(client, 'finalizeRecovery', [patient, ids]));
}

const guardiansSet = getAbiItem({ abi: medLedgerAbi, name: 'GuardiansSet' });
const recoveryApproved = getAbiItem({ abi: medLedgerAbi, name: 'RecoveryApproved' });

/** `patient`'s guardians, recovery settings, and the state of any recovery, at one block. */
export async function recoveryOf(client: LedgerClient, patient: Address, blockNumber?: bigint): Promise<RecoveryState> {
  const pc = client.publicClient;
  const at = blockNumber ?? (await pc.getBlockNumber({ cacheTime: 0 }));
  const range = { address: client.contract, args: { patient }, fromBlock: client.deployBlock, toBlock: at } as const;
  const [[recovery, control], sets, approvals] = await Promise.all([
    pc.readContract({ ...read(client, at), functionName: 'recoveryOf', args: [patient] }),
    pc.getLogs({ ...range, event: guardiansSet }),
    pc.getLogs({ ...range, event: recoveryApproved }),
  ]);
  const candidates = await Promise.all(
    [...new Set(approvals.map((l) => l.args.candidate!))].map(async (candidate) => ({
      candidate,
      approvals: await pc.readContract({ ...read(client, at), functionName: 'approvalsOf', args: [patient, candidate] }),
    })),
  );
  const last = sets.at(-1);
  return {
    patient,
    controller: control.controller === zeroAddress ? patient : control.controller,
    guardians: control.threshold === 0 ? [] : [...(last?.args.guardians ?? [])],
    threshold: control.threshold,
    recoveryDelay: control.recoveryDelay || DEFAULT_RECOVERY_DELAY,
    breakGlassAllowed: !control.breakGlassDisabled,
    ...(recovery.candidate === zeroAddress ? {} : { scheduled: { candidate: recovery.candidate, readyAt: Number(recovery.readyAt) } }),
    candidates: candidates.filter((c) => c.approvals > 0),
  };
}

/** Every patient whose current guardians include `guardian`. */
export async function patientsGuardedBy(client: LedgerClient, guardian: Address): Promise<Address[]> {
  const pc = client.publicClient;
  const logs = await pc.getLogs({ address: client.contract, event: guardiansSet, fromBlock: client.deployBlock, toBlock: 'latest' });
  const named = [...new Set(logs.filter((l) => l.args.guardians!.some((g) => g.toLowerCase() === guardian.toLowerCase())).map((l) => l.args.patient!))];
  const current = await Promise.all(named.map((patient) => pc.readContract({ ...read(client), functionName: 'isGuardian', args: [patient, guardian] })));
  return named.filter((_, i) => current[i]);
}
