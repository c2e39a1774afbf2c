/**
 * Registrar actions: accredit providers (governor), attest and register patients, look identities up.
 */
import { type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { writeLedger } from '../chain/write.js';

export const ROLES = ['none', 'patient', 'provider', 'controller'] as const;
export type Role = (typeof ROLES)[number];

export interface Account {
  address: Address;
  role: Role;
  accredited: boolean;
  relationshipCount: number;
  registeredAt: number;
}

export interface TxResult {
  transactionHash: Hex;
  gasUsed: bigint;
  blockNumber: bigint;
}

function txResult(receipt: { transactionHash: Hex; gasUsed: bigint; blockNumber: bigint }): TxResult {
  return { transactionHash: receipt.transactionHash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
}
export { txResult };

/**
 * Accredits `provider` under `identityHash`. Governor only.
 * @example await accreditProvider(governor, { provider: '0x…', identityHash: hashIdentity('org|42', pepper) })
 */
export async function accreditProvider(
  client: LedgerClient,
  { provider, identityHash }: { provider: Address; identityHash: Hex },
): Promise<TxResult> {
  return txResult(await writeLedger(client, 'accreditProvider', [provider, identityHash]));
}

/** Withdraws `provider`'s accreditation. Governor only. */
export async function revokeAccreditation(client: LedgerClient, { provider }: { provider: Address }): Promise<TxResult> {
  return txResult(await writeLedger(client, 'revokeAccreditation', [provider]));
}

/** EIP-712 typed data a provider signs to vouch that `identityHash` belongs to `patient`. */
export function attestationTypedData(client: LedgerClient, identityHash: Hex, patient: Address) {
  return {
    domain: { name: 'MedLedger', version: '1', chainId: client.chainId, verifyingContract: client.contract },
    types: {
      PatientAttestation: [
        { name: 'identityHash', type: 'bytes32' },
        { name: 'patient', type: 'address' },
      ],
    },
    primaryType: 'PatientAttestation',
    message: { identityHash, patient },
  } as const;
}

/**
 * Signs an attestation as the client's (provider) account, after the provider checked the patient's
 * identity in person or against its records. No transaction.
 */
export async function attestPatient(
  client: LedgerClient,
  { identityHash, patient }: { identityHash: Hex; patient: Address },
): Promise<Hex> {
  if (!client.account) throw new Error('attesting needs the provider account');
  return client.account.signTypedData(attestationTypedData(client, identityHash, patient));
}

/** Registers the client's account as a patient, with a provider's attestation. */
export async function registerPatient(
  client: LedgerClient,
  { identityHash, attester, attestation }: { identityHash: Hex; attester: Address; attestation: Hex },
): Promise<TxResult> {
  return txResult(await writeLedger(client, 'registerPatient', [identityHash, attester, attestation]));
}

/** The address registered under `identityHash`, or undefined. */
export async function lookupIdentity(client: LedgerClient, identityHash: Hex): Promise<Address | undefined> {
  const address = await client.publicClient.readContract({
    abi: medLedgerAbi,
    address: client.contract,
    functionName: 'addressOf',
    args: [identityHash],
  });
  return /^0x0{40}$/.test(address) ? undefined : address;
}

/** The registrar account of `address` (role none when unregistered). */
export async function getAccount(client: LedgerClient, address: Address, blockNumber?: bigint): Promise<Account> {
  const a = await client.publicClient.readContract({
    abi: medLedgerAbi,
    address: client.contract,
    functionName: 'accountOf',
    args: [address],
    blockNumber,
  });
  return {
    address,
    role: ROLES[a.role] ?? 'none',
    accredited: a.accredited,
    relationshipCount: a.relationshipCount,
    registeredAt: a.registeredAt,
  };
}
