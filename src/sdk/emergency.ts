/**
 * Break-glass: an accredited provider opens a time-boxed emergency read of a patient's emergency data
 * set without prior consent, stating a reason. Only keccak256(salt ‖ reason) goes on chain (a reason
 * such as "unconscious after a fall" is guessable, so it is salted); the provider keeps the reason and
 * salt and presents both to the gatekeeper holding the records, which checks them against the chain
 * and writes the reason into the patient's audit trail. Pure viem, so the EHR Manager runs it in the
 * browser too.
 *
 * @example
 * const opened = await openBreakGlass(erDoctor, { patient, reason: 'unconscious on arrival, no next of kin' });
 * const gk = gatekeeperClient({ url, gatekeeper: holder, chainId, account, breakGlass: opened.statement });
 * await gk.get('/fhir/R4/AllergyIntolerance');
 */
import { bytesToHex, concat, getAbiItem, keccak256, parseEventLogs, stringToHex, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { toLedgerError, writeLedger } from '../chain/write.js';
import { txResult, type TxResult } from './registrar.js';

/** Length (and longest allowed) of an opening, in seconds: MedLedger's BREAK_GLASS_DURATION. */
export const BREAK_GLASS_DURATION = 24 * 3600;
import { BREAK_GLASS_HEADER } from '../protocol/headers.js';
export { BREAK_GLASS_HEADER };
export const MAX_REASON_LENGTH = 500;

/** What the provider stated: the reason and the salt its on-chain hash was made with. */
export interface BreakGlassStatement {
  reason: string;
  salt: Hex;
}

/** A reason that is empty or too long. */
export class InvalidReasonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidReasonError';
  }
}

function checkReason(reason: string): string {
  const trimmed = reason.trim();
  if (!trimmed) throw new InvalidReasonError('a break-glass opening needs a reason');
  if (trimmed.length > MAX_REASON_LENGTH) throw new InvalidReasonError(`the reason is longer than ${MAX_REASON_LENGTH} characters`);
  return trimmed;
}

/** A statement of `reason` with a fresh random salt. */
export function newBreakGlassStatement(reason: string): BreakGlassStatement {
  return { reason: checkReason(reason), salt: bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32))) };
}

/** keccak256(salt ‖ UTF-8 reason): what goes on chain. */
export function hashBreakGlassReason({ reason, salt }: BreakGlassStatement): Hex {
  return keccak256(concat([salt, stringToHex(reason)]));
}

/** The header value for a statement (ASCII only, so any reason survives HTTP). */
export function formatBreakGlassHeader({ reason, salt }: BreakGlassStatement): string {
  return `${salt}.${encodeURIComponent(reason)}`;
}

/** Parses a header value; throws InvalidReasonError when it is malformed. */
export function parseBreakGlassHeader(value: string): BreakGlassStatement {
  const m = /^(0x[0-9a-fA-F]{64})\.(.+)$/.exec(value);
  if (!m) throw new InvalidReasonError(`${BREAK_GLASS_HEADER} must be "<0x salt>.<percent-encoded reason>"`);
  let reason: string;
  try {
    reason = decodeURIComponent(m[2]!);
  } catch {
    throw new InvalidReasonError(`${BREAK_GLASS_HEADER}: the reason is not percent-encoded UTF-8`);
  }
  return { reason: checkReason(reason), salt: m[1]!.toLowerCase() as Hex };
}

/**
 * Opens an emergency read of `patient` for `durationSeconds` (default and at most 24 h). Accredited
 * providers only. Keep `statement`: the gatekeepers holding the records ask for it.
 */
