/**
 * One-line explanations of contract refusals, for people at a terminal.
 */
import { LedgerError } from '../chain/write.js';
import { UnsafeQueryError } from '../protocol/pointer-query.js';

const MESSAGES: Record<string, (args: readonly unknown[]) => string> = {
  OwnableUnauthorizedAccount: ([a]) => `${a} is not the governor`,
  ZeroIdentity: () => 'the identity hash is empty',
  AlreadyRegistered: ([a]) => `${a} is already registered`,
  IdentityTaken: () => 'this identity is already registered to another address',
  NotAccredited: ([a]) => `${a} is not an accredited provider`,
  InvalidAttestation: () => 'the attestation was not signed by the attester for this identity and address',
  NotRegisteredPatient: ([a]) => `${a} is not a registered patient`,
  RelationshipExists: ([id]) => `a relationship already exists (id ${id})`,
  UnknownRelationship: ([id]) => `no relationship ${id}`,
  NotRelationshipProvider: ([id, a]) => `${a} is not the provider of relationship ${id}`,
  NotRelationshipPatient: ([id, a]) => `${a} is not the patient of relationship ${id}`,
  PointerExists: () => 'that query is already a pointer of the relationship',
  UnknownPointer: () => 'the relationship has no pointer with that query',
  ZeroDataHash: () => 'the data hash is empty',
  TooManyPointers: () => 'the relationship has too many pointers',
  InvalidStatus: ([s]) => `status ${s} cannot be set by the caller`,
  InvalidViewer: ([a]) => `${a} cannot be a viewer (the patient and provider already have access)`,
  ExpiryInPast: () => 'the expiry is in the past',
  RelationshipRejected: ([id]) => `relationship ${id} was rejected by the patient`,
  NotGranted: () => 'no active grant for that viewer and scope',
  GrantExpired: ([t]) => `the grant expired at ${new Date(Number(t) * 1000).toISOString()}`,
  NotController: ([p, a]) => `${a} does not hold the key of patient ${p}`,
  InvalidDelegate: ([a]) => `${a} cannot be a delegate (the patient and their key already act for them)`,
  InvalidPermissions: ([bits]) => `delegate permissions ${bits} are not respond, grant and read`,
  BeyondDelegation: ([, limit]) => `a delegate cannot grant beyond their own delegation (until ${new Date(Number(limit) * 1000).toISOString()})`,
  InvalidGuardian: ([a]) => `${a} cannot be a guardian (zero, the patient, their key, or named twice)`,
  InvalidThreshold: ([m, n]) => `${m} of ${n} guardians is not a majority (more than half must agree, at most 16 guardians)`,
  InvalidRecoveryDelay: () => 'the waiting period must be 1 to 30 days',
  NotGuardian: ([p, a]) => `${a} is not a guardian of ${p}`,
  InvalidController: ([a]) => `${a} cannot become a patient's key (it is registered or already holds one)`,
  AlreadyApproved: ([a]) => `you already approve ${a}`,
  NoRecoveryScheduled: ([p]) => `no recovery of ${p} has enough approvals`,
  RecoveryNotReady: ([t]) => `the waiting period runs until ${new Date(Number(t) * 1000).toISOString()}`,
  BreakGlassDisabled: ([p]) => `patient ${p} has forbidden break-glass access`,
  InvalidBreakGlassDuration: () => 'a break-glass opening lasts at most 24 hours',
  ZeroReason: () => 'a break-glass opening needs a reason',
  NoBreakGlass: ([p, a]) => `${a} has no open break-glass access to ${p}`,
  BreakGlassExpired: ([t]) => `the break-glass opening expired at ${new Date(Number(t) * 1000).toISOString()}`,
};

/** The one-line message for any error a command can raise. */
export function describeError(err: unknown): string {
  if (err instanceof LedgerError) return MESSAGES[err.errorName]?.(err.errorArgs) ?? err.message;
  if (err instanceof UnsafeQueryError) return err.message;
  if (err instanceof Error) {
    const first = err.message.split('\n')[0]!;
    if (/ECONNREFUSED|fetch failed|HTTP request failed/.test(err.message)) return `cannot reach the chain node: ${first}`;
    return first;
  }
  return String(err);
}
