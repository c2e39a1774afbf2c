/**
 * One gatekeeper's pointer publisher (issue 19). Writes hand it the resources they changed; it brings
 * the affected pointers' hashes on chain:
 *
 * - coalesced (the default): group commit (batcher.ts). A flush computes each dirty pointer's hash
 *   over the store as it is then, and sends every changed existing pointer, across all patients, as
 *   one `updatePointers` call (batch-send.ts; chunked at POINTER_BATCH_SIZE). New pointers and new
 *   relationships go one transaction each (addRecordPointer), as before: they are structural and
 *   rare, and a patient with one still in flight waits for it before anything else of theirs is sent.
 *   Hashes are compared with what was last sent (pending.ts), not only with the chain, so nothing is
 *   sent twice; flushes are prepared and handed to the chain one after another, so a later hash is
 *   never overtaken by an earlier one.
 * - `coalesce: false`: one transaction per changed pointer, serialised per patient (publish.ts), as
 *   before issue 19 — kept so the bench measures both in one run.
 *
 * What a write waits for is its pointers mined (the default), or, with `awaitChain: false`, only the
 * store commit and its publish_intents note (settle.ts; reconcile.ts repairs a kill -9 until mined).
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { LedgerClient } from '../../chain/client.js';
import { patientIdOfResource } from '../../records/extract.js';
import type { RecordStore } from '../../records/store.js';
import { addRecordPointer } from '../../sdk/relationships.js';
import { createGroupCommit } from './batcher.js';
import { createBatchSender } from './batch-send.js';
import { PendingPointers, type PointerState } from './pending.js';
import { patientsOnChain, planPatient, settleJobs, type Job, type PatientOnChain, type Plan } from './plan.js';
import { addressOfPatient, publishingFor, publishRecords, queriesCovering, syncPointers, type PublishedPointer } from './publish.js';

export interface PublishOptions {
  /** Longest wait of a write that arrives while a flush is being prepared or in flight (ms); default 500, under one 2 s block. */
  windowMs?: number;
  /** false: one transaction per pointer change, serialised per patient (the behaviour before issue 19). */
  coalesce?: boolean;
  /** false: a write is answered once stored and noted, before its pointers are mined. Default true. */
  awaitChain?: boolean;
}

export const DEFAULT_PUBLISH_WINDOW_MS = 500;

export interface Publisher {
  /** Whether a write's answer waits for its pointers to be mined. */
  readonly awaitChain: boolean;
  /** Brings the pointers `resources` affect on chain; resolves with what was sent once it is mined. */
  publish(resources: readonly Resource[]): Promise<PublishedPointer[]>;
  /**
   * Brings every pointer of a patient on chain: one per narrowest query their records fall under, and
   * with `chainQueries` also every pointer already on chain (reconcile.ts).
   */
  sync(patientId: string, options: { chainQueries: boolean }): Promise<PublishedPointer[]>;
  /** Whether the chain is current for a pointer, or a hash for it is pending (pending.ts). */
  stateOf(patientId: string, query: string): PointerState;
  close(): void;
}

export function createPublisher(options: { store: RecordStore; ledger: LedgerClient } & PublishOptions): Publisher {
  const { store, ledger } = options;
  const pending = new PendingPointers();
  const awaitChain = options.awaitChain ?? true;
  if (options.coalesce === false) {
    const track = <T>(marks: [string, readonly string[] | undefined][], work: Promise<T>): Promise<T> => {
      for (const [patientId, queries] of marks) pending.markQueued({ patientId, queries, at: Date.now() }, work);
      return work;
    };
    return {
      awaitChain,
      publish: (resources) => track([...byPatientOf(resources)].map(([id, theirs]) => [id, coveringAll(theirs)]), publishRecords(store, ledger, resources)),
      sync: (patientId, { chainQueries }) => track([[patientId, undefined]], publishingFor(store, patientId, () => syncNow(store, ledger, patientId, chainQueries))),
      stateOf: (patientId, query) => pending.stateOf(patientId, query),
      close() {},
    };
  }
  return createCoalescing(store, ledger, pending, awaitChain, options.windowMs ?? DEFAULT_PUBLISH_WINDOW_MS);
}

/** A write's resources by patient (a transaction Bundle may name several); those of no patient are left out. */
function byPatientOf(resources: readonly Resource[]): Map<string, Resource[]> {
  const byPatient = new Map<string, Resource[]>();
  for (const r of resources) {
    const patientId = patientIdOfResource(r);
    if (patientId) byPatient.set(patientId, [...(byPatient.get(patientId) ?? []), r]);
  }
  return byPatient;
}
const coveringAll = (resources: readonly Resource[]): string[] => resources.flatMap(queriesCovering);

async function syncNow(store: RecordStore, ledger: LedgerClient, patientId: string, chainQueries: boolean): Promise<PublishedPointer[]> {
  const patient = await store.read<Patient>('Patient', patientId).catch(() => undefined);
  const address = patient && addressOfPatient(patient);
  return address ? syncPointers(store, ledger, patientId, address, { chainQueries }) : [];
}

