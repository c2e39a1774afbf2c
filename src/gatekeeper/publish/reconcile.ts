/**
 * Crash safety of provider writes. A write commits the record to the store, then brings the pointer
 * hashes on chain up to date (publish.ts). A `kill -9`, or a chain that cannot be reached, between the
 * two leaves the store ahead of the chain; this file closes that gap.
 *
 * Write-ahead intent: before a write is handled, the patients it can touch are noted in
 * `publish_intents`; when the answer is not a server error the note goes (a 2xx published, a 4xx never
 * reached the store). A note that stays — the process died, or publishing failed — is reconciled: at
 * start, and after each failed write with back-off until it succeeds. Reconciling a patient recomputes
 * the hash of every pointer on chain and of every query their records fall under, and publishes those
 * that differ.
 *
 * Only noted patients are reconciled, never the whole store: a record changed behind the gatekeeper's
 * back (directly in the database) stays a mismatch for `$verify` to find, instead of being published
 * as if it had been a write.
 *
 * The other direction — a pointer on chain for data the store does not have — cannot arise from a
 * crash, because the store commits before anything is published (the write route hands its resources
 * to the publisher after store.create/update returns; test/gatekeeper-reconcile.test.ts asserts the
 * order). A write answered before its pointers are mined (`publish.awaitChain: false`, settle.ts)
 * keeps its note until they are. Reconciling publishes through the gatekeeper's publisher, so its
 * hashes are ordered with the writes'.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LedgerClient } from '../../chain/client.js';
import type { Db } from '../../records/db.js';
import { patientIdOfResource } from '../../records/extract.js';
import { sql } from '../../records/sql.js';
import type { RecordStore } from '../../records/store.js';
import { addressOfPatient, publishingFor, syncPointers, type PublishedPointer } from './publish.js';
import type { Publisher } from './publisher.js';
import { publishedLater } from './settle.js';

export const RECONCILE_SCHEMA = `
CREATE TABLE IF NOT EXISTS publish_intents (
  id bigserial PRIMARY KEY,
  request_id text NOT NULL,
  patient_id text NOT NULL,
  noted timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS publish_intents_request ON publish_intents (request_id);
`;

export interface ReconcileResult {
  /** Patients whose notes were worked through. */
  patients: number;
  /** Pointers sent to the chain because they differed from the store. */
  published: PublishedPointer[];
  /** Patients that could not be reconciled this time (their notes stay). */
  failed: number;
}

/**
 * Makes every pointer of `patientId` carry the hash of what its query returns now: the pointers on
 * chain and one per narrowest query their records fall under (as publishPatient). Unlinked patients
 * have nothing on chain.
 */
export async function reconcilePatient(store: RecordStore, ledger: LedgerClient, patientId: string): Promise<PublishedPointer[]> {
  return publishingFor(store, patientId, async () => {
    let patient: Patient;
    try {
      patient = await store.read<Patient>('Patient', patientId);
    } catch {
      return []; // unknown or deleted: no pointers to keep
    }
    const address = addressOfPatient(patient);
    if (!address) return [];
    return syncPointers(store, ledger, patientId, address, { chainQueries: true });
  });
}

export interface Reconciler {
  /** Notes, durably, that a write is about to change `patientIds`' records; resolves with the note's id. */
  begin(patientIds: readonly string[]): Promise<string>;
  /**
   * The write is over: `published` (or refused before the store), its note goes; otherwise the note
   * stays and reconciling is scheduled. A note is never reconciled away while its write is in flight
   * (the write could still commit after the reconcile read the store).
   */
  end(noteId: string, published: boolean): Promise<void>;
  /** Reconciles every noted patient now (concurrent callers share one run). */
  run(): Promise<ReconcileResult>;
  /** Runs in the background until no note is left, backing off while it fails. */
  schedule(): void;
  close(): void;
}

/**
 * `publisher`: the gatekeeper's (publisher.ts), so that a reconcile's hashes are ordered with the
 * writes'; without one, each patient is published on its own (reconcilePatient).
 */
