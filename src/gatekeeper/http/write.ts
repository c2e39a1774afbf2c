/**
 * The write routes (https://hl7.org/fhir/R4/http.html): create (and conditional create with
 * `If-None-Exist`), update (update as create with the client's id; conditional update), patch (JSON
 * Patch, RFC 6902), delete (and conditional delete). The provider's own applications only. Every write
 * that changes what an on-chain pointer returns updates that pointer's hash (the seed's "update PPR"),
 * through the gatekeeper's publisher (publish/publisher.ts: coalesced with concurrent writes).
 */
import type { FastifyRequest } from 'fastify';
import type { Resource } from '@medplum/fhirtypes';
import { publishWrite } from '../publish/settle.js';
import { conditionOf, singleMatch } from './conditional.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import type { JsonBody } from './json-body.js';
import { GatekeeperError } from './outcomes.js';
import { applyJsonPatch } from './patch.js';
import { refuseImpossible } from './plausible.js';
import { ifMatchOf, information, returnPreference, writeAnswer } from './preconditions.js';

function requireProvider(ctx: Ctx): void {
  if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only the provider writes to its own store');
}

/** The resource in the body, refused unless the provider sends a `type` resource. */
function resourceOf(req: FastifyRequest, ctx: Ctx, type: string): Resource {
  requireProvider(ctx);
  const json = (req.body as JsonBody | undefined)?.json as Resource | undefined;
  if (!json || typeof json !== 'object' || json.resourceType !== type) throw new GatekeeperError(400, `body must be a ${type} resource`);
  refuseImpossible(json);
  return json;
}

/** POST /fhir/R4/{type}; with `If-None-Exist: {query}`, an existing match is answered (200) instead. */
export async function create(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type } = req.params as { type: string };
  const resource = resourceOf(req, ctx, type);
  const condition = req.headers['if-none-exist'];
  if (condition !== undefined) {
    const found = await singleMatch(gk.store, type, String(condition).replace(/^.*\?/, ''));
    if (found) return writeAnswer(req, found, 200, 'Found');
  }
  const saved = await gk.store.create(resource);
  await publishWrite(gk.publisher, req, [saved]);
  return writeAnswer(req, saved, 201, 'Created');
}

/** PUT /fhir/R4/{type}/{id}: a new version, or (an id never seen) created with the client's id. */
export async function update(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type, id } = req.params as { type: string; id: string };
  const json = resourceOf(req, ctx, type);
  if (json.id !== id) throw new GatekeeperError(400, 'resource id does not match the URL');
  return store(gk, req, json);
}

/** PUT /fhir/R4/{type}?{query}: updates the one match; none → created; several → 412. */
export async function conditionalUpdate(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type } = req.params as { type: string };
  const json = resourceOf(req, ctx, type);
  const found = await singleMatch(gk.store, type, conditionOf(req.url, 'update'));
  if (found && json.id !== undefined && json.id !== found.id) throw new GatekeeperError(400, `the resource id ${JSON.stringify(json.id)} is not that of the match (${found.id})`);
  if (found) return store(gk, req, { ...json, id: found.id });
  if (json.id !== undefined) return store(gk, req, json);
  const saved = await gk.store.create(json);
  await publishWrite(gk.publisher, req, [saved]);
  return writeAnswer(req, saved, 201, 'Created');
}

async function store(gk: GatekeeperContext, req: FastifyRequest, resource: Resource, mustExist = false): Promise<Answer> {
  const { resource: saved, created } = await gk.store.upsert(resource, { ifMatch: ifMatchOf(req), mustExist });
  await publishWrite(gk.publisher, req, [saved]);
  return writeAnswer(req, saved, created ? 201 : 200, created ? 'Created' : 'Updated');
}

/** PATCH /fhir/R4/{type}/{id} with a JSON Patch body (application/json-patch+json). */
export async function patch(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  requireProvider(ctx);
  const { type, id } = req.params as { type: string; id: string };
  return patchResource(gk, req, await gk.store.read(type, id));
}

/** PATCH /fhir/R4/{type}?{query}: patches the one match; none → 404; several → 412. */
export async function conditionalPatch(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  requireProvider(ctx);
  const { type } = req.params as { type: string };
  const found = await singleMatch(gk.store, type, conditionOf(req.url, 'patch'));
  if (!found) throw new GatekeeperError(404, `no ${type} matches the condition`);
  return patchResource(gk, req, found);
}

async function patchResource(gk: GatekeeperContext, req: FastifyRequest, current: Resource): Promise<Answer> {
  const patched = applyJsonPatch(current, (req.body as JsonBody | undefined)?.json);
  refuseImpossible(patched);
  // Without If-Match, the version read is the one patched: a write in between is a 412, not lost.
  const ifMatch = ifMatchOf(req) ?? current.meta?.versionId;
  const saved = await gk.store.update(patched, { ifMatch, mustExist: true });
  await publishWrite(gk.publisher, req, [saved]);
  return writeAnswer(req, saved, 200, 'Patched');
}

/** DELETE /fhir/R4/{type}/{id}: 204 (deleting a deleted resource again too); 404 when it never existed. */
export async function remove(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  requireProvider(ctx);
  const { type, id } = req.params as { type: string; id: string };
  return deleted(gk, req, `${type}/${id}`, await gk.store.delete(type, id, { ifMatch: ifMatchOf(req) }));
}

/** DELETE /fhir/R4/{type}?{query}: deletes the one match; none → 204 (nothing to delete); several → 412. */
export async function conditionalDelete(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  requireProvider(ctx);
  const { type } = req.params as { type: string };
  const found = await singleMatch(gk.store, type, conditionOf(req.url, 'delete'));
  if (!found) return deleted(gk, req, `no ${type} matched`, undefined);
  return deleted(gk, req, `${type}/${found.id}`, await gk.store.delete(type, found.id!, { ifMatch: ifMatchOf(req) }));
}

async function deleted(gk: GatekeeperContext, req: FastifyRequest, what: string, resource: Resource | undefined): Promise<Answer> {
  if (resource) await publishWrite(gk.publisher, req, [resource]);
  const outcome = returnPreference(req) === 'OperationOutcome';
  return { body: outcome ? information(`Deleted ${what}`) : '', status: outcome ? 200 : 204, ...(resource ? { resources: [resource] } : {}) };
}
