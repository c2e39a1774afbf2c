/**
 * The provider side of "update PPR": after a record is written, every on-chain pointer whose query
 * now returns different data gets its new hash; if no pointer covers the record yet, one is added
 * (opening the relationship if needed). Also links a local Patient to its Registrar address.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { CATEGORIES, isWithin, type PointerResourceType } from '../../protocol/pointer-query.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import { patientIdOfResource, categoriesOf } from '../../records/extract.js';
import type { RecordStore } from '../../records/store.js';
import { addRecordPointer } from '../../sdk/relationships.js';
import { lookupIdentity } from '../../sdk/registrar.js';
import { hashIdentity } from '../../sdk/identity.js';
import { readSummary } from '../../sdk/summary.js';
import { ADDRESS_SYSTEM } from '../../protocol/identifiers.js';

export interface PublishedPointer {
  query: string;
  dataHash: Hex;
  action: 'addRelationship' | 'addPointer' | 'updatePointer';
}

/** The chain address linked to a local Patient, if the provider has linked it. */
export function addressOfPatient(patient: Patient): Address | undefined {
  return patient.identifier?.find((i) => i.system === ADDRESS_SYSTEM)?.value as Address | undefined;
}

/** The on-chain-safe queries a resource falls under: its type, and its type per allowed category. */
export function queriesCovering(resource: Resource): string[] {
  const type = resource.resourceType;
  if (!Object.hasOwn(CATEGORIES, type)) return [];
  const allowed: readonly string[] = CATEGORIES[type as PointerResourceType];
  const categories = categoriesOf(resource).filter((c) => allowed.includes(c));
  return [type, ...categories.map((c) => `${type}?category=${c}`)];
}

/** The pointers of `provider`'s relationship with `patient`, from the chain. */
export async function currentPointers(ledger: LedgerClient, patient: Address, provider: Address): Promise<{ query: string; dataHash: Hex }[]> {
  const summary = await readSummary(ledger, patient);
  return summary.relationships.find((r) => r.provider.toLowerCase() === provider.toLowerCase())?.pointers ?? [];
}

const publishing = new WeakMap<RecordStore, Map<string, Promise<unknown>>>();

/**
 * Runs `fn` after every earlier publish for the same patient of `store` has finished. A hash is
 * computed and sent inside one turn, so a later write's hash can never be overtaken on chain by an
 * earlier, staler one (two concurrent writes, or a write and reconcile.ts).
 */
export async function publishingFor<T>(store: RecordStore, patientId: string, fn: () => Promise<T>): Promise<T> {
  let locks = publishing.get(store);
  if (!locks) publishing.set(store, (locks = new Map()));
  const next = (locks.get(patientId) ?? Promise.resolve()).catch(() => undefined).then(fn);
  locks.set(patientId, next);
  try {
    return await next;
  } finally {
    if (locks.get(patientId) === next) locks.delete(patientId);
  }
}

/** Updates (or adds) the pointers `resource` affects; returns what was sent to the chain. */
export async function publishRecord(store: RecordStore, ledger: LedgerClient, resource: Resource): Promise<PublishedPointer[]> {
  return publishRecords(store, ledger, [resource]);
}

/**
 * Updates (or adds) the pointers that any of `resources` (written or deleted together, e.g. by one
 * transaction Bundle) affects: each affected pointer's hash is computed once, over the store as it
 * is now, and sent once — not once per resource.
 */
export async function publishRecords(store: RecordStore, ledger: LedgerClient, resources: readonly Resource[]): Promise<PublishedPointer[]> {
  const byPatient = new Map<string, Resource[]>();
  for (const resource of resources) {
    const patientId = patientIdOfResource(resource);
    if (patientId) byPatient.set(patientId, [...(byPatient.get(patientId) ?? []), resource]);
  }
  const published: PublishedPointer[] = [];
  for (const [patientId, theirs] of byPatient) {
    published.push(...(await publishingFor(store, patientId, () => publishRecordsNow(store, ledger, theirs, patientId))));
  }
  return published;
}

async function publishRecordsNow(store: RecordStore, ledger: LedgerClient, resources: readonly Resource[], patientId: string): Promise<PublishedPointer[]> {
  const patient = (await store.read('Patient', patientId).catch(() => undefined)) as Patient | undefined;
  const address = patient && addressOfPatient(patient);
  if (!address) return []; // not linked to a chain address (or gone): nothing on chain points at it
  const pointers = await currentPointers(ledger, address, ledger.account!.address);
  return sendChanged(store, ledger, patientId, address, affectedQueries(resources, pointers), new Map(pointers.map((p) => [p.query, p.dataHash])));
}

