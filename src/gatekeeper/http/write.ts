/**
 * The write routes (https://hl7.org/fhir/R4/http.html#create, #update): the provider's own
 * applications only. Each write that changes a pointer's result updates the pointer's hash on chain
 * (the seed's "update PPR").
 */
import type { FastifyRequest } from 'fastify';
import type { Resource } from '@medplum/fhirtypes';
import { publishRecord } from '../publish/publish.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import type { JsonBody } from './json-body.js';
import { GatekeeperError } from './outcomes.js';

/** The resource in the body, refused unless the provider sends a `type` resource. */
function resourceOf(req: FastifyRequest, ctx: Ctx, type: string): Resource {
  if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only the provider writes to its own store');
  const json = (req.body as JsonBody | undefined)?.json as Resource | undefined;
  if (!json || json.resourceType !== type) throw new GatekeeperError(400, `body must be a ${type} resource`);
  return json;
}

/** POST /fhir/R4/{type} */
export async function create(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type } = req.params as { type: string };
  const saved = await gk.store.create(resourceOf(req, ctx, type));
  await publishRecord(gk.store, gk.ledger, saved);
  return { body: saved, resources: [saved], status: 201 };
}

/** PUT /fhir/R4/{type}/{id} */
export async function update(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { type, id } = req.params as { type: string; id: string };
  const json = resourceOf(req, ctx, type);
  if (json.id !== id) throw new GatekeeperError(400, 'resource id does not match the URL');
  const saved = await gk.store.update(json);
  await publishRecord(gk.store, gk.ledger, saved);
  return { body: saved, resources: [saved] };
}
