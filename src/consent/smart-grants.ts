/**
 * SMART scopes ↔ on-chain grants. A SMART app reads through grants the patient wrote on chain to the
 * app's address, so a scope the patient approves becomes a grant scope (src/protocol/pointer-query.ts:
 * a resource type and optional categories — all the chain may say), and a token's reach is those
 * grants narrowed again by the token's scopes. Narrowing never widens: a scope whose constraints the
 * grant grammar cannot express (a `code=` parameter, say) grants nothing.
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 *
 * Pure and browser-safe: the EHR Manager's consent screen uses grantScopeOf too.
 */
import { CATEGORIES, formatPointerQuery, parsePointerQuery, type PointerResourceType } from '../protocol/pointer-query.js';
import { parseScopes, type ResourceScope, type SmartScope } from './smart.js';
import type { ViewerGrant } from './policy.js';

/** The reading permissions: the chain grants reads (read and search alike), never writes. */
const READS = /[rs]/;

/** Bare category codes of a `category` param: a `system|code` value becomes its code (the chain holds bare codes). */
function categoriesOf(scope: ResourceScope): string[] | undefined {
  if (scope.params.some((p) => p.name !== 'category')) return undefined;
  const values = scope.params.flatMap((p) => p.values.map((v) => v.slice(v.lastIndexOf('|') + 1)));
  // Several category params are AND-ed: only one (or none) is expressible as one grant.
  return scope.params.length > 1 ? undefined : values;
}

/**
 * The on-chain grant scope that gives exactly what `scope` reads, or undefined when none can: a
 * wildcard type, write-only permissions, or a parameter other than one `category`.
 */
export function grantScopeOf(scope: SmartScope): string | undefined {
  if (scope.kind !== 'resource' || !READS.test(scope.permissions) || !Object.hasOwn(CATEGORIES, scope.resourceType)) return undefined;
  const categories = categoriesOf(scope);
  if (!categories) return undefined;
  try {
    return formatPointerQuery(parsePointerQuery(categories.length ? `${scope.resourceType}?category=${categories.join(',')}` : scope.resourceType));
  } catch {
    return undefined; // a category the type does not have
  }
}

/** Each resource scope of an OAuth `scope` string with the grant it needs (undefined: cannot be granted). */
export function grantScopesOf(scope: string): { scope: SmartScope; grant: string | undefined }[] {
  return parseScopes(scope).filter((s) => s.kind === 'resource').map((s) => ({ scope: s, grant: grantScopeOf(s) }));
}

/** `grant` narrowed by one scope: the grant's type if the scope covers it, categories intersected. */
function narrowGrant(grant: ViewerGrant, scope: SmartScope): ViewerGrant | undefined {
  if (scope.kind !== 'resource' || !READS.test(scope.permissions)) return undefined;
  let query;
  try {
    query = parsePointerQuery(grant.scope);
  } catch {
    return undefined;
  }
  if (scope.resourceType !== '*' && scope.resourceType !== query.resourceType) return undefined;
  const wanted = categoriesOf(scope);
  if (!wanted) return undefined;
  const categories = !wanted.length ? query.categories : !query.categories.length ? wanted : query.categories.filter((c) => wanted.includes(c));
  if (wanted.length && query.categories.length && !categories.length) return undefined;
  const allowed: readonly string[] = CATEGORIES[query.resourceType as PointerResourceType];
  if (categories.some((c) => !allowed.includes(c))) return undefined;
  return { ...grant, scope: formatPointerQuery({ resourceType: query.resourceType, categories: [...new Set(categories)].sort() }) };
}

/**
 * The grants a token may use: `grants` (the app's live on-chain grants, already limited to the token's
 * patient for a patient-context token) narrowed by each of the token's scopes, the union of the results.
 */
export function narrowGrants(grants: readonly ViewerGrant[], scopes: readonly SmartScope[]): ViewerGrant[] {
  const out = new Map<string, ViewerGrant>();
  for (const g of grants) {
    for (const s of scopes) {
      const n = narrowGrant(g, s);
      if (n) out.set(`${n.patientId}\n${n.scope}\n${n.expiresAt}`, n);
    }
  }
  return [...out.values()];
}
