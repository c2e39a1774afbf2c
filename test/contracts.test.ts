/**
 * Every permission rule of Registrar + MedLedger, positive and negative, on one fresh chain. Each
 * refusal is checked by the contract's custom error name (and its arguments where they say who or
 * what was refused). The SDK is used where it exists; where the SDK validates off-chain first,
 * writeLedger sends the call as is, so the rule proven is the contract's own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { keccak256, parseEventLogs, stringToHex, zeroAddress, type Address, type Hex } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { toLedgerError, writeLedger } from '../src/chain/write.js';
import { UnsafeQueryError } from '../src/protocol/pointer-query.js';
import {
  accreditProvider,
  addPointer,
  addRelationship,
  attestPatient,
  checkAccess,
  findRelationship,
  getAccount,
  getPointer,
  grantTag,
  grantViewer,
  hashIdentity,
  hashQuery,
  LedgerError,
  listProviderRelationships,
  lookupIdentity,
  patientOf,
  readSummary,
  relationshipIdFor,
  relationshipIdsOf,
  registerPatient,
  removePointer,
  respond,
  revokeAccreditation,
  revokeViewer,
  ScopeTooWideError,
  setStatus,
  updatePointer,
  type LedgerClient,
} from '../src/sdk/index.js';
import { approveRecovery, DEFAULT_RECOVERY_DELAY, finalizeRecovery, setGuardians } from '../src/sdk/recovery.js';
import { attestationTypedData } from '../src/sdk/registrar.js';
import { travel, travelSkip } from './helpers/time.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';

const ZERO_HASH: Hex = `0x${'0'.repeat(64)}`;
const LAB = 'Observation?category=laboratory';
const VITALS = 'Observation?category=vital-signs';

let f: Fixture;
let governor: LedgerClient;
/** An accredited provider with its own patient and relationship, used across areas. */
let provider: LedgerClient;
/** A second accredited provider, a stranger to `relationship`. */
let otherProvider: LedgerClient;
let patient: LedgerClient;
/** Another registered patient. */
let otherPatient: LedgerClient;
/** A funded account that is nothing in the registrar. */
let stranger: LedgerClient;

before(async () => {
  f = await startFixture();
  governor = f.governor;
  provider = await f.newProvider();
  otherProvider = await f.newProvider();
  patient = await f.newPatient(provider);
  otherPatient = await f.newPatient(otherProvider);
  stranger = f.as(await f.newAccount());
});
after(() => f.close());

// ------------------------------------------------------------------ helpers

const addr = (client: LedgerClient): Address => client.account!.address;

/** A distinct data hash per label (stands in for hashResultSet of some records). */
const data = (label: string): Hex => keccak256(stringToHex(`data:${label}`));

let identities = 0;
/** A fresh identity hash nobody holds yet. */
const newIdentity = (): Hex => hashIdentity(`urn:test:contracts|${process.pid}-${identities++}`, PEPPER);

/** Asserts that `promise` is refused by the contract with `errorName` (and `errorArgs`, when given). */
async function refused(promise: Promise<unknown>, errorName: string, errorArgs?: readonly unknown[]): Promise<void> {
  await assert.rejects(promise, errorArgs ? { errorName, errorArgs } : { errorName });
}

/** A funded account that is not registered. */
async function newStranger(): Promise<LedgerClient> {
  return f.as(await f.newAccount());
}

/** Registers `client` as a patient under `identityHash`, attested by `attester`. */
async function registerWith(client: LedgerClient, attester: LedgerClient, identityHash = newIdentity()): Promise<Hex> {
  const attestation = await attestPatient(attester, { identityHash, patient: addr(client) });
  await registerPatient(client, { identityHash, attester: addr(attester), attestation });
  return identityHash;
}

/** A fresh accredited provider and a patient it attested, with one relationship holding `query`. */
async function newRelationship(query = 'Observation'): Promise<{ provider: LedgerClient; patient: LedgerClient; id: bigint }> {
  const p = await f.newProvider();
  const pt = await f.newPatient(p);
  const { relationshipId } = await addRelationship(p, { patient: addr(pt), query, dataHash: data(query) });
  return { provider: p, patient: pt, id: relationshipId };
}

/** The relationship record, through a plain eth_call; refusals as LedgerError. */
async function relationshipOf(id: bigint) {
  return governor.publicClient
    .readContract({ abi: medLedgerAbi, address: governor.contract, functionName: 'relationshipOf', args: [id] })
    .catch(toLedgerError);
}

async function statusOf(id: bigint): Promise<number> {
  return (await relationshipOf(id)).status;
}

const STATUS = { none: 0, new: 1, updated: 2, awaitingApproval: 3, accepted: 4, rejected: 5 } as const;

async function grantOf(id: bigint, viewer: Address, scope: string) {
  return governor.publicClient.readContract({
    abi: medLedgerAbi,
    address: governor.contract,
    functionName: 'grantOf',
    args: [id, grantTag(viewer, scope)],
  });
}

/** Unix time of the latest block (the chain's clock, which tests may move). */
async function chainNow(): Promise<number> {
  return Number((await governor.publicClient.getBlock({ blockTag: 'latest' })).timestamp);
}

async function nonceOf(client: LedgerClient): Promise<number> {
  return client.publicClient.getTransactionCount({ address: addr(client), blockTag: 'pending' });
}

/** An id for which no relationship exists, owned (by its upper bits) by `owner`. */
const missingId = (owner: Address, tag = 0xffff): bigint => (BigInt(owner) << 96n) | BigInt(tag);

// ------------------------------------------------------------------ registrar

test('registrar: only the governor accredits and revokes providers', async () => {
  const candidate = await f.newAccount();
  const identityHash = newIdentity();
  for (const caller of [stranger, provider, patient]) {
    await refused(accreditProvider(caller, { provider: candidate.address, identityHash }), 'OwnableUnauthorizedAccount', [addr(caller)]);
    await refused(revokeAccreditation(caller, { provider: addr(otherProvider) }), 'OwnableUnauthorizedAccount', [addr(caller)]);
  }
  // A provider cannot accredit itself a second identity either.
  await refused(accreditProvider(provider, { provider: addr(provider), identityHash }), 'OwnableUnauthorizedAccount', [addr(provider)]);
  assert.equal((await getAccount(governor, addr(otherProvider))).accredited, true);

  await accreditProvider(governor, { provider: candidate.address, identityHash });
  const account = await getAccount(governor, candidate.address);
  assert.equal(account.role, 'provider');
  assert.equal(account.accredited, true);
  assert.equal(account.relationshipCount, 0);
  assert.ok(account.registeredAt > 0 && account.registeredAt <= (await chainNow()));
  assert.equal(await lookupIdentity(governor, identityHash), candidate.address);

  await revokeAccreditation(governor, { provider: candidate.address });
  assert.equal((await getAccount(governor, candidate.address)).accredited, false);
});

