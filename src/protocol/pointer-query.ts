/**
 * The on-chain-safe query grammar. Pointer queries and grant scopes are written to the chain in
 * events, which are public and permanent, so they may say *which kind* of data, never *what* it is:
 *
 *   query    = resource-type [ "?category=" category *( "," category ) ]
 *
 * - the resource type comes from an allowlist of FHIR R4 types;
 * - the only parameter is `category`, with values from the FHIR category value sets for that type
 *   (e.g. laboratory, vital-signs) — no `code`, no dates, no free text, no identifiers;
 * - the patient is never named: it is the relationship's patient, known from the relationship id.
 *
 * Queries are normalised (categories sorted and de-duplicated) before hashing, so the same scope
 * always has the same hash. FHIR search: https://hl7.org/fhir/R4/search.html
 */

/** Category codes allowed per resource type (FHIR R4 / US Core category value sets). */
export const CATEGORIES = {
  Patient: [],
  Observation: ['activity', 'exam', 'imaging', 'laboratory', 'procedure', 'social-history', 'survey', 'therapy', 'vital-signs'],
  Condition: ['encounter-diagnosis', 'health-concern', 'problem-list-item'],
  DiagnosticReport: ['LAB', 'OTH', 'PAT', 'RAD'],
  MedicationRequest: ['community', 'discharge', 'inpatient', 'outpatient'],
  AllergyIntolerance: ['biologic', 'environment', 'food', 'medication'],
  Immunization: [],
  Encounter: [],
  Procedure: [],
  DocumentReference: ['clinical-note'],
  ImagingStudy: [],
  CarePlan: ['assess-plan'],
  // Implants and equipment (Device.patient): a kind of data like Procedure, needed to share a whole EHR export.
  Device: [],
} as const satisfies Record<string, readonly string[]>;

export type PointerResourceType = keyof typeof CATEGORIES;

export interface PointerQuery {
  resourceType: PointerResourceType;
  /** Empty = every resource of the type. */
  categories: string[];
}

/** A query that may not go on chain, with the reason. */
export class UnsafeQueryError extends Error {
  constructor(query: string, reason: string) {
    // JSON quoting escapes control characters: the message stays one printable line.
    super(`query ${JSON.stringify(query.length > 80 ? `${query.slice(0, 80)}…` : query)} is not allowed on chain: ${reason}`);
    this.name = 'UnsafeQueryError';
  }
}

const MAX_QUERY_LENGTH = 200;

/** Parses and validates `query`; throws UnsafeQueryError when it breaks the grammar. */
export function parsePointerQuery(query: string): PointerQuery {
  if (query.length > MAX_QUERY_LENGTH) throw new UnsafeQueryError(query, `longer than ${MAX_QUERY_LENGTH} characters`);
  const [type, search, ...more] = query.split('?');
  if (more.length > 0) throw new UnsafeQueryError(query, 'more than one "?"');
  if (!type || !Object.hasOwn(CATEGORIES, type)) {
    throw new UnsafeQueryError(query, `resource type must be one of ${Object.keys(CATEGORIES).join(', ')}`);
  }
  const resourceType = type as PointerResourceType;
  if (search === undefined) return { resourceType, categories: [] };
  const params = search.split('&');
  if (params.length !== 1 || !params[0]!.startsWith('category=')) {
    throw new UnsafeQueryError(query, 'the only search parameter allowed is category');
  }
  const allowed: readonly string[] = CATEGORIES[resourceType];
  const values = params[0]!.slice('category='.length).split(',');
  for (const value of values) {
    if (!allowed.includes(value)) {
      throw new UnsafeQueryError(
        query,
        allowed.length ? `category "${value}" is not one of ${allowed.join(', ')}` : `${resourceType} has no categories`,
      );
    }
  }
  return { resourceType, categories: [...new Set(values)].sort() };
}

/** The canonical text of a parsed query. */
export function formatPointerQuery(q: PointerQuery): string {
  return q.categories.length ? `${q.resourceType}?category=${q.categories.join(',')}` : q.resourceType;
}

/** Validates and canonicalises `query` (sorted, de-duplicated categories). */
export function normalizePointerQuery(query: string): string {
  return formatPointerQuery(parsePointerQuery(query));
}

/** True when every resource `scope` matches is also matched by `pointer` (scope ⊆ pointer). */
export function isWithin(scope: string, pointer: string): boolean {
  const s = parsePointerQuery(scope);
  const p = parsePointerQuery(pointer);
  if (s.resourceType !== p.resourceType) return false;
  if (p.categories.length === 0) return true;
  return s.categories.length > 0 && s.categories.every((c) => p.categories.includes(c));
}