function createCoalescing(store: RecordStore, ledger: LedgerClient, pending: PendingPointers, awaitChain: boolean, windowMs: number): Publisher {
  let queue: Job[] = [];
  /** Per patient, their structural transactions (addRelationship, addPointer) not yet mined. */
  const structural = new Map<string, Promise<unknown>>();
  const sender = createBatchSender(ledger, (e) => {
    const now = pending.sentHash(e.patientId, e.query);
    return now && now.mined !== e.mined.promise ? now.mined : undefined;
  });
  const commit = createGroupCommit({ flush, hasQueued: () => queue.length > 0, windowMs });

  function enqueue(patientId: string, resources: readonly Resource[] | undefined, chainQueries: boolean): Promise<PublishedPointer[]> {
    const done = new Promise<PublishedPointer[]>((resolve, reject) => queue.push({ patientId, resources, chainQueries, resolve, reject }));
    pending.markQueued({ patientId, queries: resources && coveringAll(resources), at: Date.now() }, done);
    commit.request();
    return done;
  }

  /** Takes the queue (in turn with earlier flushes), sends it; resolves once all it sent has settled. */
  async function flush(): Promise<void> {
    const settled = await sender.inTurn(async () => {
      const jobs = queue;
      queue = [];
      try {
        return await dispatch(jobs);
      } catch (err) {
        for (const job of jobs) job.reject(err); // no write waits forever on a flush that broke (a settled one stays as it was)
        return { released: Promise.resolve(), settled: Promise.resolve() };
      }
    });
    await settled;
  }

  /** Plans the jobs' patients and hands what must be sent to the chain (within the flush's turn). */
  async function dispatch(jobs: Job[]): Promise<{ released: Promise<unknown>; settled: Promise<unknown> }> {
    const byPatient = new Map<string, Job[]>();
    for (const job of jobs) byPatient.set(job.patientId, [...(byPatient.get(job.patientId) ?? []), job]);
    const ready = [...byPatient].filter(([patientId, theirs]) => !deferBehindStructural(patientId, theirs));
    let chain: PatientOnChain[];
    try {
      chain = await patientsOnChain(store, ledger, ready.map(([patientId]) => patientId));
    } catch (err) {
      for (const [, theirs] of ready) for (const job of theirs) job.reject(err); // the chain could not be read: their notes stay
      return { released: Promise.resolve(), settled: Promise.resolve() };
    }
    const plans = await Promise.all(ready.map(([, theirs], i) => planPatient(store, ledger, pending, chain[i]!, theirs)));
    const updates = plans.flatMap((p) => p?.updates ?? []);
    for (const p of plans) if (p?.structural.length) sendStructural(ledger, structural, p);
    const sent = sender.send(updates);
    for (const p of plans) if (p) for (const [job, outcome] of settleJobs(p)) outcomes.set(job, outcome);
    return { released: sent.released, settled: Promise.allSettled(ready.flatMap(([, theirs]) => theirs.map(outcomeOf))) };
  }

  const outcomes = new WeakMap<Job, Promise<unknown>>();
  const outcomeOf = (job: Job) => outcomes.get(job) ?? Promise.resolve();

  /** A patient whose structural transaction is in flight waits for it: what follows may depend on it. */
  function deferBehindStructural(patientId: string, jobs: Job[]): boolean {
    const inFlight = structural.get(patientId);
    if (!inFlight) return false;
    void inFlight.finally(() => {
      queue.push(...jobs);
      commit.request();
    });
    return true;
  }

  return {
    awaitChain,
    async publish(resources) {
      return (await Promise.all([...byPatientOf(resources)].map(([patientId, theirs]) => enqueue(patientId, theirs, false)))).flat();
    },
    sync: (patientId, { chainQueries }) => enqueue(patientId, undefined, chainQueries),
    stateOf: (patientId, query) => pending.stateOf(patientId, query),
    close() {
      commit.close();
      // Their notes stay (the write is not answered as published): the next start reconciles them.
      for (const job of queue.splice(0)) job.reject(new Error('the gatekeeper closed before publishing this write'));
    },
  };
}

/** New pointers (and a new relationship) one transaction each, in order; later ones wait for earlier ones. */
function sendStructural(ledger: LedgerClient, structural: Map<string, Promise<unknown>>, p: Plan): void {
  const run = (async () => {
    for (const s of p.structural) {
      try {
        const r = await addRecordPointer(ledger, { patient: p.address, query: s.query, dataHash: s.dataHash });
        s.published = { query: s.query, dataHash: s.dataHash, action: r.action };
        s.mined.resolve();
      } catch (err) {
        for (const rest of p.structural.slice(p.structural.indexOf(s))) rest.mined.reject(err);
        return;
      }
    }
  })();
  structural.set(p.patientId, run);
  void run.finally(() => {
    if (structural.get(p.patientId) === run) structural.delete(p.patientId);
  });
}
