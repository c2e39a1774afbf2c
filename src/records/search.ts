/**
 * FHIR search → one SQL WHERE fragment over the search columns, plus paging and sort
 * (https://hl7.org/fhir/R4/search.html). Strict: an unknown parameter, modifier or prefix, a
 * parameter the type does not have, or a malformed value is a 400, never silently ignored — a
 * gatekeeper that drops a constraint it does not understand returns more than was asked for.
 * Every value is a placeholder; nothing from the query is spliced into SQL text.
 *
 * Comma = OR within one parameter, a repeated parameter = AND (search.html#combining).
 */
import { OperationOutcomeError, badRequest } from '@medplum/core';
import { dateRange } from './date.js';
import { hasColumn, type Column } from './extract.js';
import { ID_PATTERN, LONE_SURROGATE, isSupportedType, type SupportedType } from './fhir.js';
import type { PointerQuery } from '../protocol/pointer-query.js';
import { and, join, or, raw, sql, type Sql } from './sql.js';

export interface SearchRequest {
  resourceType: SupportedType;
  /** Includes `resource_type = …`. */
  where: Sql;
  orderBy: Sql;
  /** Page size; 0 = only the total (`_count=0`, `_summary=count`). */
  count: number;
  offset: number;
}

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;
export const MAX_OFFSET = 1_000_000;
export const MAX_PARAMS = 30;
export const MAX_VALUE_LENGTH = 256;
const MAX_QUERY_LENGTH = 16_384;

function fail(message: string, expression?: string): never {
  throw new OperationOutcomeError(badRequest(message, expression));
}

/** Echoes a piece of the request in an error without control characters or unbounded length. */
const quote = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** The token columns (extract.ts): each holds bare codes and `system|code`. */
export type TokenColumn = 'codes' | 'categories' | 'identifiers' | 'security';

/**
 * The resource carries any of `values` in `column`: the one SQL form of a token match, shared by
 * FHIR search, the consent compiler (consent/policy.ts) and pointer result sets (pointerFilter).
 */
export const anyToken = (column: TokenColumn, values: readonly string[]): Sql => sql`${raw(column)} && ${[...values]}::text[]`;

/** The resource carries none of `values` in `column` (`:not` with a list, https://hl7.org/fhir/R4/search.html#modifiers). */
export const noToken = (column: TokenColumn, values: readonly string[]): Sql => sql`NOT (${anyToken(column, values)})`;

/**
 * The rows an on-chain pointer query (protocol/pointer-query.ts) names for one patient: its type, the
 * patient, any of its categories. On-chain categories are bare codes, which match bare and
 * `system|code` entries of the column alike. What the pointer's data hash is computed over.
 */
export function pointerFilter(query: PointerQuery, patientId: string): Sql {
  return and([sql`resource_type = ${query.resourceType}`, sql`patient_id = ${patientId}`, ...(query.categories.length ? [anyToken('categories', query.categories)] : [])]);
}

type Filter = (values: string[], name: string) => Sql;

/** Filter parameters: the column they need (undefined = every type), modifiers, and the SQL. */
const FILTERS: Record<string, { column?: Column; modifiers?: Record<string, Filter>; build: Filter }> = {
  _id: { build: (v, n) => sql`id = ANY(${v.map((x) => id(x, n))}::text[])` },
  patient: { column: 'patient', build: (v, n) => patientIs(v.map((x) => patientId(x, n))) },
  subject: { column: 'subject', build: (v, n) => patientIs(v.map((x) => patientId(x, n))) },
  code: { column: 'codes', build: (v, n) => anyToken('codes', v.map((x) => token(x, n))) },
  category: { column: 'categories', build: (v, n) => anyToken('categories', v.map((x) => token(x, n))) },
  status: { column: 'status', build: (v, n) => sql`status = ANY(${v.map((x) => code(x, n))}::text[])` },
  identifier: { column: 'identifiers', build: (v, n) => anyToken('identifiers', v.map((x) => token(x, n))) },
  _security: {
    build: (v, n) => anyToken('security', v.map((x) => token(x, n))),
    // `:not` with a list: the resource carries none of them (https://hl7.org/fhir/R4/search.html#modifiers).
    modifiers: { not: (v, n) => noToken('security', v.map((x) => token(x, n))) },
  },
  date: { column: 'date', build: (v, n) => or(v.map((x) => dateFilter(x, n, RANGE))) },
  _lastUpdated: { build: (v, n) => or(v.map((x) => dateFilter(x, n, LAST_UPDATED))) },
};

/** The result parameters the store itself reads (the rest, _include & co., are the gatekeeper's: search-plan.ts). */
export const RESULT_PARAMS = ['_count', '_offset', '_sort', '_total', '_summary'];

/** Whether `key` (name and modifier) is a filter parameter `type` supports: what lenient handling keeps. */
export function isKnownFilter(type: SupportedType, key: string): boolean {
  const [name = '', modifier, ...rest] = key.split(':');
  const filter = Object.hasOwn(FILTERS, name) ? FILTERS[name] : undefined;
  if (!filter || rest.length > 0 || (filter.column && !hasColumn(type, filter.column))) return false;
  return modifier === undefined || Object.hasOwn(filter.modifiers ?? {}, modifier);
}