test('registrar: identity squatting and forged attestations are refused', async () => {
  const victim = await newStranger();
  const squatter = await newStranger();
  const victimIdentity = newIdentity();
  const forVictim = await attestPatient(provider, { identityHash: victimIdentity, patient: addr(victim) });

  // The victim's own attestation, replayed from another address, does not verify.
  await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(provider), attestation: forVictim }), 'InvalidAttestation', []);
  // An attestation the squatter got for another identity does not cover the victim's identity.
  const forSquatter = await attestPatient(provider, { identityHash: newIdentity(), patient: addr(squatter) });
  await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(provider), attestation: forSquatter }), 'InvalidAttestation');
  // Signed by one provider, claimed to be from another.
  const byOther = await attestPatient(otherProvider, { identityHash: victimIdentity, patient: addr(squatter) });
  await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(provider), attestation: byOther }), 'InvalidAttestation');
  // Signed for another deployment or another chain (EIP-712 domain).
  const typed = attestationTypedData(provider, victimIdentity, addr(squatter));
  for (const domain of [
    { ...typed.domain, verifyingContract: addr(stranger) },
    { ...typed.domain, chainId: provider.chainId + 1 },
    { ...typed.domain, name: 'Other' },
  ]) {
    const attestation = await provider.account!.signTypedData({ ...typed, domain });
    await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(provider), attestation }), 'InvalidAttestation');
  }
  // Malformed signatures.
  for (const attestation of ['0x', '0x1234', `0x${'00'.repeat(65)}`] as Hex[]) {
    await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(provider), attestation }), 'InvalidAttestation');
  }
  // A well-formed attestation from an account that is not an accredited provider.
  for (const attester of [stranger, patient]) {
    const attestation = await attestPatient(attester, { identityHash: victimIdentity, patient: addr(squatter) });
    await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(attester), attestation }), 'NotAccredited', [addr(attester)]);
  }
  assert.equal(await lookupIdentity(governor, victimIdentity), undefined);
  assert.equal((await getAccount(governor, addr(squatter))).role, 'none');

  // The victim registers with their own attestation.
  await registerPatient(victim, { identityHash: victimIdentity, attester: addr(provider), attestation: forVictim });
  assert.equal(await lookupIdentity(governor, victimIdentity), addr(victim));

  // Now even a genuine attestation for the squatter's address cannot take the identity.
  const genuine = await attestPatient(provider, { identityHash: victimIdentity, patient: addr(squatter) });
  await refused(registerPatient(squatter, { identityHash: victimIdentity, attester: addr(provider), attestation: genuine }), 'IdentityTaken', [victimIdentity]);
  assert.equal(await lookupIdentity(governor, victimIdentity), addr(victim));
});

test('registrar: registration rules (twice, zero identity, providers, taken identities)', async () => {
  const person = await newStranger();
  const identity = await registerWith(person, provider);
  const account = await getAccount(governor, addr(person));
  assert.deepEqual({ ...account, registeredAt: 0 }, {
    address: addr(person),
    role: 'patient',
    accredited: false,
    relationshipCount: 0,
    registeredAt: 0,
  });
  assert.ok(account.registeredAt > 0);

  // Registering again, under the same or a new identity, is refused.
  await refused(registerWith(person, provider, identity), 'AlreadyRegistered', [addr(person)]);
  await refused(registerWith(person, otherProvider), 'AlreadyRegistered', [addr(person)]);
  // A provider cannot register as a patient (even attested by another provider).
  await refused(registerWith(provider, otherProvider), 'AlreadyRegistered', [addr(provider)]);
  // The zero identity, even with a valid attestation for it.
  await refused(registerWith(await newStranger(), provider, ZERO_HASH), 'ZeroIdentity', []);
  // A provider's identity cannot be registered by a patient.
  const providerIdentity = hashIdentity(`provider|${addr(otherProvider)}`, PEPPER);
  assert.equal(await lookupIdentity(governor, providerIdentity), addr(otherProvider));
  await refused(registerWith(await newStranger(), provider, providerIdentity), 'IdentityTaken', [providerIdentity]);
  // An unaccredited attester is refused before the signature is looked at.
  await refused(registerWith(await newStranger(), await newStranger()), 'NotAccredited');
});

test('registrar: accreditation rules (patients, identities, revoking the unaccredited)', async () => {
  // An address that is a patient cannot become a provider.
  await refused(accreditProvider(governor, { provider: addr(patient), identityHash: newIdentity() }), 'AlreadyRegistered', [addr(patient)]);
  // Zero or taken identities.
  const candidate = await f.newAccount();
  await refused(accreditProvider(governor, { provider: candidate.address, identityHash: ZERO_HASH }), 'ZeroIdentity');
  const patientIdentity = await registerWith(await newStranger(), provider);
  await refused(accreditProvider(governor, { provider: candidate.address, identityHash: patientIdentity }), 'IdentityTaken', [patientIdentity]);
  assert.equal((await getAccount(governor, candidate.address)).role, 'none');

  // Revoking someone who is not accredited: a stranger, a patient, a provider already revoked.
  await refused(revokeAccreditation(governor, { provider: candidate.address }), 'NotAccredited', [candidate.address]);
  await refused(revokeAccreditation(governor, { provider: addr(patient) }), 'NotAccredited', [addr(patient)]);
  const revoked = await f.newProvider();
  await revokeAccreditation(governor, { provider: addr(revoked) });
  await refused(revokeAccreditation(governor, { provider: addr(revoked) }), 'NotAccredited', [addr(revoked)]);

  // Accrediting an accredited provider again changes nothing; its identity stays the first one.
  const again = newIdentity();
  await accreditProvider(governor, { provider: addr(otherProvider), identityHash: again });
  assert.equal((await getAccount(governor, addr(otherProvider))).accredited, true);
  assert.equal(await lookupIdentity(governor, again), undefined);
  assert.equal(await lookupIdentity(governor, hashIdentity(`provider|${addr(otherProvider)}`, PEPPER)), addr(otherProvider));
});

