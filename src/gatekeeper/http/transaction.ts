/**
 * Transaction and batch Bundles at POST /fhir/R4 (https://hl7.org/fhir/R4/http.html#transaction),
 * the provider's own applications only.
 *
 * A transaction is one database transaction (store.transaction): every entry is stored, or — when any
 * entry fails — none is, on PGlite and PostgreSQL alike. Entries run in the R4 order DELETE, POST,
 * PUT/PATCH, GET (http.html#trules); new resources get their ids first, so `urn:uuid:` references
 * and conditional references can be rewritten (bundle-references.ts) before anything is written.
 * Only after the commit are the on-chain pointers updated, each affected pointer once for the whole
 * Bundle (publishWrite), not once per entry.
 *
 * A batch runs each entry on its own, in the same order; a failed entry is an OperationOutcome in its
 * response entry and the others still happen.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { OperationOutcomeError } from '@medplum/core';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { validate } from '../../records/fhir.js';
import type { RecordStore } from '../../records/store.js';
import { publishWrite } from '../publish/settle.js';
import { fhirBaseUrl } from './base-url.js';
import { METHOD_ORDER, parseBundle, type EntryRequest } from './bundle-entries.js';
import { ReferenceRewriter } from './bundle-references.js';
import { ConditionLookup, singleMatch } from './conditional.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import type { JsonBody } from './json-body.js';
import { GatekeeperError, toOutcome } from './outcomes.js';
import { applyJsonPatch } from './patch.js';
import { refuseImpossible } from './plausible.js';
import { etagOf, returnPreference, type ReturnPreference } from './preconditions.js';

/** What a run of entries did: a response per entry (by index), what it wrote, deleted and read. */
interface Outcome {
  responses: Map<number, BundleEntry>;
  written: Resource[];
  deleted: Resource[];
  read: Resource[];
}

/** POST /fhir/R4 with a transaction or batch Bundle. */
export async function transactionOrBatch(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only the provider writes to its own store');
  const { kind, entries } = parseBundle((req.body as JsonBody | undefined)?.json);
  const base = fhirBaseUrl(req);
  const prefer = returnPreference(req);
  const result: Outcome = { responses: new Map(), written: [], deleted: [], read: [] };
  if (kind === 'transaction') {
    Object.assign(result, await gk.store.transaction((tx) => run(tx, entries as EntryRequest[], base, prefer)));
  } else {
    for (const entry of inOrder(entries.filter((e): e is EntryRequest => !(e instanceof GatekeeperError)))) {
      try {
        const one = await gk.store.transaction((tx) => run(tx, [entry], base, prefer));
        one.responses.forEach((r, i) => result.responses.set(i, r));
        for (const key of ['written', 'deleted', 'read'] as const) result[key].push(...one[key]);
      } catch (err) {
        result.responses.set(entry.index, failure(err));
      }
    }
    entries.forEach((e, i) => e instanceof GatekeeperError && result.responses.set(i, failure(e)));
  }
  await publishWrite(gk.publisher, req, [...result.written, ...result.deleted]);
  const body: Bundle = { resourceType: 'Bundle', type: `${kind}-response`, entry: entries.map((_, i) => result.responses.get(i)!) };
  return { body, resources: [...result.written, ...result.read] };
}

const inOrder = (entries: readonly EntryRequest[]): EntryRequest[] =>
  [...entries].sort((a, b) => METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method) || a.index - b.index);

function failure(err: unknown): BundleEntry {
  const { status, body } = toOutcome(err);
  return { response: { status: String(status), outcome: body } };
}