/** The filter parameters `type` supports (what the CapabilityStatement lists). */
export const filterParams = (type: SupportedType): string[] => Object.keys(FILTERS).filter((name) => isKnownFilter(type, name));

/** The `_sort` keys (search.html#sort); `-` = descending. */
export const sortKeys = (): string[] => Object.keys(SORTS);

const SORTS: Record<string, { sql: Sql; column?: Column }> = {
  _lastUpdated: { sql: raw('last_updated ASC') },
  '-_lastUpdated': { sql: raw('last_updated DESC') },
  date: { sql: raw('date_start ASC NULLS LAST'), column: 'date' },
  '-date': { sql: raw('date_start DESC NULLS LAST'), column: 'date' },
  _id: { sql: raw('id ASC') },
  '-_id': { sql: raw('id DESC') },
};

/** Parses a search on `resourceType`; throws OperationOutcomeError (400) on anything it does not support. */
export function parseSearch(resourceType: string, query: string | URLSearchParams): SearchRequest {
  if (!isSupportedType(resourceType)) fail(`Unsupported resource type ${quote(resourceType)}; expected an R4 resource type`);
  const type = resourceType;
  if (typeof query === 'string' && query.length > MAX_QUERY_LENGTH) fail(`Search longer than ${MAX_QUERY_LENGTH} characters`);
  const params = [...(typeof query === 'string' ? new URLSearchParams(query.replace(/^\?/, '')) : query)];
  if (params.length > MAX_PARAMS) fail(`Too many search parameters (${params.length}; at most ${MAX_PARAMS})`);

  const where: Sql[] = [sql`resource_type = ${type}`];
  const result = new Map<string, string>();
  for (const [key, value] of params) {
    checkText(key, 'Search parameter name', 64);
    checkText(value, `Value of ${quote(key)}`, MAX_VALUE_LENGTH, key);
    if (value === '') fail(`Search parameter ${quote(key)} has no value`, key);
    const [name = '', modifier, ...rest] = key.split(':');
    if (RESULT_PARAMS.includes(name)) {
      if (modifier !== undefined) fail(`${name} takes no modifier`, key);
      if (result.has(name)) fail(`${name} may be given only once`, key);
      result.set(name, value);
      continue;
    }
    const filter = Object.hasOwn(FILTERS, name) ? FILTERS[name] : undefined;
    if (!filter) fail(`Unknown search parameter ${quote(name)}`, key);
    if (filter.column && !hasColumn(type, filter.column)) fail(`Search parameter ${quote(name)} is not supported for ${type}`, key);
    const build = modifier === undefined ? filter.build : Object.hasOwn(filter.modifiers ?? {}, modifier) ? filter.modifiers?.[modifier] : undefined;
    if (!build || rest.length > 0) fail(`Unknown modifier ${quote(key.slice(name.length))} on ${quote(name)}`, key);
    where.push(build(splitValues(value, key), key));
  }
  return { resourceType: type, where: and(where), ...resultParams(type, result) };
}

function resultParams(type: SupportedType, params: Map<string, string>): Pick<SearchRequest, 'orderBy' | 'count' | 'offset'> {
  const count = integer(params.get('_count'), '_count', DEFAULT_COUNT, MAX_COUNT);
  const offset = integer(params.get('_offset'), '_offset', 0, MAX_OFFSET);
  const total = params.get('_total');
  if (total !== undefined && !['none', 'estimate', 'accurate'].includes(total)) fail('_total must be none, estimate or accurate', '_total');
  const summary = params.get('_summary');
  if (summary !== undefined && summary !== 'count' && summary !== 'false') fail('_summary supports only count and false', '_summary');
  const keys = params.get('_sort')?.split(',') ?? ['-_lastUpdated'];
  const sorts = keys.map((key) => {
    const sort = Object.hasOwn(SORTS, key) ? SORTS[key] : undefined;
    if (!sort) fail(`Unsupported _sort ${quote(key)}; use ${Object.keys(SORTS).join(', ')}`, '_sort');
    if (sort.column && !hasColumn(type, sort.column)) fail(`${type} cannot be sorted by ${quote(key)}`, '_sort');
    return sort.sql;
  });
  // id last, so pages never overlap or skip rows that tie on the sort key.
  return { orderBy: join([...sorts, raw('id ASC')], ', '), count: summary === 'count' ? 0 : count, offset };
}

function integer(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,7}$/.test(value) || Number(value) > max) fail(`${name} must be an integer from 0 to ${max}`, name);
  return Number(value);
}

/** Rejects control characters (NUL included), unpaired surrogates and over-long text. */
function checkText(text: string, what: string, max: number, expression?: string): void {
  if (text.length > max) fail(`${what} is too long (at most ${max} characters)`, expression);
  if (/[\u0000-\u001f\u007f]/.test(text) || LONE_SURROGATE.test(text)) {
    fail(`${what} contains a control character or invalid Unicode`, expression);
  }
}