test('registrar: a revoked provider can no longer act; re-accreditation restores it', async () => {
  const { provider: p, patient: pt, id } = await newRelationship(LAB);
  const newcomer = await newStranger();
  const newcomerIdentity = newIdentity();
  const attestation = await attestPatient(p, { identityHash: newcomerIdentity, patient: addr(newcomer) });
  const other = await f.newPatient(otherProvider);

  await revokeAccreditation(governor, { provider: addr(p) });
  const account = await getAccount(governor, addr(p));
  assert.equal(account.role, 'provider');
  assert.equal(account.accredited, false);

  const notAccredited = [addr(p)];
  await refused(addRelationship(p, { patient: addr(other), query: LAB, dataHash: data('x') }), 'NotAccredited', notAccredited);
  await refused(updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('new') }), 'NotAccredited', notAccredited);
  await refused(addPointer(p, { relationshipId: id, query: VITALS, dataHash: data('v') }), 'NotAccredited', notAccredited);
  await refused(removePointer(p, { relationshipId: id, query: LAB }), 'NotAccredited', notAccredited);
  await refused(setStatus(p, { relationshipId: id, status: 'awaiting-approval' }), 'NotAccredited', notAccredited);
  // Its attestations no longer register anyone, even ones signed while it was accredited.
  await refused(registerPatient(newcomer, { identityHash: newcomerIdentity, attester: addr(p), attestation }), 'NotAccredited', notAccredited);

  // The relationship stays in the patient's Summary; the patient can still respond to it.
  assert.equal((await relationshipOf(id)).provider, addr(p));
  assert.equal(await getPointer(pt, { relationshipId: id, query: LAB }), data(LAB));
  await respond(pt, { relationshipId: id, accept: true });

  // Re-accreditation (the identity hash is ignored for a known provider, even zero) restores everything.
  await accreditProvider(governor, { provider: addr(p), identityHash: ZERO_HASH });
  assert.equal((await getAccount(governor, addr(p))).accredited, true);
  await updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('new') });
  await addPointer(p, { relationshipId: id, query: VITALS, dataHash: data('v') });
  await removePointer(p, { relationshipId: id, query: VITALS });
  await setStatus(p, { relationshipId: id, status: 'awaiting-approval' });
  assert.equal(await statusOf(id), STATUS.awaitingApproval);
  await addRelationship(p, { patient: addr(other), query: LAB, dataHash: data('x') });
  await registerPatient(newcomer, { identityHash: newcomerIdentity, attester: addr(p), attestation });
  assert.equal(await lookupIdentity(governor, newcomerIdentity), addr(newcomer));
});

test('registrar: lookupIdentity and getAccount', async () => {
  assert.equal(await lookupIdentity(governor, newIdentity()), undefined);
  assert.equal(await lookupIdentity(governor, ZERO_HASH), undefined);
  assert.deepEqual(await getAccount(governor, addr(stranger)), {
    address: addr(stranger),
    role: 'none',
    accredited: false,
    relationshipCount: 0,
    registeredAt: 0,
  });

  const person = await newStranger();
  const identity = newIdentity();
  const attestation = await attestPatient(provider, { identityHash: identity, patient: addr(person) });
  const registered = await registerPatient(person, { identityHash: identity, attester: addr(provider), attestation });
  assert.equal(await lookupIdentity(stranger, identity), addr(person));
  const before = await getAccount(governor, addr(person));
  assert.equal(before.role, 'patient');
  assert.equal(before.relationshipCount, 0);

  // relationshipCount counts the patient's relationships; a provider's stays 0.
  const providerBefore = (await getAccount(governor, addr(otherProvider))).relationshipCount;
  await addRelationship(provider, { patient: addr(person), query: LAB, dataHash: data('1') });
  await addRelationship(otherProvider, { patient: addr(person), query: LAB, dataHash: data('2') });
  const afterTwo = await getAccount(governor, addr(person));
  assert.equal(afterTwo.relationshipCount, 2);
  assert.equal(afterTwo.registeredAt, before.registeredAt);
  assert.equal((await getAccount(governor, addr(otherProvider))).relationshipCount, providerBefore);
  assert.equal(providerBefore, 0);

  // getAccount at an earlier block: the registration block, and the one before it.
  assert.equal((await getAccount(governor, addr(person), registered.blockNumber)).relationshipCount, 0);
  assert.equal((await getAccount(governor, addr(person), registered.blockNumber - 1n)).role, 'none');
});

test('registrar: the governor role moves only by two-step transfer', async () => {
  const next = await newStranger();
  const transfer = (from: LedgerClient, to: Address) => writeLedger(from, 'transferOwnership', [to]);
  const accept = (by: LedgerClient) => writeLedger(by, 'acceptOwnership', []);
  const owner = () => governor.publicClient.readContract({ abi: medLedgerAbi, address: governor.contract, functionName: 'owner' });
  const pending = () => governor.publicClient.readContract({ abi: medLedgerAbi, address: governor.contract, functionName: 'pendingOwner' });

  await refused(transfer(stranger, addr(stranger)), 'OwnableUnauthorizedAccount', [addr(stranger)]);
  await refused(transfer(provider, addr(provider)), 'OwnableUnauthorizedAccount', [addr(provider)]);
  await refused(writeLedger(stranger, 'renounceOwnership', []), 'OwnableUnauthorizedAccount', [addr(stranger)]);
  await refused(accept(stranger), 'OwnableUnauthorizedAccount', [addr(stranger)]);

  await transfer(governor, addr(next));
  assert.equal(await pending(), addr(next));
  assert.equal(await owner(), addr(governor));
  // Until accepted, the nominee has no power and the governor keeps it.
  const candidate = await f.newAccount();
  await refused(accreditProvider(next, { provider: candidate.address, identityHash: newIdentity() }), 'OwnableUnauthorizedAccount', [addr(next)]);
  await refused(accept(stranger), 'OwnableUnauthorizedAccount', [addr(stranger)]);

  await accept(next);
  assert.equal(await owner(), addr(next));
  await refused(accreditProvider(governor, { provider: candidate.address, identityHash: newIdentity() }), 'OwnableUnauthorizedAccount', [addr(governor)]);
  await accreditProvider(next, { provider: candidate.address, identityHash: newIdentity() });
  assert.equal((await getAccount(governor, candidate.address)).accredited, true);

  // Hand it back so the rest of the file runs as before.
  await transfer(next, addr(governor));
  await accept(governor);
  assert.equal(await owner(), addr(governor));
});

// ------------------------------------------------------------------ relationships and pointers