export function createReconciler(options: { db: Db; store: RecordStore; ledger: LedgerClient; publisher?: Publisher; retryMs?: number; maxRetryMs?: number }): Reconciler {
  const { db, store, ledger, publisher } = options;
  const retryMs = options.retryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  let running: Promise<ReconcileResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = retryMs;
  let closed = false;
  /** Notes of writes still in flight in this process. */
  const inFlight = new Set<string>();

  async function runNow(): Promise<ReconcileResult> {
    const notes = await db.query<{ id: string; request_id: string; patient_id: string }>(sql`SELECT id::text, request_id, patient_id FROM publish_intents ORDER BY id`);
    const byPatient = new Map<string, string[]>();
    for (const n of notes) if (!inFlight.has(n.request_id)) byPatient.set(n.patient_id, [...(byPatient.get(n.patient_id) ?? []), n.id]);
    const result: ReconcileResult = { patients: byPatient.size, published: [], failed: 0 };
    // All patients at once: through the publisher their pointers go in as few transactions as writes'.
    await Promise.all(
      [...byPatient].map(async ([patientId, ids]) => {
        try {
          result.published.push(...(await (publisher ? publisher.sync(patientId, { chainQueries: true }) : reconcilePatient(store, ledger, patientId))));
          // Only the notes read before reconciling: a write noted meanwhile is reconciled next time.
          await db.query(sql`DELETE FROM publish_intents WHERE id = ANY(${ids}::bigint[])`);
        } catch {
          result.failed++;
        }
      }),
    );
    return result;
  }

  const run = () => {
    running ??= runNow().finally(() => (running = undefined));
    return running;
  };

  function schedule() {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void run().then(
        (r) => {
          if (r.failed === 0) delay = retryMs;
          else retry();
        },
        () => retry(),
      );
    }, 0);
    timer.unref();
  }

  function retry() {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      schedule();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, maxRetryMs);
  }

  return {
    async begin(patientIds) {
      const requestId = randomUUID();
      inFlight.add(requestId);
      try {
        for (const patientId of new Set(patientIds)) await db.query(sql`INSERT INTO publish_intents (request_id, patient_id) VALUES (${requestId}, ${patientId})`);
      } catch (err) {
        inFlight.delete(requestId);
        throw err;
      }
      return requestId;
    },
    async end(requestId, published) {
      inFlight.delete(requestId);
      if (published) await db.query(sql`DELETE FROM publish_intents WHERE request_id = ${requestId}`);
      else schedule();
    },
    run,
    schedule,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

const FHIR_WRITE = /^\/fhir\/R4\/([A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64}))?\/?(?:\?.*)?$/;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BUNDLE_ENTRY_TARGET = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** The local patients a write request can change: the resource's patient, and for an update the stored version's. */
async function patientsTouched(store: RecordStore, req: FastifyRequest): Promise<string[]> {
  const body = (req.body as { json?: { identity?: unknown } & Resource } | undefined)?.json;
  if (req.url.split('?')[0] === '/registrar/link') {
    const m = typeof body?.identity === 'string' ? /^([^|\s]{1,200})\|([^|\s]{1,200})$/.exec(body.identity) : null;
    const local = m ? await store.findPatientByIdentifier(m[1]!, m[2]!).catch(() => undefined) : undefined;
    return local?.id ? [local.id] : [];
  }
  if (req.method === 'POST' && /^\/fhir\/R4\/?(?:\?.*)?$/.test(req.url)) return bundlePatients(store, body as Bundle | undefined);
  const m = FHIR_WRITE.exec(req.url);
  if (!m) return [];
  const ids: (string | undefined)[] = [];
  if (body?.resourceType) ids.push(patientIdOfResource(body));
  if (req.method !== 'POST' && m[2]) ids.push(await store.read(m[1]!, m[2]).then(patientIdOfResource, () => undefined));
  return ids.filter((id): id is string => !!id);
}

/** A transaction or batch Bundle's patients: those its resources name, and those of the stored resources it deletes or patches. */
async function bundlePatients(store: RecordStore, bundle: Bundle | undefined): Promise<string[]> {
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return [];
  const ids = new Set<string>();
  for (const entry of bundle.entry) {
    const named = entry?.resource?.resourceType ? patientIdOfResource(entry.resource) : undefined;
    if (named) ids.add(named);
    const target = BUNDLE_ENTRY_TARGET.exec(String(entry?.request?.url ?? ''));
    if (target && (entry.request?.method === 'DELETE' || entry.request?.method === 'PATCH')) {
      const stored = await store.read(target[1]!, target[2]!).then(patientIdOfResource, () => undefined);
      if (stored) ids.add(stored);
    }
  }
  return [...ids];
}

/**
 * Notes each provider write (FHIR create/update, /registrar/link) before it is handled and clears the
 * note once the answer is not a server error; a server error schedules reconciling.
 */
export function trackWrites(app: FastifyInstance, reconciler: Reconciler, store: RecordStore): void {
  const notes = new WeakMap<FastifyRequest, string>();
  // Callback-style hooks, so that reads (every other request) pass without a promise each.
  app.addHook('preHandler', (req, _reply, done) => {
    if (!WRITE_METHODS.has(req.method)) return done();
    patientsTouched(store, req)
      .then(async (patients) => {
        if (patients.length) notes.set(req, await reconciler.begin(patients));
      })
      .then(() => done(), done);
  });
  // A 4xx never reached the store (or refused before it committed): only a server error can leave it
  // ahead of the chain. Cleared before the answer goes out (onSend, not onResponse), so a caller that
  // has its answer never sees the note of a finished write — unless the write was answered before its
  // pointers were mined (publish.awaitChain false, settle.ts): then its note goes once they are.
  app.addHook('onSend', (req, reply, payload, done) => {
    const note = notes.get(req);
    if (!note) return done(null, payload);
    const mined = reply.statusCode < 500 ? publishedLater(req) : undefined;
    if (mined) {
      mined.then(
        () => reconciler.end(note, true),
        () => reconciler.end(note, false),
      ).catch(() => undefined);
      return done(null, payload);
    }
    reconciler.end(note, reply.statusCode < 500).then(
      () => done(null, payload),
      () => done(null, payload),
    );
  });
}
