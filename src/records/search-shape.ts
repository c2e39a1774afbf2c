/**
 * `_elements` and `_summary` (https://hl7.org/fhir/R4/search.html#elements, #summary): a copy of a
 * match with only some top-level elements, tagged SUBSETTED so nobody takes it for the whole resource
 * (https://hl7.org/fhir/R4/search.html#summary). Mandatory elements are always kept, as the spec asks,
 * so a subset is still a valid resource. Pure; the stored resource is never modified.
 */
import { getDataType } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { Summary } from './search-plan.js';

export const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' } as const;

/** Whether a JSON key is element `name`: itself, or a choice `name[x]` such as valueQuantity for value. */
const isElement = (key: string, name: string): boolean => key === name || (key.startsWith(name) && /^[A-Z]/.test(key.slice(name.length)));

/** The match as `_elements`/`_summary` ask, or the resource itself when they ask for all of it. */
export function shapeResource(resource: Resource, elements: readonly string[] | undefined, summary: Summary | undefined): Resource {
  const schema = getDataType(resource.resourceType);
  const mandatory = [...(schema.mandatoryProperties ?? [])];
  let keep: ((key: string) => boolean) | undefined;
  if (elements) keep = (key) => [...elements, ...mandatory].some((name) => isElement(key, name));
  else if (summary === 'true') keep = (key) => [...(schema.summaryProperties ?? []), ...mandatory].some((name) => isElement(key, name));
  else if (summary === 'text') keep = (key) => key === 'text' || mandatory.some((name) => isElement(key, name));
  else if (summary === 'data') keep = (key) => key !== 'text';
  if (!keep) return resource;
  const subset: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || key === 'meta' || keep(key)) subset[key] = value;
  }
  subset.meta = { ...resource.meta, tag: [...(resource.meta?.tag ?? []), SUBSETTED] };
  return subset as unknown as Resource;
}