test('relationships: only accredited providers open them, with registered patients', async () => {
  const pt = await f.newPatient(provider);
  const p = await f.newProvider();
  const open = (by: LedgerClient, to: Address, dataHash = data('r')) => addRelationship(by, { patient: to, query: LAB, dataHash });

  for (const caller of [stranger, patient]) {
    await refused(open(caller, addr(pt)), 'NotAccredited', [addr(caller)]);
  }
  await refused(open(p, addr(stranger)), 'NotRegisteredPatient', [addr(stranger)]);
  await refused(open(p, addr(otherProvider)), 'NotRegisteredPatient', [addr(otherProvider)]);
  await refused(open(p, addr(p)), 'NotRegisteredPatient', [addr(p)]);
  await refused(open(p, zeroAddress), 'NotRegisteredPatient', [zeroAddress]);
  await refused(open(p, addr(pt), ZERO_HASH), 'ZeroDataHash', []);
  assert.equal(await findRelationship(p, { patient: addr(pt), provider: addr(p) }), undefined);

  const { relationshipId: id } = await open(p, addr(pt));
  // The id encodes the patient (upper 160 bits) and 96 bits of keccak(patient, provider): derived
  // from the pair, the same on chain and in the SDK.
  assert.equal(patientOf(id), addr(pt).toLowerCase());
  const onChain = await governor.publicClient.readContract({ abi: medLedgerAbi, address: governor.contract, functionName: 'patientOf', args: [id] });
  assert.equal(onChain, addr(pt));
  assert.equal(id >> 96n, BigInt(addr(pt)));
  assert.equal(id, relationshipIdFor(addr(pt), addr(p)));
  const derived = await governor.publicClient.readContract({ abi: medLedgerAbi, address: governor.contract, functionName: 'relationshipIdFor', args: [addr(pt), addr(p)] });
  assert.equal(derived, id);
  assert.notEqual(relationshipIdFor(addr(pt), addr(otherProvider)), id);
  assert.equal(await findRelationship(stranger, { patient: addr(pt), provider: addr(p) }), id);
  assert.deepEqual({ ...(await relationshipOf(id)), updatedAt: 0 }, { provider: addr(p), status: STATUS.new, pointerCount: 1, updatedAt: 0, keyMoved: false });
  assert.equal(await getPointer(p, { relationshipId: id, query: LAB }), data('r'));

  // One relationship per pair, whatever the query.
  await refused(open(p, addr(pt)), 'RelationshipExists', [id]);
  await refused(addRelationship(p, { patient: addr(pt), query: 'Condition', dataHash: data('c') }), 'RelationshipExists', [id]);

  // Another provider opens the patient's second relationship: its own id, derived from its pair.
  const { relationshipId: second } = await open(otherProvider, addr(pt));
  assert.equal(second, relationshipIdFor(addr(pt), addr(otherProvider)));
  assert.notEqual(second, id);
  assert.equal(patientOf(second), addr(pt).toLowerCase());
  assert.equal((await getAccount(governor, addr(pt))).relationshipCount, 2);
});

test('relationships: the SDK refuses unsafe queries before sending', async () => {
  const pt = await f.newPatient(provider);
  const nonce = await nonceOf(provider);
  await assert.rejects(addRelationship(provider, { patient: addr(pt), query: 'Observation?code=4548-4', dataHash: data('x') }), UnsafeQueryError);
  await assert.rejects(addRelationship(provider, { patient: addr(pt), query: 'Observation?patient=123', dataHash: data('x') }), UnsafeQueryError);
  assert.equal(await nonceOf(provider), nonce);
});

test('pointers: only the relationship\'s provider adds, updates or removes them', async () => {
  const { provider: p, patient: pt, id } = await newRelationship(LAB);
  const outsiders = [otherProvider, pt, patient, stranger];
  for (const caller of outsiders) {
    const args = [id, addr(caller)];
    await refused(addPointer(caller, { relationshipId: id, query: VITALS, dataHash: data('v') }), 'NotRelationshipProvider', args);
    await refused(updatePointer(caller, { relationshipId: id, query: LAB, dataHash: data('v') }), 'NotRelationshipProvider', args);
    await refused(removePointer(caller, { relationshipId: id, query: LAB }), 'NotRelationshipProvider', args);
  }
  assert.equal(await getPointer(p, { relationshipId: id, query: LAB }), data(LAB));
  assert.equal(await getPointer(p, { relationshipId: id, query: VITALS }), undefined);

  // Unknown relationships: another index of the same patient, or an id of nobody.
  for (const unknown of [id + 1n, missingId(addr(stranger)), 1n]) {
    await refused(addPointer(p, { relationshipId: unknown, query: VITALS, dataHash: data('v') }), 'UnknownRelationship', [unknown]);
    await refused(updatePointer(p, { relationshipId: unknown, query: LAB, dataHash: data('v') }), 'UnknownRelationship', [unknown]);
    await refused(removePointer(p, { relationshipId: unknown, query: LAB }), 'UnknownRelationship', [unknown]);
  }
});

test('pointers: existence and data-hash rules', async () => {
  const { provider: p, id } = await newRelationship(LAB);
  const count = async () => (await relationshipOf(id)).pointerCount;

  await refused(updatePointer(p, { relationshipId: id, query: VITALS, dataHash: data('v') }), 'UnknownPointer', [hashQuery(VITALS)]);
  await refused(removePointer(p, { relationshipId: id, query: VITALS }), 'UnknownPointer', [hashQuery(VITALS)]);
  await refused(addPointer(p, { relationshipId: id, query: LAB, dataHash: data('again') }), 'PointerExists', [hashQuery(LAB)]);
  await refused(addPointer(p, { relationshipId: id, query: VITALS, dataHash: ZERO_HASH }), 'ZeroDataHash');
  await refused(updatePointer(p, { relationshipId: id, query: LAB, dataHash: ZERO_HASH }), 'ZeroDataHash');
  // The raw call with a hash of nothing at all.
  await refused(writeLedger(p, 'updatePointer', [id, ZERO_HASH, data('x')]), 'UnknownPointer', [ZERO_HASH]);

  // Add, update, remove, re-add.
  await addPointer(p, { relationshipId: id, query: 'Observation?category=vital-signs,laboratory', dataHash: data('both') });
  assert.equal(await count(), 2);
  // Queries are normalised before hashing, so the same categories in another order are the same pointer.
  await refused(
    addPointer(p, { relationshipId: id, query: 'Observation?category=laboratory,vital-signs', dataHash: data('both') }),
    'PointerExists',
    [hashQuery('Observation?category=laboratory,vital-signs')],
  );
  await updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('lab-2') });
  assert.equal(await getPointer(p, { relationshipId: id, query: LAB }), data('lab-2'));
  await removePointer(p, { relationshipId: id, query: LAB });
  assert.equal(await getPointer(p, { relationshipId: id, query: LAB }), undefined);
  assert.equal(await count(), 1);
  await refused(updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('lab-3') }), 'UnknownPointer', [hashQuery(LAB)]);
  await refused(removePointer(p, { relationshipId: id, query: LAB }), 'UnknownPointer', [hashQuery(LAB)]);
  await addPointer(p, { relationshipId: id, query: LAB, dataHash: data('lab-3') });
  assert.equal(await count(), 2);
  // A relationship may be left with no pointer at all.
  await removePointer(p, { relationshipId: id, query: LAB });
  await removePointer(p, { relationshipId: id, query: 'Observation?category=laboratory,vital-signs' });
  assert.equal(await count(), 0);
});