export async function openBreakGlass(
  client: LedgerClient,
  { patient, reason, durationSeconds = 0 }: { patient: Address; reason: string; durationSeconds?: number },
): Promise<TxResult & { patient: Address; provider: Address; expiresAt: number; reasonHash: Hex; statement: BreakGlassStatement }> {
  if (!client.account) throw new Error('opening break-glass needs the provider account');
  if (!Number.isInteger(durationSeconds) || durationSeconds < 0 || durationSeconds > BREAK_GLASS_DURATION) {
    throw new RangeError(`the duration must be 1 s to ${BREAK_GLASS_DURATION / 3600} h`);
  }
  const statement = newBreakGlassStatement(reason);
  const reasonHash = hashBreakGlassReason(statement);
  const receipt = await writeLedger(client, 'openBreakGlass', [patient, reasonHash, durationSeconds]);
  const [opened] = parseEventLogs({ abi: medLedgerAbi, logs: receipt.logs, eventName: 'BreakGlassOpened' });
  if (!opened) throw new Error('BreakGlassOpened event missing from receipt');
  return { ...txResult(receipt), patient, provider: client.account.address, expiresAt: Number(opened.args.expiresAt), reasonHash, statement };
}

/** Ends `provider`'s open emergency read of `patient` now. The provider, or the patient's key. */
export async function closeBreakGlass(client: LedgerClient, { patient, provider }: { patient: Address; provider: Address }): Promise<TxResult> {
  return txResult(await writeLedger(client, 'closeBreakGlass', [patient, provider]));
}

/** Allows (the default) or forbids break-glass openings of `patient`. The patient's key only. */
export async function setBreakGlassAllowed(client: LedgerClient, { patient, allowed }: { patient: Address; allowed: boolean }): Promise<TxResult> {
  return txResult(await writeLedger(client, 'setBreakGlassAllowed', [patient, allowed]));
}

/** Whether `patient` allows break-glass openings now. */
export async function breakGlassAllowed(client: LedgerClient, patient: Address): Promise<boolean> {
  const [, control] = await client.publicClient.readContract({ abi: medLedgerAbi, address: client.contract, functionName: 'recoveryOf', args: [patient] });
  return !control.breakGlassDisabled;
}

/**
 * Resolves with the expiry (unix seconds) when `provider` has an open emergency read of `patient` now
 * (chain time); throws LedgerError NotAccredited, NoBreakGlass or BreakGlassExpired otherwise.
 */
export async function checkBreakGlass(
  client: LedgerClient,
  { patient, provider, blockNumber }: { patient: Address; provider: Address; blockNumber?: bigint },
): Promise<number> {
  try {
    return Number(
      await client.publicClient.readContract({ abi: medLedgerAbi, address: client.contract, functionName: 'checkBreakGlass', args: [patient, provider], blockNumber }),
    );
  } catch (err) {
    toLedgerError(err);
  }
}

/** One BreakGlassOpened event: who opened whose record, when, until when. */
export interface BreakGlassOpening {
  patient: Address;
  provider: Address;
  reasonHash: Hex;
  /** Unix seconds. */
  expiresAt: number;
  blockNumber: bigint;
  transactionHash: Hex;
}

const breakGlassOpened = getAbiItem({ abi: medLedgerAbi, name: 'BreakGlassOpened' });

/**
 * Every break-glass opening of `patient` (or by `provider`), oldest first: the patient's "who opened
 * my record in an emergency" list. Closed and expired ones are included; they happened.
 */
export async function breakGlassOpenings(
  client: LedgerClient,
  filter: { patient?: Address; provider?: Address; reasonHash?: Hex },
): Promise<BreakGlassOpening[]> {
  const logs = await client.publicClient.getLogs({
    address: client.contract,
    event: breakGlassOpened,
    args: filter,
    fromBlock: client.deployBlock,
    toBlock: 'latest',
  });
  return logs.map((l) => ({
    patient: l.args.patient!,
    provider: l.args.provider!,
    reasonHash: l.args.reasonHash!,
    expiresAt: Number(l.args.expiresAt),
    blockNumber: l.blockNumber,
    transactionHash: l.transactionHash,
  }));
}
