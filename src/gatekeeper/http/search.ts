/**
 * Type-level search, GET /fhir/R4/{type}?… and POST /fhir/R4/{type}/_search
 * (https://hl7.org/fhir/R4/search.html, http.html#search). Everything it reads goes through the
 * requester's consent filter (filterFor): the matches, the patients a chained parameter looks at,
 * and every `_include`/`_revinclude` — an included resource the requester may not read is left out,
 * as a type they hold no grant for is.
 *
 * The data-hash header covers the primary matches only, as stored (before `_elements`/`_summary`),
 * exactly as before includes existed: included resources and the OperationOutcome are not in it.
 * Every disclosed resource, included ones too, is audited under its patient.
 */
import type { FastifyRequest } from 'fastify';
import { evalFhirPath } from '@medplum/core';
import type { Reference, Resource } from '@medplum/fhirtypes';
import { isSupportedType } from '../../records/fhir.js';
import { freshnessHeaders, onePatientOf, pointerQueryOf } from '../publish/freshness.js';
import { MAX_INCLUDED, planSearch, type SearchPlan } from '../../records/search-plan.js';
import { and, sql, type Sql } from '../../records/sql.js';
import { searchBundle } from './search-bundle.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import { FORM_CONTENT_TYPE, type JsonBody } from './json-body.js';
import { GatekeeperError } from './outcomes.js';
import { filterFor } from './read.js';

/** Resources read besides the matches, and what the reader should know about them. */
interface Included {
  resources: Resource[];
  warnings: string[];
}

/** GET /fhir/R4/{type}?{search} */
export async function searchType(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  return search(gk, req, ctx, [...new URLSearchParams(queryOf(req.url))]);
}

/** POST /fhir/R4/{type}/_search with a form body; parameters in the URL count too (http.html#search). */
export async function searchTypePost(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const form = (req.body as JsonBody | undefined)?.raw ?? '';
  if (form && !req.headers['content-type']?.startsWith(FORM_CONTENT_TYPE)) throw new GatekeeperError(415, `search parameters in a body are sent as ${FORM_CONTENT_TYPE}`);
  return search(gk, req, ctx, [...new URLSearchParams(queryOf(req.url)), ...new URLSearchParams(form)]);
}