/** Comma-separated values (OR). FHIR's `\,` `\|` escapes are not supported: no code we store needs them. */
function splitValues(value: string, name: string): string[] {
  if (value.includes('\\')) fail(`Escaped characters are not supported in ${quote(name)}`, name);
  const values = value.split(',');
  if (values.some((v) => v === '')) fail(`Empty value in ${quote(name)}`, name);
  return values;
}

function id(value: string, name: string): string {
  if (!ID_PATTERN.test(value)) fail(`${quote(value)} is not a valid id in ${quote(name)}`, name);
  return value;
}

/** `Patient/x` or `x` (https://hl7.org/fhir/R4/search.html#reference); other targets are not patients. */
function patientId(value: string, name: string): string {
  const match = /^(?:Patient\/)?([^/]*)$/.exec(value);
  if (!match) fail(`${quote(name)} must be a Patient id or Patient/id, not ${quote(value)}`, name);
  return id(match[1] ?? '', name);
}

const patientIs = (ids: string[]): Sql => (ids.length === 1 ? sql`patient_id = ${ids[0]}` : sql`patient_id = ANY(${ids}::text[])`);

/**
 * Code and system text: letters, digits and the punctuation codes, OIDs and URIs use; single inner
 * spaces as in the FHIR `code` type. Quotes, semicolons, backslashes and the like are refused outright:
 * values are placeholders anyway, but no real code contains them and they mark a probe.
 */
const CODE = /^[\p{L}\p{N}\p{M}\-._:/#@+%=~!$*()?&[\]^{}]+(?: [\p{L}\p{N}\p{M}\-._:/#@+%=~!$*()?&[\]^{}]+)*$/u;

function code(value: string, name: string): string {
  if (!CODE.test(value)) fail(`${quote(value)} is not a valid code in ${quote(name)}`, name);
  return value;
}

/** `code`, `system|code` or `|code` (no system) → the column's token form (search.html#token). */
function token(value: string, name: string): string {
  const parts = value.split('|');
  if (parts.length === 1) return code(value, name);
  const [system = '', c = ''] = parts;
  if (parts.length > 2) fail(`${quote(value)} has more than one "|" in ${quote(name)}`, name);
  if (c === '') fail(`Searching every code of a system (${quote(value)}) is not supported in ${quote(name)}`, name);
  if (system !== '') code(system, name);
  return `${system}|${code(c, name)}`;
}

/** The four comparisons every prefix reduces to, over a target range [start, end). */
interface RangeColumns {
  startGe: (t: string) => Sql;
  startLt: (t: string) => Sql;
  endGt: (t: string) => Sql;
  endLe: (t: string) => Sql;
}

const RANGE: RangeColumns = {
  startGe: (t) => sql`date_start >= ${t}::timestamptz`,
  startLt: (t) => sql`date_start < ${t}::timestamptz`,
  endGt: (t) => sql`date_end > ${t}::timestamptz`,
  endLe: (t) => sql`date_end <= ${t}::timestamptz`,
};

// last_updated is an instant written with millisecond precision: its range is [t, t + 1 ms).
const LAST_UPDATED: RangeColumns = {
  startGe: (t) => sql`last_updated >= ${t}::timestamptz`,
  startLt: (t) => sql`last_updated < ${t}::timestamptz`,
  endGt: (t) => sql`last_updated >= ${t}::timestamptz`,
  endLe: (t) => sql`last_updated < ${t}::timestamptz`,
};

/**
 * A prefixed date against a target range, exactly as https://hl7.org/fhir/R4/search.html#prefix
 * defines each prefix over the search value's range [lo, hi). `ap` (approximately) is not supported.
 */
function dateFilter(value: string, name: string, c: RangeColumns): Sql {
  const match = /^(eq|ne|lt|le|gt|ge|sa|eb)?(\d.*)$/.exec(value);
  const range = match ? dateRange(match[2] ?? '') : undefined;
  if (!match || !range) fail(`${quote(value)} is not a date with an optional prefix (eq ne lt le gt ge sa eb) in ${quote(name)}`, name);
  const lo = new Date(range.start).toISOString();
  const hi = new Date(range.end).toISOString();
  const eq = and([c.startGe(lo), c.endLe(hi)]); // the search range contains the target
  switch (match[1] ?? 'eq') {
    case 'eq': return eq;
    case 'ne': return or([c.startLt(lo), c.endGt(hi)]);
    case 'gt': return c.endGt(hi); // the range above the value overlaps the target
    case 'lt': return c.startLt(lo); // the range below the value overlaps the target
    case 'ge': return or([c.endGt(hi), eq]);
    case 'le': return or([c.startLt(lo), eq]);
    case 'sa': return c.startGe(hi); // starts after: the target lies wholly above the value
    default: return c.endLe(lo); // eb, ends before: the target lies wholly below the value
  }
}