/** Runs `entries` against `tx` (one transaction), in the R4 order. */
async function run(tx: RecordStore, entries: readonly EntryRequest[], base: string, prefer: ReturnPreference): Promise<Outcome> {
  const out: Outcome = { responses: new Map(), written: [], deleted: [], read: [] };
  const respond = (e: EntryRequest, resource: Resource, status: string) => {
    out.responses.set(e.index, responseEntry(base, resource, status, prefer));
  };
  const ordered = inOrder(entries);
  for (const e of ordered.filter((x) => x.method === 'DELETE')) {
    const gone = await atEntry(e, async () => {
      const target = e.id ?? (await singleMatch(tx, e.type, e.query!))?.id;
      return target === undefined ? undefined : tx.delete(e.type, target, { ifMatch: e.ifMatch });
    });
    if (gone) out.deleted.push(gone);
    out.responses.set(e.index, { response: { status: '204' } });
  }
  // Every target first: its fullUrl is what other entries' references name.
  const lookup = new ConditionLookup(tx);
  await lookup.prefetch(ordered.flatMap((e) => (e.method === 'POST' && e.ifNoneExist ? [{ type: e.type, query: e.ifNoneExist }] : [])));
  const targets = new Map<string, string>();
  const writes: { e: EntryRequest; resource: Resource; create: boolean }[] = [];
  for (const e of ordered.filter((x) => x.method === 'POST' || x.method === 'PUT')) {
    const existing = e.method === 'POST' && e.ifNoneExist ? await atEntry(e, () => lookup.single(e.type, e.ifNoneExist!)) : undefined;
    if (existing) {
      if (e.fullUrl) targets.set(e.fullUrl, `${e.type}/${existing.id}`);
      respond(e, existing, '200 OK');
      continue;
    }
    const id = await atEntry(e, () => targetId(tx, e));
    if (e.fullUrl) targets.set(e.fullUrl, `${e.type}/${id}`);
    writes.push({ e, resource: { ...e.resource!, id }, create: e.method === 'POST' });
  }
  const rewriter = new ReferenceRewriter(lookup, targets, writes.map((w) => w.resource));
  await rewriter.prefetch(writes.map((w) => w.resource));
  for (const w of writes) w.resource = await atEntry(w.e, () => rewriter.rewrite(w.resource));
  const creates = writes.filter((w) => w.create);
  // Validated one by one here, so that a refusal names its entry; the insert is then one batch.
  for (const w of creates) await atEntry(w.e, async () => checked(w.resource));
  const created = await tx.createMany(creates.map((w) => w.resource), { validate: false });
  creates.forEach((w, i) => respond(w.e, created[i]!, '201 Created'));
  out.written.push(...created);
  const updates = writes.filter((x) => !x.create);
  for (const w of updates) await atEntry(w.e, async () => checked(w.resource));
  const updated = await tx.upsertMany(updates.map((w) => ({ resource: w.resource, ifMatch: w.e.ifMatch })), { validate: false });
  updates.forEach((w, i) => respond(w.e, updated[i]!.resource, updated[i]!.created ? '201 Created' : '200 OK'));
  out.written.push(...updated.map((u) => u.resource));
  for (const e of ordered.filter((x) => x.method === 'PATCH')) {
    const saved = await atEntry(e, async () => {
      const current = e.id ? await tx.read(e.type, e.id) : await singleMatch(tx, e.type, e.query!);
      if (!current) throw new GatekeeperError(404, `no ${e.type} matches the condition`);
      const patched = applyJsonPatch(current, patchOf(e));
      refuseImpossible(patched);
      return tx.update(patched, { ifMatch: e.ifMatch ?? current.meta?.versionId, mustExist: true });
    });
    respond(e, saved, '200 OK');
    out.written.push(saved);
  }
  for (const e of ordered.filter((x) => x.method === 'GET')) {
    const resource = await atEntry(e, () => readEntry(tx, e, base));
    out.responses.set(e.index, { fullUrl: e.id ? `${base}/${e.type}/${e.id}` : undefined, resource, response: { status: '200 OK' } });
    if (resource.resourceType === 'Bundle') out.read.push(...(resource.entry ?? []).flatMap((x) => (x.resource ? [x.resource] : [])));
    else out.read.push(resource);
  }
  return out;
}

/** A POST or PUT entry's resource: valid R4, with no impossible value (plausible.ts). */
function checked(resource: Resource): void {
  validate(resource);
  refuseImpossible(resource);
}

/** Runs one entry's work; a refusal names the entry (`entry 3: …`), so the client knows which to fix. */
async function atEntry<T>(e: EntryRequest, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GatekeeperError && !err.message.startsWith('entry ')) throw new GatekeeperError(err.status, `entry ${e.index}: ${err.message}`);
    if (err instanceof OperationOutcomeError) {
      const [first, ...rest] = err.outcome.issue ?? [];
      const diagnostics = `entry ${e.index}: ${first?.diagnostics ?? first?.details?.text ?? 'refused'}`;
      throw new OperationOutcomeError({ ...err.outcome, issue: [{ severity: 'error', code: 'processing', ...first, diagnostics }, ...rest] }, err);
    }
    throw err;
  }
}

/** The id a POST or PUT entry writes: a new uuid, the URL's, or that of a conditional update's one match. */
async function targetId(tx: RecordStore, e: EntryRequest): Promise<string> {
  if (e.method === 'POST') return randomUUID();
  if (e.id) return e.id;
  const found = await singleMatch(tx, e.type, e.query!);
  if (found && e.resource!.id !== undefined && e.resource!.id !== found.id) throw new GatekeeperError(400, 'the resource id is not that of the match');
  return found?.id ?? e.resource!.id ?? randomUUID();
}

/** A PATCH entry's JSON Patch, from its Binary (base64 data). */
function patchOf(e: EntryRequest): unknown {
  const data = (e.resource as { data?: string }).data ?? '';
  try {
    return JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    throw new GatekeeperError(400, "the Binary's data is not a base64 JSON Patch");
  }
}

async function readEntry(tx: RecordStore, e: EntryRequest, base: string): Promise<Resource> {
  if (e.id && e.versionId) return tx.vread(e.type, e.id, e.versionId);
  if (e.id) return tx.read(e.type, e.id);
  const { resources, total } = await tx.search(e.type, e.query ?? '');
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total, entry: resources.map((r) => ({ fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } })) };
  return bundle;
}

/** A write's response entry: status, Location, ETag, Last-Modified; the resource as `Prefer` asks. */
function responseEntry(base: string, resource: Resource, status: string, prefer: ReturnPreference): BundleEntry {
  const url = `${resource.resourceType}/${resource.id}`;
  return {
    fullUrl: `${base}/${url}`,
    ...(prefer === 'representation' ? { resource } : {}),
    response: {
      status,
      location: `${url}/_history/${resource.meta?.versionId}`,
      etag: etagOf(resource),
      ...(resource.meta?.lastUpdated ? { lastModified: resource.meta.lastUpdated } : {}),
      ...(prefer === 'OperationOutcome' ? { outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `${status} ${url}` }] } } : {}),
    },
  };
}