// ------------------------------------------------------------------ status and summary

test('status: the provider sets new, updated and awaiting-approval', async () => {
  const { provider: p, id } = await newRelationship(LAB);
  assert.equal(await statusOf(id), STATUS.new);
  for (const [status, code] of [['awaiting-approval', STATUS.awaitingApproval], ['updated', STATUS.updated], ['new', STATUS.new]] as const) {
    const before = (await relationshipOf(id)).updatedAt;
    await setStatus(p, { relationshipId: id, status });
    const rel = await relationshipOf(id);
    assert.equal(rel.status, code);
    assert.ok(rel.updatedAt >= before);
  }
});

test('status: accepted, rejected and none are refused to the provider by the contract itself', async () => {
  const { provider: p, id } = await newRelationship(LAB);
  for (const code of [STATUS.accepted, STATUS.rejected, STATUS.none]) {
    await refused(writeLedger(p, 'setStatus', [id, code]), 'InvalidStatus', [code]);
  }
  assert.equal(await statusOf(id), STATUS.new);
  // The SDK refuses them too, before sending anything.
  const nonce = await nonceOf(p);
  for (const status of ['accepted', 'rejected', 'none', 'bogus']) {
    await refused(setStatus(p, { relationshipId: id, status: status as 'new' }), 'InvalidStatus', [status]);
  }
  assert.equal(await nonceOf(p), nonce);
  // A value outside the enum fails ABI decoding.
  await assert.rejects(writeLedger(p, 'setStatus', [id, 6]), LedgerError);
  assert.equal(await statusOf(id), STATUS.new);
});

test('status: only the relationship\'s provider sets it', async () => {
  const { patient: pt, id } = await newRelationship(LAB);
  for (const caller of [pt, otherProvider, patient, stranger]) {
    await refused(setStatus(caller, { relationshipId: id, status: 'awaiting-approval' }), 'NotRelationshipProvider', [id, addr(caller)]);
  }
  // The status check comes first: the patient asking for "accepted" this way gets InvalidStatus.
  await refused(writeLedger(pt, 'setStatus', [id, STATUS.accepted]), 'InvalidStatus', [STATUS.accepted]);
  await refused(setStatus(provider, { relationshipId: id + 1n, status: 'updated' }), 'UnknownRelationship', [id + 1n]);
  assert.equal(await statusOf(id), STATUS.new);
});

test('status: only the patient accepts or rejects, and may change their mind', async () => {
  const { provider: p, patient: pt, id } = await newRelationship(LAB);
  for (const caller of [p, otherProvider, patient, stranger]) {
    await refused(respond(caller, { relationshipId: id, accept: true }), 'NotRelationshipPatient', [id, addr(caller)]);
    await refused(respond(caller, { relationshipId: id, accept: false }), 'NotRelationshipPatient', [id, addr(caller)]);
  }
  assert.equal(await statusOf(id), STATUS.new);

  await respond(pt, { relationshipId: id, accept: true });
  assert.equal(await statusOf(id), STATUS.accepted);
  await respond(pt, { relationshipId: id, accept: false });
  assert.equal(await statusOf(id), STATUS.rejected);
  await respond(pt, { relationshipId: id, accept: true });
  assert.equal(await statusOf(id), STATUS.accepted);
  await respond(pt, { relationshipId: id, accept: true });
  assert.equal(await statusOf(id), STATUS.accepted);

  // One of the patient's own ids with no relationship behind it.
  const missing = missingId(addr(pt), 7);
  await refused(respond(pt, { relationshipId: missing, accept: true }), 'UnknownRelationship', [missing]);
});

test('status: a pointer change moves the status to updated', async () => {
  const { provider: p, patient: pt, id } = await newRelationship(LAB);
  const accept = () => respond(pt, { relationshipId: id, accept: true });

  await accept();
  await updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('lab-2') });
  assert.equal(await statusOf(id), STATUS.updated);
  await accept();
  await addPointer(p, { relationshipId: id, query: VITALS, dataHash: data('v') });
  assert.equal(await statusOf(id), STATUS.updated);
  await setStatus(p, { relationshipId: id, status: 'awaiting-approval' });
  await removePointer(p, { relationshipId: id, query: VITALS });
  assert.equal(await statusOf(id), STATUS.updated);

  const summary = await readSummary(pt, addr(pt));
  assert.equal(summary.relationships.length, 1);
  assert.equal(summary.relationships[0]!.status, 'updated');
  assert.deepEqual(summary.relationships[0]!.pointers, [{ query: LAB, queryHash: hashQuery(LAB), dataHash: data('lab-2') }]);
});

// ------------------------------------------------------------------ grants

/** A relationship (pointer LAB) with a viewer account ready to be granted. */
async function grantSetup() {
  const rel = await newRelationship(LAB);
  const viewer = await newStranger();
  const scope = { relationshipId: rel.id, viewer: addr(viewer), scope: LAB };
  return { ...rel, viewer, scope };
}

test('grants: only the patient grants and revokes', async () => {
  const { provider: p, patient: pt, viewer, id, scope } = await grantSetup();
  const expiresAt = (await chainNow()) + 3600;
  for (const caller of [p, viewer, otherProvider, patient, stranger]) {
    await refused(grantViewer(caller, { ...scope, expiresAt }), 'NotRelationshipPatient', [id, addr(caller)]);
    // Not even granting to themselves or to someone else.
    await refused(grantViewer(caller, { ...scope, viewer: addr(caller), expiresAt }), 'NotRelationshipPatient', [id, addr(caller)]);
  }
  await refused(checkAccess(viewer, scope), 'NotGranted');

  await grantViewer(pt, { ...scope, expiresAt });
  assert.equal(await checkAccess(viewer, scope), expiresAt);
  for (const caller of [p, viewer, otherProvider, patient, stranger]) {
    await refused(revokeViewer(caller, scope), 'NotRelationshipPatient', [id, addr(caller)]);
  }
  assert.equal(await checkAccess(viewer, scope), expiresAt);
  await revokeViewer(pt, scope);
  await refused(checkAccess(viewer, scope), 'NotGranted', []);
});

