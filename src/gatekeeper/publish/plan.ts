/**
 * One flush's work for one patient (publisher.ts): which pointers the queued writes affect, each one's
 * hash over the store as it is now, and what must be sent — an update of an existing pointer (batched),
 * or a structural transaction (a new pointer or relationship) — compared with the hash last sent and
 * not yet mined (pending.ts), else with the chain's.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import type { RecordStore } from '../../records/store.js';
import { relationshipIdFor } from '../../sdk/relationships.js';
import type { BatchEntry } from './batch-send.js';
import type { PendingPointers } from './pending.js';
import { ownPointers } from './own-pointers.js';
import { addressOfPatient, affectedQueries, patientQueries, type PublishedPointer } from './publish.js';

/** A unit of work: a write's resources of one patient, or a whole patient (sync). */
export interface Job {
  patientId: string;
  resources?: readonly Resource[];
  chainQueries: boolean;
  resolve(published: PublishedPointer[]): void;
  reject(err: unknown): void;
}

export interface Plan {
  updates: BatchEntry[];
  structural: { query: string; dataHash: Hex; mined: Deferred; published?: PublishedPointer }[];
  address: Address;
  patientId: string;
  jobs: Job[];
  /** Per job, the pointer queries it affects. */
  targets: Map<Job, Set<string>>;
  /** Per pointer query, what its jobs wait on. */
  waits: Map<string, Wait>;
}

/** A patient to plan: their chain address (undefined: not linked, or gone) and their pointers with this provider on chain. */
export interface PatientOnChain {
  patientId: string;
  address?: Address;
  pointers: readonly { query: string; dataHash: Hex }[];
}

/** Each patient's chain address (from the store) and own pointers (one read for all: own-pointers.ts). */
export async function patientsOnChain(store: RecordStore, ledger: LedgerClient, patientIds: readonly string[]): Promise<PatientOnChain[]> {
  const addresses = await Promise.all(
    patientIds.map(async (id) => {
      const patient = await store.read<Patient>('Patient', id).catch(() => undefined);
      return patient && addressOfPatient(patient);
    }),
  );
  const pointers = await ownPointers(ledger, addresses.filter((a): a is Address => !!a));
  return patientIds.map((patientId, i) => ({ patientId, address: addresses[i], pointers: addresses[i] ? pointers.get(addresses[i]!.toLowerCase())! : [] }));
}

/** Computes the patient's dirty pointers' hashes and what must be sent for them. */
export async function planPatient(store: RecordStore, ledger: LedgerClient, pending: PendingPointers, on: PatientOnChain, jobs: Job[]): Promise<Plan | undefined> {
  const { patientId, address, pointers } = on;
  try {
    if (!address) {
      for (const job of jobs) job.resolve([]); // not linked (or gone): nothing on chain points at it
      return undefined;
    }
    const provider = ledger.account!.address;
    const onChain = new Map(pointers.map((p) => [p.query, p.dataHash]));
    const targets = new Map<Job, Set<string>>();
    for (const job of jobs) targets.set(job, job.resources ? affectedQueries(job.resources, pointers) : new Set(await patientQueries(store, patientId, job.chainQueries ? [...onChain.keys()] : [])));
    const waits = new Map<string, Wait>();
    const result: Plan = { updates: [], structural: [], address, patientId, jobs, targets, waits };
    const relationshipId = relationshipIdFor(address, provider);
    // Every hash first: nothing is marked as sent unless all of them could be computed.
    const hashes: [string, Hex][] = [];
    for (const query of [...new Set([...targets.values()].flatMap((t) => [...t]))].sort()) {
      hashes.push([query, hashResultSet((await store.resultSet(query, patientId)) as ResourceLike[])]);
    }
    for (const [query, dataHash] of hashes) {
      const sent = pending.sentHash(patientId, query);
      if ((sent?.hash ?? onChain.get(query)) === dataHash) {
        if (sent) waits.set(query, { mined: sent.mined });
        continue;
      }
      const mined = deferred();
      pending.markSent(patientId, query, dataHash, mined.promise);
      if (onChain.has(query)) {
        result.updates.push({ relationshipId, query, dataHash, patientId, mined });
        const published: PublishedPointer = { query, dataHash, action: 'updatePointer' };
        waits.set(query, { mined: mined.promise, published: () => published });
      } else {
        const s: Plan['structural'][number] = { query, dataHash, mined };
        result.structural.push(s);
        waits.set(query, { mined: mined.promise, published: () => s.published });
      }
    }
    return result;
  } catch (err) {
    for (const job of jobs) job.reject(err);
    return undefined;
  }
}

/** What a job waits on for one of its pointers: the transaction carrying its hash, and what it sent (if this flush sent it). */
export interface Wait {
  mined: Promise<void>;
  published?: () => PublishedPointer | undefined;
}

/** Resolves (or rejects) each job of a plan once what it depends on has settled; returns each job's outcome. */
export function settleJobs({ jobs, targets, waits }: Plan): Map<Job, Promise<unknown>> {
  const outcomes = new Map<Job, Promise<unknown>>();
  for (const job of jobs) {
    const mine = [...targets.get(job)!].flatMap((q) => (waits.has(q) ? [waits.get(q)!] : []));
    const outcome = Promise.all(mine.map((w) => w.mined)).then(() => mine.flatMap((w) => w.published?.() ?? []));
    outcomes.set(job, outcome);
    outcome.then(job.resolve, job.reject);
  }
  return outcomes;
}

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // its waiters hear the failure; an unawaited one must not crash the process
  return { promise, resolve, reject };
}
