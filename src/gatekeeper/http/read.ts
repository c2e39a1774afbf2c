/**
 * The read routes (https://hl7.org/fhir/R4/http.html: read, history-instance, vread, and
 * Patient/$everything; search-type is search.ts): each reads through the requester's consent filter,
 * so nothing outside the grant is ever read from the store.
 */
import type { FastifyRequest } from 'fastify';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Sql } from '../../records/sql.js';
import { fhirBaseUrl } from './base-url.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import { GatekeeperError, typeRefusal } from './outcomes.js';
import { versionHeaders } from './preconditions.js';
import type { CachedSearch } from './read-cache.js';

/** The SQL filter for `type`, or the right refusal (410 when only expired grants cover it). */
export function filterFor(gk: GatekeeperContext, ctx: Ctx, type: string): Sql {
  const { policy, filter } = gk.policies.filter(ctx.requester, type, Math.floor(Date.now() / 1000));
  if (filter) return filter;
  throw typeRefusal(policy, type);
}

/** The current resource (as a one-resource search) if the requester may read it; else 404/410 (absent, deleted) or 403. */
async function permittedRead(gk: GatekeeperContext, ctx: Ctx, type: string, id: string): Promise<CachedSearch> {
  const found = await gk.reads.search(type, `_id=${encodeURIComponent(id)}`, filterFor(gk, ctx, type));
  if (found.resources[0]) return found;
  await gk.store.read(type, id); // throws 404 or 410 when there is nothing to be refused
  throw new GatekeeperError(403, `not granted: ${type}/${id}`);
}

function searchset(req: FastifyRequest, resources: Resource[], total: number): Bundle {
  const base = fhirBaseUrl(req);
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: [{ relation: 'self', url: `${req.protocol}://${req.host}${req.url}` }],
    entry: resources.map((resource) => ({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
  };
}

/** GET /fhir/R4/{type}/{id} */
export async function read(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type, id } = req.params as { type: string; id: string };
  const found = await permittedRead(gk, ctx, type, id);
  return { body: found.json[0], resources: found.resources, dataHash: found.dataHash, headers: versionHeaders(found.resources[0]!) };
}

/** GET /fhir/R4/{type}/{id}/_history: every version, if the current one may be read. */
export async function historyInstance(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type, id } = req.params as { type: string; id: string };
  await permittedRead(gk, ctx, type, id);
  const versions = await gk.store.history(type, id);
  const body: Bundle = { resourceType: 'Bundle', type: 'history', total: versions.length, entry: versions.map((resource) => ({ fullUrl: `${fhirBaseUrl(req)}/${type}/${id}`, resource })) };
  return { body, resources: versions };
}

/** GET /fhir/R4/{type}/{id}/_history/{vid}: one version, if the current one may be read. */
export async function vread(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type, id, vid } = req.params as { type: string; id: string; vid: string };
  await permittedRead(gk, ctx, type, id);
  const resource = await gk.store.vread(type, id, vid);
  return { body: resource, resources: [resource], headers: versionHeaders(resource) };
}

/** GET /fhir/R4/Patient/{id}/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html): the patient themself, or their provider. */
export async function everything(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { id } = req.params as { id: string };
  if (!(ctx.requester.role === 'provider' || ctx.patientId === id)) throw new GatekeeperError(403, '$everything is for the patient themself');
  const resources = await gk.store.everything(id);
  return { body: searchset(req, resources, resources.length), resources };
}