const queryOf = (url: string): string => (url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');

/** `Prefer: handling=lenient` (https://hl7.org/fhir/R4/http.html#prefer); strict otherwise. */
const isLenient = (prefer: string | string[] | undefined): boolean =>
  [prefer ?? ''].flat().some((p) => p.split(/[,;]/).some((part) => part.trim().toLowerCase() === 'handling=lenient'));

async function search(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx, params: [string, string][]): Promise<Answer> {
  const { type } = req.params as { type: string };
  const consent = filterFor(gk, ctx, type); // a refusal comes before any reading of the request
  const plan = planSearch(type, params, { lenient: isLenient(req.headers.prefer) });
  const chained = await Promise.all(plan.chains.map((c) => chainFilter(gk, ctx, c.inner)));
  const found = await gk.reads.search(type, plan.store.toString(), chained.length ? and([consent, ...chained]) : consent);
  const [forward, reverse] = await Promise.all([includes(gk, ctx, plan, found.resources), revIncludes(gk, ctx, plan, found.resources)]);
  const included = [...forward.resources, ...reverse.resources];
  const warnings = [...plan.ignored.map((key) => `Unknown search parameter ${JSON.stringify(key)} ignored (Prefer: handling=lenient)`), ...forward.warnings, ...reverse.warnings];
  const body = searchBundle(req, plan, found, included, warnings);
  return { body, resources: [...found.resources, ...included], dataHash: found.dataHash, headers: pointerFreshness(gk, ctx, type, params, found.resources) };
}

/** A search that is exactly one patient's pointer query says whether its hash on chain is current or still pending (publish/freshness.ts). */
function pointerFreshness(gk: GatekeeperContext, ctx: Ctx, type: string, params: [string, string][], matches: readonly Resource[]): Record<string, string> | undefined {
  const query = pointerQueryOf(type, params);
  const patientId = query && onePatientOf(ctx.patientId, matches, gk.patientOf);
  return patientId ? freshnessHeaders(gk.publisher.stateOf(patientId, query)) : undefined;
}

/**
 * A chained parameter as a filter on the matches' patient: the patients the Patient search `inner`
 * finds among those the requester may read (a chain must not reveal what a Patient holds to someone
 * who may not read that Patient).
 */
async function chainFilter(gk: GatekeeperContext, ctx: Ctx, inner: [string, string]): Promise<Sql> {
  const query = new URLSearchParams([inner, ['_count', String(MAX_INCLUDED)], ['_sort', '_id']]).toString();
  const patients = await gk.reads.search('Patient', query, filterFor(gk, ctx, 'Patient'));
  if (patients.total > MAX_INCLUDED) throw new GatekeeperError(400, `the chained parameter ${inner[0]} matches more than ${MAX_INCLUDED} patients: narrow it`);
  return sql`patient_id = ANY(${patients.resources.map((p) => p.id!)}::text[])`;
}

/** The resources of `type` with these ids that the requester may read (none when they may read no `type`). */
async function readable(gk: GatekeeperContext, ctx: Ctx, type: string, where: Sql): Promise<{ resources: Resource[]; total: number }> {
  let consent: Sql;
  try {
    consent = filterFor(gk, ctx, type);
  } catch (err) {
    if (err instanceof GatekeeperError) return { resources: [], total: 0 };
    throw err;
  }
  return gk.store.search(type, `_count=${MAX_INCLUDED}&_sort=_id`, { filter: and([consent, where]) });
}

/** The included resources, and a warning for each type cut at MAX_INCLUDED. */
function gather(results: { resources: Resource[]; total: number }[], types: string[], what: string): Included {
  const warnings = results.flatMap((r, i) => (r.total > r.resources.length ? [`${what} ${types[i]}: only the first ${r.resources.length} of ${r.total} are included`] : []));
  return { resources: results.flatMap((r) => r.resources), warnings };
}

/** `_include`: what the matches refer to, read type by type through consent; each resource once. */
async function includes(gk: GatekeeperContext, ctx: Ctx, plan: SearchPlan, matches: readonly Resource[]): Promise<Included> {
  if (!plan.includes.length || !matches.length) return { resources: [], warnings: [] };
  const byType = new Map<string, Set<string>>();
  for (const { expression, target } of plan.includes) {
    for (const match of matches) {
      for (const ref of evalFhirPath(expression, match) as Reference[]) {
        const [refType = '', id, ...rest] = (ref?.reference ?? '').split('/');
        if (!id || rest.length || !isSupportedType(refType) || (target && refType !== target)) continue; // contained (#x), absolute or versioned
        if (!byType.has(refType)) byType.set(refType, new Set());
        byType.get(refType)!.add(id);
      }
    }
  }
  const primary = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const found = await Promise.all([...byType].map(([type, ids]) => readable(gk, ctx, type, sql`id = ANY(${[...ids]}::text[])`)));
  const { resources, warnings } = gather(found, [...byType.keys()], '_include');
  return { resources: resources.filter((r) => !primary.has(`${r.resourceType}/${r.id}`)), warnings };
}

/** `_revinclude=Type:patient` on a Patient search: the matched patients' resources of that type the requester may read. */
async function revIncludes(gk: GatekeeperContext, ctx: Ctx, plan: SearchPlan, matches: readonly Resource[]): Promise<Included> {
  if (!plan.revincludes.length || !matches.length) return { resources: [], warnings: [] };
  const ids = matches.map((m) => m.id!);
  const types = [...new Set(plan.revincludes.map((r) => r.type))];
  const found = await Promise.all(types.map((type) => readable(gk, ctx, type, sql`patient_id = ANY(${ids}::text[])`)));
  return gather(found, types, '_revinclude');
}
