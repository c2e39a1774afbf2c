/**
 * The searchset Bundle (https://hl7.org/fhir/R4/bundle.html, search.html#return): absolute `fullUrl`s,
 * and `self`/`first`/`previous`/`next`/`last` links a stock client follows as they are (fhirBaseUrl).
 * Pages are offsets into one order that ends in the unique id (search.ts), so following `next` from the
 * first page to the last returns every match exactly once while nothing is written meanwhile.
 *
 * Serialised by hand around the read cache's JSON of each match (JSON serialised once per cached
 * result): the same text JSON.stringify would give.
 */
import type { FastifyRequest } from 'fastify';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { SearchPlan } from '../../records/search-plan.js';
import { shapeResource } from '../../records/search-shape.js';
import { fhirBaseUrl } from './base-url.js';
import type { CachedSearch } from './read-cache.js';

type Link = { relation: string; url: string };

export function searchBundle(req: FastifyRequest, plan: SearchPlan, found: CachedSearch, included: readonly Resource[], warnings: readonly string[]): string {
  const base = fhirBaseUrl(req);
  const fullUrl = (r: Resource) => JSON.stringify(`${base}/${r.resourceType}/${r.id}`);
  const shaped = plan.elements !== undefined || (plan.summary !== undefined && plan.summary !== 'false' && plan.summary !== 'count');
  const entries = found.resources.map((r, i) => {
    const json = shaped ? JSON.stringify(shapeResource(r, plan.elements, plan.summary)) : found.json[i];
    return `{"fullUrl":${fullUrl(r)},"resource":${json},"search":{"mode":"match"}}`;
  });
  for (const r of included) entries.push(`{"fullUrl":${fullUrl(r)},"resource":${JSON.stringify(r)},"search":{"mode":"include"}}`);
  if (warnings.length) entries.push(`{"resource":${JSON.stringify(warningOutcome(warnings))},"search":{"mode":"outcome"}}`);
  const total = plan.total === 'none' ? '' : `"total":${found.total},`;
  return `{"resourceType":"Bundle","type":"searchset",${total}"link":${JSON.stringify(links(`${base}/${plan.type}`, plan, found.total))},"entry":[${entries.join(',')}]}`;
}

/** self, first, previous, next and last, each a GET of the same search at another offset. */
function links(url: string, plan: SearchPlan, total: number): Link[] {
  const at = (offset: number) => {
    const params = new URLSearchParams(plan.used);
    params.set('_count', String(plan.count));
    if (offset > 0) params.set('_offset', String(offset));
    return `${url}?${params.toString()}`;
  };
  const result: Link[] = [{ relation: 'self', url: at(plan.offset) }];
  if (plan.count === 0) return result;
  result.push({ relation: 'first', url: at(0) });
  if (plan.offset > 0) result.push({ relation: 'previous', url: at(Math.max(0, plan.offset - plan.count)) });
  if (plan.offset + plan.count < total) result.push({ relation: 'next', url: at(plan.offset + plan.count) });
  result.push({ relation: 'last', url: at(Math.max(0, Math.floor((total - 1) / plan.count) * plan.count)) });
  return result;
}

function warningOutcome(warnings: readonly string[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: warnings.map((diagnostics) => ({ severity: 'warning', code: 'not-supported', diagnostics })) };
}
