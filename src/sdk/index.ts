/**
 * The MedLedger SDK: one typed function per step of the consent flow. Every write is signed locally
 * by the client's account and sent raw; every refusal is a LedgerError named by the contract's
 * custom error.
 *
 * @example
 * const provider = createLedgerClient(deployment, { account: providerAccount });
 * const { relationshipId } = await addRecordPointer(provider, { patient, query: 'Observation?category=laboratory', dataHash });
 */
export { createLedgerClient, withAccount, type LedgerClient, type Deployment } from '../chain/client.js';
export { LedgerError } from '../chain/write.js';
export { hashIdentity, normalizeIdentity, loadPepper } from './identity.js';
export {
  accreditProvider,
  attestPatient,
  getAccount,
  lookupIdentity,
  registerPatient,
  revokeAccreditation,
  type Account,
  type TxResult,
} from './registrar.js';
export {
  addPointer,
  addRecordPointer,
  addRelationship,
  findRelationship,
  getPointer,
  hashQuery,
  patientOf,
  relationshipIdFor,
  removePointer,
  respond,
  setStatus,
  updatePointer,
  STATUSES,
  type Status,
} from './relationships.js';
export { POINTER_BATCH_SIZE, PointerBatchError, updatePointers, type PointerUpdate } from './pointers.js';
export { checkAccess, grantTag, grantTagOf, grantViewer, revokeViewer, ScopeTooWideError } from './grants.js';
export {
  listProviderRelationships,
  readSummary,
  relationshipIdsOf,
  readSummary as listRelationships,
  restoreFromChain,
  type GrantState,
  type PointerState,
  type RelationshipState,
  type Summary,
} from './summary.js';
export { allowReplication, replicateRecords, withdrawReplication } from './replication.js';
export {
  BREAK_GLASS_DURATION,
  BREAK_GLASS_HEADER,
  breakGlassAllowed,
  breakGlassOpenings,
  checkBreakGlass,
  closeBreakGlass,
  formatBreakGlassHeader,
  hashBreakGlassReason,
  InvalidReasonError,
  newBreakGlassStatement,
  openBreakGlass,
  parseBreakGlassHeader,
  setBreakGlassAllowed,
  type BreakGlassOpening,
  type BreakGlassStatement,
} from './emergency.js';
export {
  actsFor,
  DELEGATE_PERMISSIONS,
  delegatesOf,
  delegationOf,
  delegationsTo,
  permissionBits,
  permissionNames,
  removeDelegate,
  setDelegate,
  type DelegatePermission,
  type Delegation,
} from './delegates.js';
export {
  approveRecovery,
  cancelRecovery,
  controllerOf,
  DEFAULT_RECOVERY_DELAY,
  finalizeRecovery,
  MAX_GUARDIANS,
  MAX_RECOVERY_DELAY,
  MIN_RECOVERY_DELAY,
  patientOfKey,
  patientsGuardedBy,
  recoveryOf,
  setGuardians,
  type RecoveryState,
} from './recovery.js';
export {
  lastModelRound,
  modelHistory,
  modelIdOf,
  modelRecordOf,
  recordModelRound,
  writeModelRegistry,
  type ModelRecord,
  type ModelRound,
} from './models.js';
export {
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
  type OnChainStudy,
  type RegisteredStudy,
  type SignedEnrollment,
  type SignedWithdrawal,
  type StudyEnrollment,
} from './studies.js';