/** Sends the hash of each of `queries` whose hash in the store differs from `onChain`'s; returns what it sent. */
async function sendChanged(store: RecordStore, ledger: LedgerClient, patientId: string, address: Address, queries: Iterable<string>, onChain: ReadonlyMap<string, Hex>): Promise<PublishedPointer[]> {
  const published: PublishedPointer[] = [];
  for (const query of queries) {
    const dataHash = hashResultSet((await store.resultSet(query, patientId)) as ResourceLike[]);
    if (dataHash === onChain.get(query)) continue;
    const r = await addRecordPointer(ledger, { patient: address, query, dataHash });
    published.push({ query, dataHash, action: r.action });
  }
  return published;
}

/**
 * The pointer queries a write's resources affect: the pointers on chain covering them, else the
 * narrowest covering query (one category), so that grants can stay narrow. Used by the one-by-one
 * path here and by the publisher's plan (plan.ts).
 */
export function affectedQueries(resources: readonly Resource[], pointers: readonly { query: string }[]): Set<string> {
  const queries = new Set<string>();
  for (const resource of resources) {
    const covering = queriesCovering(resource);
    if (covering.length === 0) continue;
    const hit = pointers.filter((p) => covering.some((q) => isWithin(q, p.query)));
    for (const p of hit) queries.add(p.query);
    if (hit.length === 0) queries.add(covering[covering.length - 1]!);
  }
  return queries;
}

/** Every narrowest query a patient's records fall under, with `extra` (the pointers on chain, for a reconcile), sorted. */
export async function patientQueries(store: RecordStore, patientId: string, extra: readonly string[]): Promise<string[]> {
  const queries = new Set(extra);
  for (const r of await store.everything(patientId)) {
    const covering = queriesCovering(r);
    if (covering.length) queries.add(covering[covering.length - 1]!);
  }
  return [...queries].sort();
}

/**
 * Publishes every record of a (newly linked) patient: one pointer per narrowest query their records
 * fall under, each with the hash of what it returns now. Pointers already up to date are skipped.
 */
export async function publishPatient(store: RecordStore, ledger: LedgerClient, patientId: string): Promise<PublishedPointer[]> {
  return publishingFor(store, patientId, () => publishPatientNow(store, ledger, patientId));
}

async function publishPatientNow(store: RecordStore, ledger: LedgerClient, patientId: string): Promise<PublishedPointer[]> {
  const patient = (await store.read('Patient', patientId)) as Patient;
  const address = addressOfPatient(patient);
  if (!address) throw new Error(`Patient/${patientId} is not linked to a chain address`);
  return syncPointers(store, ledger, patientId, address, { chainQueries: false });
}

/**
 * Sends the hash of each query covering one of the patient's records whose hash on chain differs
 * from the store's; with `chainQueries`, also of every query already on chain (a pointer whose
 * records have all gone still gets its new hash). Returns what it sent. Call within publishingFor.
 */
export async function syncPointers(
  store: RecordStore,
  ledger: LedgerClient,
  patientId: string,
  address: Address,
  { chainQueries }: { chainQueries: boolean },
): Promise<PublishedPointer[]> {
  const onChain = new Map((await currentPointers(ledger, address, ledger.account!.address)).map((p) => [p.query, p.dataHash]));
  return sendChanged(store, ledger, patientId, address, await patientQueries(store, patientId, chainQueries ? [...onChain.keys()] : []), onChain);
}

/**
 * Looks `identity` up in the Registrar and records the patient's chain address on the local Patient
 * (Patient.identifier `urn:medledger:address|0x…`), so their records can be pointed to and they can
 * read them through the gatekeeper.
 */
export async function linkPatient(store: RecordStore, ledger: LedgerClient, patientId: string, identity: string, pepper: Hex): Promise<Address> {
  const address = await lookupIdentity(ledger, hashIdentity(identity, pepper));
  if (!address) throw new Error('no patient is registered under that identity');
  const patient = (await store.read('Patient', patientId)) as Patient;
  const others = (patient.identifier ?? []).filter((i) => i.system !== ADDRESS_SYSTEM);
  await store.update({ ...patient, identifier: [...others, { system: ADDRESS_SYSTEM, value: address.toLowerCase() }] });
  return address;
}