test('grants: viewer and expiry rules', async () => {
  const { provider: p, patient: pt, viewer, id, scope } = await grantSetup();
  const now = await chainNow();
  for (const bad of [zeroAddress, addr(pt), addr(p)]) {
    await refused(grantViewer(pt, { ...scope, viewer: bad, expiresAt: now + 3600 }), 'InvalidViewer', [bad]);
  }
  for (const past of [1, now - 3600, now - 1]) {
    await refused(grantViewer(pt, { ...scope, expiresAt: past }), 'ExpiryInPast', [BigInt(past)]);
  }
  await refused(checkAccess(viewer, scope), 'NotGranted');

  // Another provider or patient may be a viewer; 0 means no expiry.
  await grantViewer(pt, { ...scope, viewer: addr(otherProvider), expiresAt: 0 });
  assert.equal(await checkAccess(otherProvider, { ...scope, viewer: addr(otherProvider) }), 0);
  await grantViewer(pt, { ...scope, viewer: addr(patient), expiresAt: now + 60 });

  // Unknown relationship of the patient's own.
  const missing = missingId(addr(pt));
  await refused(grantViewer(pt, { ...scope, relationshipId: missing, expiresAt: 0 }), 'UnknownRelationship', [missing]);
});

test('grants: a rejected relationship cannot be shared', async () => {
  const { patient: pt, id, scope } = await grantSetup();
  await respond(pt, { relationshipId: id, accept: false });
  await refused(grantViewer(pt, { ...scope, expiresAt: 0 }), 'RelationshipRejected', [id]);
  // Rejection is checked before the viewer.
  await refused(grantViewer(pt, { ...scope, viewer: zeroAddress, expiresAt: 0 }), 'RelationshipRejected', [id]);
  // Accepted again, it can.
  await respond(pt, { relationshipId: id, accept: true });
  await grantViewer(pt, { ...scope, expiresAt: 0 });
  assert.equal(await checkAccess(stranger, scope), 0);
});

test('grants: revoking what was never granted is refused', async () => {
  const { patient: pt, viewer, scope } = await grantSetup();
  await refused(revokeViewer(pt, scope), 'NotGranted', []);
  await grantViewer(pt, { ...scope, expiresAt: 0 });
  // Another scope, another viewer: not granted.
  await refused(revokeViewer(pt, { ...scope, scope: VITALS }), 'NotGranted');
  await refused(revokeViewer(pt, { ...scope, scope: 'Observation' }), 'NotGranted');
  await refused(revokeViewer(pt, { ...scope, viewer: addr(stranger) }), 'NotGranted');
  await revokeViewer(pt, scope);
  await refused(revokeViewer(pt, scope), 'NotGranted');
  await refused(checkAccess(viewer, scope), 'NotGranted');
});

test('grants: a grant tag names one viewer and scope on one relationship', async () => {
  const a = await grantSetup();
  const b = await newRelationship(LAB);
  const viewer = addr(a.viewer);
  // Same tag, another relationship (another patient): revoking one leaves the other.
  await grantViewer(a.patient, { ...a.scope, expiresAt: 0 });
  await grantViewer(b.patient, { relationshipId: b.id, viewer, scope: LAB, expiresAt: 0 });
  await refused(revokeViewer(a.patient, { relationshipId: b.id, viewer, scope: LAB }), 'NotRelationshipPatient', [b.id, addr(a.patient)]);
  await revokeViewer(a.patient, a.scope);
  assert.deepEqual(await grantOf(a.id, viewer, LAB), { active: false, expiresAt: 0n });
  assert.deepEqual(await grantOf(b.id, viewer, LAB), { active: true, expiresAt: 0n });
  // No relationship, no grant: grantOf reads a grant slot only for a relationship that exists.
  assert.deepEqual(await grantOf(missingId(addr(a.patient)), viewer, LAB), { active: false, expiresAt: 0n });
  assert.equal(grantTag(viewer, 'Observation?category=vital-signs,laboratory'), grantTag(viewer, 'Observation?category=laboratory,vital-signs'), 'scopes are normalised');
  assert.equal(
    await governor.publicClient.readContract({ abi: medLedgerAbi, address: governor.contract, functionName: 'grantTagOf', args: [viewer, stringToHex(LAB)] }),
    grantTag(viewer, LAB),
  );
});

test('grants: checkAccess says who may run which scope, and re-granting replaces the expiry', async () => {
  const { patient: pt, viewer, id, scope } = await grantSetup();
  const other = await newRelationship(LAB);
  const now = await chainNow();

  const granted = await grantViewer(pt, { ...scope, scope: 'Observation?category=vital-signs,laboratory', expiresAt: now + 3600 });
  assert.equal(granted.scope, 'Observation?category=laboratory,vital-signs');
  // Exact scope only (after normalisation), only for the grantee, only on this relationship.
  assert.equal(await checkAccess(viewer, { ...scope, scope: 'Observation?category=laboratory,vital-signs' }), now + 3600);
  await refused(checkAccess(viewer, scope), 'NotGranted');
  await refused(checkAccess(viewer, { ...scope, scope: 'Observation' }), 'NotGranted');
  await refused(checkAccess(viewer, { ...scope, viewer: addr(stranger), scope: 'Observation?category=laboratory,vital-signs' }), 'NotGranted');
  await refused(checkAccess(viewer, { ...scope, relationshipId: other.id, scope: 'Observation?category=laboratory,vital-signs' }), 'NotGranted');
  const missing = missingId(addr(pt));
  await refused(checkAccess(viewer, { ...scope, relationshipId: missing }), 'UnknownRelationship', [missing]);
  // At a block before the grant it did not exist.
  await refused(checkAccess(viewer, { ...scope, scope: 'Observation?category=laboratory,vital-signs', blockNumber: granted.blockNumber - 1n }), 'NotGranted');

  // Re-granting replaces the expiry (later, earlier, or none).
  await grantViewer(pt, { ...scope, expiresAt: now + 60 });
  assert.equal(await checkAccess(viewer, scope), now + 60);
  await grantViewer(pt, { ...scope, expiresAt: now + 7200 });
  assert.equal(await checkAccess(viewer, scope), now + 7200);
  assert.deepEqual(await grantOf(id, addr(viewer), LAB), { active: true, expiresAt: BigInt(now + 7200) });
  await grantViewer(pt, { ...scope, expiresAt: 0 });
  assert.equal(await checkAccess(viewer, scope), 0);
  await grantViewer(pt, { ...scope, expiresAt: now + 120 });
  assert.equal(await checkAccess(viewer, scope), now + 120);

  // Revoked: NotGranted, and the stored grant is gone.
  await revokeViewer(pt, scope);
  await refused(checkAccess(viewer, scope), 'NotGranted');
  assert.deepEqual(await grantOf(id, addr(viewer), LAB), { active: false, expiresAt: 0n });
  // The other scope is untouched.
  assert.equal(await checkAccess(viewer, { ...scope, scope: 'Observation?category=laboratory,vital-signs' }), now + 3600);
});

