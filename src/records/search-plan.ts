/**
 * A FHIR search request split into what the store searches (search.ts: filters, `_count`, `_offset`,
 * `_sort`, `_total`, `_summary=count`) and what the gatekeeper does around it: chained parameters
 * resolved first, `_include`/`_revinclude` read after, `_elements`/`_summary` applied to what is sent
 * (https://hl7.org/fhir/R4/search.html). Pure: no database, no consent — the gatekeeper reads chained
 * and included resources through the requester's own consent filter.
 *
 * Handling (https://hl7.org/fhir/R4/search.html#errors): strict by default — an unknown parameter is a
 * 400; with `Prefer: handling=lenient` it is left out of the search and named in `ignored`. A known
 * parameter with a malformed value is a 400 either way.
 */
import { OperationOutcomeError, badRequest, getDataType, getSearchParameter } from '@medplum/core';
import { hasColumn } from './extract.js';
import { isSupportedType, type SupportedType } from './fhir.js';
import { MAX_PARAMS, MAX_VALUE_LENGTH, RESULT_PARAMS, isKnownFilter, parseSearch } from './search.js';

/** `_include=Source:param[:Target]`: the references `expression` finds in each match. */
export interface Include {
  /** The value as given, for messages. */
  value: string;
  expression: string;
  /** Only references to this type, when the value names one. */
  target?: string;
}

/** `_revinclude=Type:patient|subject` on a Patient search: that type's resources of the matched patients. */
export interface RevInclude {
  value: string;
  type: SupportedType;
}

/** `patient.identifier=…` (or `subject:Patient.…`): the matches' patient is one the Patient search `inner` finds. */
export interface Chain {
  inner: [string, string];
}

export type Summary = 'true' | 'text' | 'data' | 'count' | 'false';

export interface SearchPlan {
  type: SupportedType;
  /** What the store searches (store.search / parseSearch). */
  store: URLSearchParams;
  chains: Chain[];
  includes: Include[];
  revincludes: RevInclude[];
  elements?: string[];
  summary?: Summary;
  total?: string;
  count: number;
  offset: number;
  /** The parameters the search used, without `_count`/`_offset`: what self/next/previous links carry. */
  used: [string, string][];
  /** Parameters left out under lenient handling. */
  ignored: string[];
}

/** References that may name a patient: the reference parameters with a search column (search.ts). */
const CHAINABLE = ['patient', 'subject'] as const;

/** Greatest number of chained or included resources one search reads. */
export const MAX_INCLUDED = 1000;

function fail(message: string, expression?: string): never {
  throw new OperationOutcomeError(badRequest(message, expression));
}

const quote = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/**
 * Splits `params` (in request order) for `type`; throws OperationOutcomeError (400) on a malformed or,
 * when strict, an unknown parameter.
 */
export function planSearch(type: string, params: Iterable<[string, string]>, options: { lenient?: boolean } = {}): SearchPlan {
  // parseSearch refuses an unsupported type with its own message.
  if (!isSupportedType(type)) parseSearch(type, '');
  const t = type as SupportedType;
  const plan: Draft = { type: t, store: new URLSearchParams(), chains: [], includes: [], revincludes: [], used: [], ignored: [] };
  const list = [...params];
  // Bounds every parameter, not only those the store reads: each include and chain costs a query.
  if (list.length > MAX_PARAMS) fail(`Too many search parameters (${list.length}; at most ${MAX_PARAMS})`);
  for (const [key, value] of list) {
    if (key.length > 64 || value.length > MAX_VALUE_LENGTH) fail(`Search parameter ${quote(key)} is too long`);
    const name = key.split(':')[0];
    if (place(plan, t, key, value, options.lenient === true) && name !== '_count' && name !== '_offset') plan.used.push([key, value]);
  }
  const { count, offset } = parseSearch(t, plan.store); // validates everything the store will read
  return { ...plan, count, offset };
}

type Draft = Omit<SearchPlan, 'count' | 'offset'>;

