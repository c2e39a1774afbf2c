/**
 * Type-level history (https://hl7.org/fhir/R4/http.html#history): GET /fhir/R4/{type}/_history, the
 * latest versions of every resource of a type, deletions included. It crosses patients and shows
 * deleted versions, which no consent filter over current rows could cover, so it is the provider's
 * own (instance history, read.ts, is consent-filtered for everyone).
 */
import type { FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { fhirBaseUrl } from './base-url.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import { GatekeeperError } from './outcomes.js';

const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;

/** GET /fhir/R4/{type}/_history[?_count=n] */
export async function historyType(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'type history is the provider\'s own; read an instance\'s history instead');
  const { type } = req.params as { type: string };
  const countText = (req.query as { _count?: string })._count;
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new GatekeeperError(400, `_count must be an integer from 1 to ${MAX_COUNT}`);
  const versions = await gk.store.historyType(type, count);
  const base = fhirBaseUrl(req);
  const entry: BundleEntry[] = versions.map((v) => ({
    fullUrl: `${base}/${type}/${v.id}`,
    ...(v.resource ? { resource: v.resource } : {}),
    request: { method: v.deleted ? 'DELETE' : v.versionId === '1' ? 'POST' : 'PUT', url: v.versionId === '1' && !v.deleted ? type : `${type}/${v.id}` },
    response: { status: v.deleted ? '204' : v.versionId === '1' ? '201' : '200', etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated },
  }));
  const body: Bundle = { resourceType: 'Bundle', type: 'history', total: entry.length, link: [{ relation: 'self', url: `${req.protocol}://${req.host}${req.url}` }], entry };
  return { body, resources: versions.flatMap((v) => (v.resource ? [v.resource] : [])) };
}