test('grants: rejecting the relationship stops every grant on it', async () => {
  const { patient: pt, viewer, id, scope } = await grantSetup();
  await grantViewer(pt, { ...scope, expiresAt: 0 });
  assert.equal(await checkAccess(viewer, scope), 0);
  await respond(pt, { relationshipId: id, accept: false });
  await refused(checkAccess(viewer, scope), 'RelationshipRejected', [id]);
  // Rejection is reported before anything about the grant.
  await refused(checkAccess(stranger, { ...scope, viewer: addr(stranger) }), 'RelationshipRejected', [id]);
  // The patient may still revoke while rejected.
  await revokeViewer(pt, scope);
  await respond(pt, { relationshipId: id, accept: true });
  await refused(checkAccess(viewer, scope), 'NotGranted');
});

test('grants: a grant stops working at its expiry', async (t) => {
  if (!f.runtime.node) {
    t.skip('needs the embedded node to move chain time (evm_increaseTime)');
    return;
  }
  const { patient: pt, viewer, id, scope } = await grantSetup();
  const expiresAt = (await chainNow()) + 5;
  await grantViewer(pt, { ...scope, expiresAt });
  assert.equal(await checkAccess(viewer, scope), expiresAt);

  await governor.publicClient.request({ method: 'evm_increaseTime' as never, params: [10] as never });
  await governor.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
  assert.ok((await chainNow()) >= expiresAt);
  await refused(checkAccess(viewer, scope), 'GrantExpired', [BigInt(expiresAt)]);
  // Still stored (grantOf shows it), and it can be renewed or revoked.
  assert.deepEqual(await grantOf(id, addr(viewer), LAB), { active: true, expiresAt: BigInt(expiresAt) });
  await refused(grantViewer(pt, { ...scope, expiresAt }), 'ExpiryInPast', [BigInt(expiresAt)]);
  const renewed = (await chainNow()) + 3600;
  await grantViewer(pt, { ...scope, expiresAt: renewed });
  assert.equal(await checkAccess(viewer, scope), renewed);
  await revokeViewer(pt, scope);
  await refused(checkAccess(viewer, scope), 'NotGranted');
});

test('grants: the SDK refuses a scope wider than every pointer before sending', async () => {
  const { patient: pt, scope } = await grantSetup();
  const pointers = [LAB, 'Condition?category=problem-list-item'];
  const nonce = await nonceOf(pt);
  for (const wide of ['Observation', 'Observation?category=laboratory,vital-signs', VITALS, 'Condition', 'DiagnosticReport']) {
    await assert.rejects(grantViewer(pt, { ...scope, scope: wide, expiresAt: 0, pointers }), ScopeTooWideError);
  }
  await assert.rejects(grantViewer(pt, { ...scope, scope: 'Observation?code=1', expiresAt: 0, pointers }), UnsafeQueryError);
  await assert.rejects(grantViewer(pt, { ...scope, scope: 'Observation?code=1', expiresAt: 0 }), UnsafeQueryError);
  // No pointer at all: nothing is within.
  await assert.rejects(grantViewer(pt, { ...scope, expiresAt: 0, pointers: [] }), ScopeTooWideError);
  assert.equal(await nonceOf(pt), nonce);

  const ok = await grantViewer(pt, { ...scope, scope: 'Condition?category=problem-list-item', expiresAt: 0, pointers });
  assert.equal(ok.scope, 'Condition?category=problem-list-item');
  await grantViewer(pt, { ...scope, expiresAt: 0, pointers });
  assert.equal(await checkAccess(stranger, scope), 0);
});

// ------------------------------------------------------------------ views

test('views: relationshipOf, relationshipIdsOf, pointerOf, grantOf, relationshipIdOf, summaries', async () => {
  const pc = governor.publicClient;
  const read = { abi: medLedgerAbi, address: governor.contract } as const;
  const pt = await f.newPatient(provider);
  assert.deepEqual(await relationshipIdsOf(governor, addr(pt)), []);
  assert.deepEqual(await relationshipIdsOf(governor, addr(stranger)), []);
  assert.deepEqual(await relationshipIdsOf(governor, addr(provider)), []);
  assert.deepEqual((await readSummary(pt, addr(pt))).relationships, []);

  const a = await addRelationship(provider, { patient: addr(pt), query: LAB, dataHash: data('a') });
  const b = await addRelationship(otherProvider, { patient: addr(pt), query: 'Condition', dataHash: data('b') });
  // The Summary's ids come from the RelationshipAdded events, in opening order, checked against the count.
  assert.deepEqual(await relationshipIdsOf(governor, addr(pt)), [a.relationshipId, b.relationshipId]);
  assert.equal((await getAccount(governor, addr(pt))).relationshipCount, 2);
  assert.equal(await pc.readContract({ ...read, functionName: 'relationshipIdOf', args: [addr(pt), addr(otherProvider)] }), b.relationshipId);
  assert.equal(await pc.readContract({ ...read, functionName: 'relationshipIdOf', args: [addr(pt), addr(stranger)] }), 0n);
  assert.equal(await findRelationship(governor, { patient: addr(pt), provider: addr(stranger) }), undefined);

  // relationshipOf refuses unknown ids; patientOf is pure arithmetic on any id.
  const missing = b.relationshipId + 1n;
  await refused(relationshipOf(missing), 'UnknownRelationship', [missing]);
  assert.equal(await pc.readContract({ ...read, functionName: 'patientOf', args: [missing] }), addr(pt));
  assert.equal(await pc.readContract({ ...read, functionName: 'patientOf', args: [0n] }), zeroAddress);

  assert.equal(await pc.readContract({ ...read, functionName: 'pointerOf', args: [a.relationshipId, hashQuery(LAB)] }), data('a'));
  assert.equal(await pc.readContract({ ...read, functionName: 'pointerOf', args: [a.relationshipId, hashQuery(VITALS)] }), ZERO_HASH);
  assert.equal(await pc.readContract({ ...read, functionName: 'pointerOf', args: [b.relationshipId, hashQuery(LAB)] }), ZERO_HASH);
  assert.deepEqual(await grantOf(a.relationshipId, addr(stranger), LAB), { active: false, expiresAt: 0n });

  const listed = await listProviderRelationships(governor, addr(otherProvider));
  assert.ok(listed.some((r) => r.relationshipId === b.relationshipId && r.patient === addr(pt)));
  assert.ok(!listed.some((r) => r.relationshipId === a.relationshipId));

  await respond(pt, { relationshipId: b.relationshipId, accept: false });
  await grantViewer(pt, { relationshipId: a.relationshipId, viewer: addr(stranger), scope: LAB, expiresAt: 0 });
  const summary = await readSummary(stranger, addr(pt));
  assert.deepEqual(
    summary.relationships.map((r) => [r.id, r.provider, r.status, r.pointers.map((p) => p.query), r.grants.map((g) => [g.viewer, g.scope, g.expiresAt])]),
    [
      [a.relationshipId.toString(), addr(provider), 'new', [LAB], [[addr(stranger), LAB, 0]]],
      [b.relationshipId.toString(), addr(otherProvider), 'rejected', ['Condition'], []],
    ],
  );
});