/** Puts one parameter where it belongs in `plan`; false when it is not part of the search performed. */
function place(plan: Draft, type: SupportedType, key: string, value: string, lenient: boolean): boolean {
  const [name = ''] = key.split(':');
  if (name === '_format' || name === '_pretty') return false; // answers are always JSON
  if (RESULT_PARAMS.includes(name)) {
    resultParam(plan, name, key, value);
    return true;
  }
  if (name === '_include' || name === '_revinclude') {
    if (lenient && key !== name) return ignore(plan, key); // :iterate is not supported
    if (name === '_include') plan.includes.push(include(type, key, value));
    else plan.revincludes.push(revInclude(type, key, value));
    return true;
  }
  if (name === '_elements') {
    plan.elements = elements(type, key, value, plan.elements);
    return true;
  }
  const chain = isKnownFilter(type, key) ? undefined : chainOf(type, key, value);
  if (chain) plan.chains.push(chain);
  else if (lenient && !isKnownFilter(type, key)) return ignore(plan, key);
  else plan.store.append(key, value); // strict: an unknown one fails in parseSearch, with its reason
  return true;
}

function ignore(plan: Draft, key: string): false {
  plan.ignored.push(key);
  return false;
}

function resultParam(plan: Draft, name: string, key: string, value: string): void {
  if (name === '_summary') {
    if (key !== name) fail('_summary takes no modifier', key);
    if (plan.summary !== undefined) fail('_summary may be given only once', key);
    if (!['true', 'text', 'data', 'count', 'false'].includes(value)) fail('_summary must be true, text, data, count or false', key);
    plan.summary = value as Summary;
    if (value === 'count') plan.store.append(key, value);
    return;
  }
  if (name === '_total') plan.total = value;
  plan.store.append(key, value);
}

/** `_include=Source:param[:Target]` (search.html#include); the source is the searched type (no `:iterate`). */
function include(type: SupportedType, key: string, value: string): Include {
  if (key !== '_include') fail(`${quote(key)} is not supported: only _include without :iterate`, key);
  const [source = '', code = '', target, ...rest] = value.split(':');
  if (value === '*' || rest.length) fail(`_include=${quote(value)} is not supported: name Source:param[:Target]`, key);
  if (source !== type) fail(`_include=${quote(value)} must start with the searched type ${type}`, key);
  const param = getSearchParameter(type, code);
  if (param?.type !== 'reference' || !param.expression) fail(`${quote(code)} is not a reference parameter of ${type}`, key);
  if (target !== undefined && !param.target?.includes(target as never)) fail(`${quote(code)} of ${type} cannot refer to ${quote(target)}`, key);
  return { value, expression: param.expression, target };
}

/** `_revinclude=Type:patient|subject[:Patient]` on a Patient search: the patient column is what is indexed. */
function revInclude(type: SupportedType, key: string, value: string): RevInclude {
  if (key !== '_revinclude') fail(`${quote(key)} is not supported: only _revinclude without :iterate`, key);
  const [source = '', code = '', target, ...rest] = value.split(':');
  const supported =
    type === 'Patient' && isSupportedType(source) && (CHAINABLE as readonly string[]).includes(code) &&
    hasColumn(source, code as (typeof CHAINABLE)[number]) && (target === undefined || target === 'Patient') && rest.length === 0;
  if (!supported) fail(`_revinclude=${quote(value)} is not supported: only Type:patient or Type:subject on a Patient search`, key);
  return { value, type: source };
}

/** `_elements=a,b` (search.html#elements): top-level element names of the type (`value` for `value[x]`). */
function elements(type: SupportedType, key: string, value: string, previous: string[] | undefined): string[] {
  if (key !== '_elements') fail('_elements takes no modifier', key);
  if (previous) fail('_elements may be given only once', key);
  const known = new Set(Object.keys(getDataType(type).elements).map((e) => e.replace('[x]', '')));
  const names = value.split(',');
  for (const name of names) if (!known.has(name)) fail(`${quote(name)} is not an element of ${type}`, key);
  return names;
}

/**
 * `patient.x=v`, `subject.x=v`, `subject:Patient.x=v` where `x` is a parameter Patient supports
 * (search.html#chaining); undefined for anything else.
 */
function chainOf(type: SupportedType, key: string, value: string): Chain | undefined {
  const dot = key.indexOf('.');
  if (dot < 0) return undefined;
  const [name = '', target, ...rest] = key.slice(0, dot).split(':');
  const inner = key.slice(dot + 1);
  const reference = (CHAINABLE as readonly string[]).includes(name) && hasColumn(type, name as (typeof CHAINABLE)[number]);
  if (!reference || rest.length || (target !== undefined && target !== 'Patient') || !isKnownFilter('Patient', inner)) return undefined;
  return { inner: [inner, value] };
}
