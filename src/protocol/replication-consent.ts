/**
 * The patient's consent to a full copy (EIP-712, https://eips.ethereum.org/EIPS/eip-712): "provider
 * `replica` may keep a copy of what provider `source` holds for me, sensitive-labelled records
 * included". Third-party viewers never receive records labelled R, V, HIV, PSY, … (consent/policy.ts),
 * and a grant to a provider is also how a patient shares data for care, so a grant alone cannot mean
 * "copy everything": without this signature the source withholds those records and the copy fails
 * verification. The signature cannot be withdrawn, but it gives nothing by itself: the source still
 * exports only the pointers the replica holds live on-chain grants for, so revoking them ends it.
 */
import { recoverTypedDataAddress, type Address, type Hex, type LocalAccount } from 'viem';

export const REPLICATION_CONSENT_TYPES = {
  ReplicationConsent: [
    { name: 'patient', type: 'address' },
    { name: 'source', type: 'address' },
    { name: 'replica', type: 'address' },
  ],
} as const;

export interface ReplicationConsentFields {
  patient: Address;
  source: Address;
  replica: Address;
  chainId: number;
  /** The MedLedger contract: a consent belongs to one deployment. */
  contract: Address;
}

function typedData(f: ReplicationConsentFields) {
  return {
    domain: { name: 'MedLedger Replication', version: '1', chainId: f.chainId, verifyingContract: f.contract },
    types: REPLICATION_CONSENT_TYPES,
    primaryType: 'ReplicationConsent',
    message: { patient: f.patient, source: f.source, replica: f.replica },
  } as const;
}

/** The patient (`account`) signs their consent to `replica` copying `source`'s records of them. */
export function signReplicationConsent(account: LocalAccount, f: Omit<ReplicationConsentFields, 'patient'>): Promise<Hex> {
  return account.signTypedData(typedData({ ...f, patient: account.address }));
}

/** Whether `signature` is `patient`'s consent for exactly this source, replica and deployment. */
export async function isReplicationConsent(signature: string, f: ReplicationConsentFields): Promise<boolean> {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  try {
    const signer = await recoverTypedDataAddress({ ...typedData(f), signature: signature as Hex });
    return signer.toLowerCase() === f.patient.toLowerCase();
  } catch {
    return false;
  }
}

/** A pointer the replica copied, with the hash its copy matches (the source's on-chain hash). */
export interface ReplicatedPointer {
  query: string;
  dataHash: Hex;
}

export interface ReplicationResult {
  source: Address;
  patient: Address;
  patientId?: string;
  /** Block whose pointers the copy matches. */
  block: string;
  pointers: ReplicatedPointer[];
  /** Pointers of the relationship the patient has not granted to this provider: not copied. */
  skipped: string[];
  created: number;
  updated: number;
  deleted: number;
}
