/**
 * Set-up of the scale bench: `count` registered patients, each linked in a provider's store and on
 * chain by a relationship whose one pointer (their lab results) carries the hash of the one lab
 * result the store holds for them. On 2 s blocks, sent one at a time, that is minutes of blocks; so
 * the set-up signs many transactions of one account with consecutive nonces and sends them together
 * (no outbox: nothing here is a write anyone acknowledged). Fees are those of write.ts: nothing at
 * all on a free-gas network, so the patients' fresh accounts need no ether.
 */
import type { Observation, Patient } from '@medplum/fhirtypes';
import { encodeFunctionData, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { LedgerClient } from '../../src/chain/client.js';
import { feesFor } from '../../src/chain/fees.js';
import { medLedgerAbi } from '../../src/chain/generated/contracts.js';
import { linkPatient } from '../../src/gatekeeper/publish/publish.js';
import { hashResultSet, type ResourceLike } from '../../src/records/hash.js';
import type { RecordStore } from '../../src/records/store.js';
import { hashIdentity } from '../../src/sdk/identity.js';
import { attestPatient } from '../../src/sdk/registrar.js';
import { relationshipIdFor } from '../../src/sdk/relationships.js';
import { PEPPER } from './chain.js';

/** The pointer every linked patient has: their lab results. */
export const LAB_QUERY = 'Observation?category=laboratory';

export interface LinkedPatient {
  /** Patient id in the provider's store. */
  patientId: string;
  address: Address;
  relationshipId: bigint;
}

export function labResult(patientId: string, value: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2025-01-01',
    valueQuantity: { value, unit: 'mg/dL' },
  };
}

interface Call {
  data: Hex;
  gas: bigint;
}

/** Signs `calls` to the contract as `account` with consecutive nonces from its pending count. */
async function signInOrder(client: LedgerClient, account: LocalAccount, calls: readonly Call[]): Promise<Hex[]> {
  const pc = client.publicClient;
  const [nonce, block] = await Promise.all([pc.getTransactionCount({ address: account.address, blockTag: 'pending' }), pc.getBlock({ blockTag: 'latest' })]);
  const fees = await feesFor(pc, block.baseFeePerGas);
  return Promise.all(calls.map((c, i) => account.signTransaction({ to: client.contract, data: c.data, gas: c.gas, ...fees, nonce: nonce + i, chainId: client.chainId })));
}

/** Sends signed transactions (in the order given) and waits until every one is mined and succeeded. */
export async function sendAndAwait(publicClient: PublicClient, raws: readonly Hex[], timeoutMs = 120_000): Promise<TransactionReceipt[]> {
  const hashes: Hex[] = [];
  for (const serializedTransaction of raws) hashes.push(await publicClient.sendRawTransaction({ serializedTransaction }));
  const receipts = new Map<Hex, TransactionReceipt>();
  const deadline = Date.now() + timeoutMs;
  while (receipts.size < hashes.length) {
    if (Date.now() > deadline) throw new Error(`${hashes.length - receipts.size} of ${hashes.length} set-up transactions not mined in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
    const pending = hashes.filter((h) => !receipts.has(h));
    const found = await Promise.all(pending.map((hash) => publicClient.getTransactionReceipt({ hash }).catch(() => undefined)));
    for (const r of found) if (r) receipts.set(r.transactionHash, r);
  }
  const failed = [...receipts.values()].filter((r) => r.status !== 'success');
  if (failed.length) throw new Error(`${failed.length} set-up transactions reverted (first ${failed[0]!.transactionHash})`);
  return hashes.map((h) => receipts.get(h)!);
}

/** Gas for `n` calls shaped like `first`: its estimate with a margin (they differ only in their arguments' values). */
async function gasLike(client: LedgerClient, account: Address, data: Hex): Promise<bigint> {
  const gas = await client.publicClient.estimateGas({ account, to: client.contract, data });
  return (gas * 13n) / 10n + 10_000n;
}

/** `count` patients, registered (attested by `provider`), linked in `store` and on chain with a lab pointer each. */
export async function linkedPatients(provider: LedgerClient, store: RecordStore, count: number, log: (line: string) => void = () => undefined): Promise<LinkedPatient[]> {
  const providerAccount = provider.account!;
  const accounts = Array.from({ length: count }, () => privateKeyToAccount(generatePrivateKey()));
  const identities = accounts.map((_, i) => `urn:bench:scale|${Date.now()}-${i}`);
  const registers = await Promise.all(
    accounts.map(async (patient, i) => {
      const identityHash = hashIdentity(identities[i]!, PEPPER);
      const attestation = await attestPatient(provider, { identityHash, patient: patient.address });
      return encodeFunctionData({ abi: medLedgerAbi, functionName: 'registerPatient', args: [identityHash, providerAccount.address, attestation] });
    }),
  );
  const registerGas = await gasLike(provider, accounts[0]!.address, registers[0]!);
  // Each patient signs its own registration (nonce 0); all go out together.
  const signed = await Promise.all(accounts.map(async (a, i) => (await signInOrder(provider, a, [{ data: registers[i]!, gas: registerGas }]))[0]!));
  await sendAndAwait(provider.publicClient, signed);
  log(`  ${count} patients registered`);

  const patients: LinkedPatient[] = [];
  const relationships: Hex[] = [];
  for (const [i, account] of accounts.entries()) {
    const patientId = (await store.create<Patient>({ resourceType: 'Patient', name: [{ family: `Scale${i}` }] })).id!;
    await linkPatient(store, provider, patientId, identities[i]!, PEPPER);
    await store.create(labResult(patientId, 90));
    const dataHash = hashResultSet((await store.resultSet(LAB_QUERY, patientId)) as ResourceLike[]);
    relationships.push(encodeFunctionData({ abi: medLedgerAbi, functionName: 'addRelationship', args: [account.address, LAB_QUERY, dataHash] }));
    patients.push({ patientId, address: account.address, relationshipId: relationshipIdFor(account.address, providerAccount.address) });
  }
  const relationshipGas = await gasLike(provider, providerAccount.address, relationships[0]!);
  await sendAndAwait(provider.publicClient, await signInOrder(provider, providerAccount, relationships.map((data) => ({ data, gas: relationshipGas }))));
  log(`  ${count} relationships, one lab pointer each`);
  return patients;
}