// ------------------------------------------------------------------ rejection belongs to the patient

test("a provider cannot lift the patient's rejection and revive its grants", async () => {
  const { provider: p, patient: pt, viewer, id, scope } = await grantSetup();
  await grantViewer(pt, { ...scope, expiresAt: 0 });
  await respond(pt, { relationshipId: id, accept: false });
  await refused(checkAccess(viewer, scope), 'RelationshipRejected', [id]);
  // Setting the status back is refused outright.
  await refused(setStatus(p, { relationshipId: id, status: 'new' }), 'RelationshipRejected', [id]);
  // A pointer change still records the new data hash, but the relationship stays rejected.
  const summary = await readSummary(pt, addr(pt));
  const rel = summary.relationships.find((r) => r.id === id.toString())!;
  await updatePointer(p, { relationshipId: id, query: rel.pointers[0]!.query, dataHash: data('after-reject') });
  const after = (await readSummary(pt, addr(pt))).relationships.find((r) => r.id === id.toString())!;
  assert.equal(after.status, 'rejected');
  assert.equal(after.pointers[0]!.dataHash, data('after-reject'));
  await refused(checkAccess(viewer, scope), 'RelationshipRejected', [id]);
  // Only the patient lifts it.
  await respond(pt, { relationshipId: id, accept: true });
  assert.equal(await checkAccess(viewer, scope), 0);
});

// ------------------------------------------------------------------ gas-driven rules (README "Contract design and gas")

test('pointer updates: StatusChanged only when the status changes; the record is not rewritten when it does not', async () => {
  const { provider: p, patient: pt, id } = await newRelationship(LAB);
  const statusEvents = async (hash: Hex) =>
    parseEventLogs({ abi: medLedgerAbi, logs: (await p.publicClient.getTransactionReceipt({ hash })).logs, eventName: 'StatusChanged' });
  const first = await updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('u1') });
  assert.deepEqual((await statusEvents(first.transactionHash)).map((e) => e.args), [{ relationshipId: id, status: STATUS.updated }]);
  const stamped = (await relationshipOf(id)).updatedAt;
  // Later blocks must carry later timestamps: on the embedded node move time on; an external node's
  // 2 s blocks do that by themselves (and it serves no evm_ methods).
  if (!travelSkip) await travel(p, 5);
  const second = await updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('u2') });
  assert.deepEqual(await statusEvents(second.transactionHash), [], 'already updated: no second StatusChanged');
  assert.equal((await relationshipOf(id)).updatedAt, stamped, 'updatedAt is when the status or the pointer count last changed');
  assert.equal(await getPointer(p, { relationshipId: id, query: LAB }), data('u2'));
  // A new pointer changes the count: the record is stamped although the status stays updated.
  await addPointer(p, { relationshipId: id, query: VITALS, dataHash: data('v') });
  assert.ok((await relationshipOf(id)).updatedAt > stamped);
  // After the patient's answer, the next pointer change sets updated again (and says so).
  await respond(pt, { relationshipId: id, accept: true });
  const third = await updatePointer(p, { relationshipId: id, query: LAB, dataHash: data('u3') });
  assert.deepEqual((await statusEvents(third.transactionHash)).map((e) => e.args.status), [STATUS.updated]);
});

test('recovery: the first finalisation must name every relationship of the patient, ascending, each its own', async (t) => {
  if (travelSkip) return t.skip(travelSkip);
  const pt = await f.newPatient(provider);
  const other = await f.newPatient(provider);
  const a = await addRelationship(provider, { patient: addr(pt), query: LAB, dataHash: data('a') });
  const b = await addRelationship(otherProvider, { patient: addr(pt), query: LAB, dataHash: data('b') });
  const foreign = await addRelationship(provider, { patient: addr(other), query: LAB, dataHash: data('c') });
  const guardians = [await newStranger(), await newStranger(), await newStranger()];
  const newKey = await newStranger();
  await setGuardians(pt, { patient: addr(pt), guardians: guardians.map(addr), threshold: 2 });
  for (const g of guardians.slice(0, 2)) await approveRecovery(g, { patient: addr(pt), newController: addr(newKey) });
  await travel(pt, DEFAULT_RECOVERY_DELAY);

  const [lo, hi] = [a.relationshipId, b.relationshipId].sort((x, y) => (x < y ? -1 : 1)) as [bigint, bigint];
  const finalize = (ids: bigint[]) => writeLedger(newKey, 'finalizeRecovery', [addr(pt), ids]);
  await refused(finalize([]), 'IncompleteRelationshipList', [2n, 0n]);
  await refused(finalize([lo]), 'IncompleteRelationshipList', [2n, 1n]);
  await refused(finalize([hi, lo]), 'InvalidRelationshipList', [lo]);
  await refused(finalize([lo, lo]), 'InvalidRelationshipList', [lo]);
  await refused(finalize([lo, foreign.relationshipId].sort((x, y) => (x < y ? -1 : 1))), 'InvalidRelationshipList', [foreign.relationshipId]);
  const unopened = relationshipIdFor(addr(pt), addr(stranger));
  await refused(finalize([lo, unopened].sort((x, y) => (x < y ? -1 : 1))), 'InvalidRelationshipList', [unopened]);

  await finalizeRecovery(newKey, { patient: addr(pt) }); // the SDK reads the list from the events
  for (const id of [lo, hi]) assert.equal((await relationshipOf(id)).keyMoved, true);
  assert.equal((await relationshipOf(foreign.relationshipId)).keyMoved, false);
  // The old key acts for nobody on any of them; the new key does.
  for (const id of [lo, hi]) await refused(respond(pt, { relationshipId: id, accept: true }), 'NotRelationshipPatient', [id, addr(pt)]);
  await respond(newKey, { relationshipId: lo, accept: true });
  // A relationship opened after the move copies the flag.
  const later = await addRelationship(await f.newProvider(), { patient: addr(pt), query: LAB, dataHash: data('d') });
  assert.equal((await relationshipOf(later.relationshipId)).keyMoved, true);
});

test('views: isAccredited follows accreditation', async () => {
  const read = { abi: medLedgerAbi, address: governor.contract } as const;
  const p = await f.newProvider();
  assert.equal(await governor.publicClient.readContract({ ...read, functionName: 'isAccredited', args: [addr(p)] }), true);
  assert.equal(await governor.publicClient.readContract({ ...read, functionName: 'isAccredited', args: [addr(stranger)] }), false);
  await revokeAccreditation(governor, { provider: addr(p) });
  assert.equal(await governor.publicClient.readContract({ ...read, functionName: 'isAccredited', args: [addr(p)] }), false);
});
